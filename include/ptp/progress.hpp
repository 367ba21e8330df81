// ptp/progress.hpp — progress of a long loop (epochs, steps, runs of a sweep) on stderr.
//
// On a terminal (isatty) one line redrawn in place with '\r':
//   train RTE seed 3  [##########..........]  512/1024  50.0%  12.3 it/s  ETA 00:41
// Anywhere else (a log file, CI, a pipe) plain lines, one at most every
// `log_interval` seconds and one at the end, so logs stay short and greppable:
//   train RTE seed 3: 512/1024  50.0%  12.3 it/s  ETA 00:41
// The rate is the mean over the whole run so far (steps done / seconds since start), and
// ETA = remaining / rate.
//
// @code
//   ptp::progress bar("epoch 3", batches.size());
//   for (auto& b : batches) { step(b); bar.advance(); }
//   bar.finish();
// @endcode
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

#include <unistd.h>

namespace ptp {

/// How progress is shown.
enum class progress_style {
  automatic,  ///< bar when the stream is a terminal, lines otherwise
  bar,        ///< always the redrawn bar
  lines,      ///< always plain lines
};

/// Options of ptp::progress.
struct progress_options {
  progress_style style = progress_style::automatic;
  double redraw_interval = 0.1;  ///< seconds between bar redraws
  double log_interval = 30.0;    ///< seconds between plain lines
  std::size_t width = 30;        ///< bar width in characters
  std::string unit = "it";       ///< what is counted ("it", "batch", "run")
};

/// "MM:SS", or "H:MM:SS" from one hour on; "--:--" when unknown (not finite or negative).
[[nodiscard]] inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "--:--";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  else std::snprintf(buf, sizeof buf, "%02lld:%02lld", m, s);
  return buf;
}

/// A progress display for `total` steps (0 when the total is unknown: no bar, no ETA).
class progress {
 public:
  using clock = std::chrono::steady_clock;

  progress(std::string label, std::size_t total, progress_options options = {}, std::FILE* out = stderr)
      : label_(std::move(label)), total_(total), options_(std::move(options)), out_(out), start_(clock::now()) {
    bar_ = options_.style == progress_style::bar ||
           (options_.style == progress_style::automatic && out_ != nullptr && ::isatty(::fileno(out_)) == 1);
    last_draw_ = start_;
  }
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;
  ~progress() {
    if (!finished_) finish();
  }

  /// Counts `n` more steps done.
  void advance(std::size_t n = 1) { update(done_ + n); }

  /// Counts `n` steps found already done (a resumed sweep's finished runs): they fill the
  /// bar but not the rate, so the ETA reflects the work actually being done. Not drawn.
  void skip(std::size_t n = 1) {
    done_ += n;
    skipped_ += n;
  }

  /// Sets the number of steps done.
  void update(std::size_t done) {
    done_ = done;
    const auto now = clock::now();
    const double since = std::chrono::duration<double>(now - last_draw_).count();
    if (since >= (bar_ ? options_.redraw_interval : options_.log_interval)) {
      draw(now, false);
      last_draw_ = now;
    }
  }

  /// Draws the final state (and ends the bar's line). Called by the destructor if needed.
  void finish() {
    if (finished_) return;
    finished_ = true;
    draw(clock::now(), true);
  }

  [[nodiscard]] std::size_t done() const noexcept { return done_; }
  [[nodiscard]] bool is_bar() const noexcept { return bar_; }

  /// The status text for `done` steps after `elapsed` seconds (no bar, no label):
  /// "512/1024  50.0%  12.3 it/s  ETA 00:41" (the parts that are known).
  /// With skipped steps the rate counts only the others: "… 40.0% (30 skipped)  0.5 run/s …".
  [[nodiscard]] std::string status(std::size_t done, double elapsed) const {
    const std::size_t worked = done - std::min(done, skipped_);
    const double rate = elapsed > 0 ? static_cast<double>(worked) / elapsed : 0.0;
    std::string s = std::to_string(done);
    char buf[96];
    if (total_ > 0) {
      s.append("/").append(std::to_string(total_));
      std::snprintf(buf, sizeof buf, "  %.1f%%", 100.0 * static_cast<double>(std::min(done, total_)) / static_cast<double>(total_));
      s += buf;
    }
    if (skipped_ > 0) s.append(" (").append(std::to_string(skipped_)).append(" skipped)");
    std::snprintf(buf, sizeof buf, "  %.3g %s/s", rate, options_.unit.c_str());
    s += buf;
    if (total_ > 0) {
      const double remaining = static_cast<double>(total_ - std::min(done, total_));
      s.append("  ETA ").append(rate > 0 ? format_duration(remaining / rate) : (remaining == 0 ? format_duration(0) : "--:--"));
    }
    return s;
  }

 private:
  void draw(clock::time_point now, bool last) {
    if (out_ == nullptr) return;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::string text = status(done_, elapsed);
    if (last) text.append("  elapsed ").append(format_duration(elapsed));
    if (bar_) {
      std::string bar;
      if (total_ > 0) {
        const std::size_t filled = options_.width * std::min(done_, total_) / total_;
        bar = " [" + std::string(filled, '#') + std::string(options_.width - filled, '.') + "]";
      }
      std::fprintf(out_, "\r%s%s  %s\033[K%s", label_.c_str(), bar.c_str(), text.c_str(), last ? "\n" : "");
    } else {
      std::fprintf(out_, "%s: %s\n", label_.c_str(), text.c_str());
    }
    std::fflush(out_);
  }

  std::string label_;
  std::size_t total_;
  progress_options options_;
  std::FILE* out_;
  clock::time_point start_;
  clock::time_point last_draw_;
  std::size_t done_ = 0;
  std::size_t skipped_ = 0;
  bool bar_ = false;
  bool finished_ = false;
};

}  // namespace ptp
