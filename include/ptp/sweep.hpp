// ptp/sweep.hpp — the results file of a sweep: one JSON line per finished run, appended
// crash-safely; re-runs skip finished runs; a summary table per task × method; the shards of
// a sweep's grid (--shard i/n, Slurm array tasks) and the merge of their results files.
//
// One line per run:
//   {"key": "...", "task": "RTE", "method": "ptp-adv", "seed": 3, "config": {...},
//    "metrics": {"accuracy": 0.866}, "wall_seconds": 1234.5, "finished_at": "2024-...Z"}
//
// Why append (O_APPEND + one write() + fsync) and not rewrite-to-temp + rename:
//  * several worker processes of one sweep (one per GPU or seed) share the file; appends
//    under an advisory flock never lose each other's lines, whereas two rewrite-and-rename
//    writers that read the old file at the same time silently drop one run;
//  * an append costs one line, a rewrite the whole file on every run;
//  * crash safety holds all the same: the record and its '\n' go out in a single write()
//    and are fsync'ed before append returns, so a finished run is durable, and a crash in
//    the middle can leave only a *prefix* of the last line — a tail without '\n'. The
//    reader reports such a torn tail (results_contents::torn) instead of failing, while a
//    malformed line that does end in '\n' cannot come from a torn append and is an error
//    naming FILE:LINE. The next append, holding the lock, cuts the torn tail off first, so
//    a new record is never glued to a fragment (the torn run was not recorded, so it runs
//    again).
// The summary tables, rewritten whole each time, go through write_file_atomically (temp
// file in the same directory, fsync, rename, fsync of the directory).
//
// POSIX only (open/flock/fsync/rename).
//
// @code
//   ptp::sweep::results_file results("runs/results.jsonl");
//   for (auto seed : seeds) {
//     ptp::sweep::run_record run{.task = "RTE", .method = "ptp-adv", .config = cfg, .seed = seed};
//     if (results.done(run.run_key())) continue;
//     run.metrics = train_and_evaluate(...);  run.wall_seconds = ...;
//     results.append(run);
//   }
//   ptp::sweep::write_summary(results.records(), "runs/summary.md", "runs/summary.csv");
// @endcode
#pragma once

#include "ptp/data/jsonl.hpp"
#include "ptp/data/metrics.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ptp::sweep {

/// The identity of a run: task, method, configuration (hyper-parameters; nlohmann's object
/// keys are sorted, so equal configurations print equally) and seed.
[[nodiscard]] inline std::string run_key(std::string_view task, std::string_view method,
                                         const nlohmann::json& config, std::uint64_t seed) {
  return std::string(task) + "/" + std::string(method) + "/seed=" + std::to_string(seed) + "/" + config.dump();
}

/// One finished run.
struct run_record {
  std::string task;
  std::string method;
  nlohmann::json config = nlohmann::json::object();
  std::uint64_t seed = 0;
  std::map<std::string, double> metrics;  ///< finite values only
  double wall_seconds = 0.0;
  std::string finished_at;                ///< ISO 8601 UTC; filled by append when empty
  std::string key;                        ///< run_key(...) when empty

  [[nodiscard]] std::string run_key() const {
    return key.empty() ? sweep::run_key(task, method, config, seed) : key;
  }
};

namespace detail {

[[nodiscard]] inline std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

[[noreturn]] inline void throw_errno(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

inline void write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

inline void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open directory", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) {  // some file systems do not sync directories
    errno = err;
    throw_errno("cannot fsync directory", dir);
  }
}

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace detail

/// The JSON object of one line.
[[nodiscard]] inline nlohmann::json to_json(const run_record& r) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : r.metrics) {
    if (!std::isfinite(value)) throw std::invalid_argument("run " + r.run_key() + ": metric '" + name + "' is not finite");
    metrics[name] = value;
  }
  if (!r.config.is_object()) throw std::invalid_argument("run " + r.run_key() + ": config must be a JSON object");
  return nlohmann::json{{"key", r.run_key()},        {"task", r.task},       {"method", r.method},
                        {"seed", r.seed},            {"config", r.config},   {"metrics", metrics},
                        {"wall_seconds", r.wall_seconds}, {"finished_at", r.finished_at}};
}

/// The run of one parsed line; errors name the file, line and field.
[[nodiscard]] inline run_record from_json(const data::json_record& line) {
  run_record r;
  r.task = line.string("task");
  r.method = line.string("method");
  const std::int64_t seed = line.integer("seed");
  if (seed < 0) throw line.error("seed", "negative");
  r.seed = static_cast<std::uint64_t>(seed);
  if (line.has("config")) r.config = line.object("config").json();
  const data::json_record metrics = line.object("metrics");
  for (const auto& [name, value] : metrics.json().items()) r.metrics[name] = metrics.number(name);
  r.wall_seconds = line.number("wall_seconds");
  r.finished_at = line.optional_string("finished_at").value_or("");
  r.key = line.optional_string("key").value_or("");
  if (r.key.empty()) r.key = run_key(r.task, r.method, r.config, r.seed);
  return r;
}

/// A final line without its '\n': what a crash during an append leaves behind.
struct torn_line {
  std::size_t line = 0;   ///< its 1-based line number
  std::size_t bytes = 0;  ///< its length in bytes
};

/// What a results file holds.
struct results_contents {
  std::vector<run_record> records;
  std::optional<torn_line> torn;
};

/// Reads a results file. A missing or empty file holds no runs (a new sweep). Every line
/// that ends in '\n' must be a valid record (else ptp::data::data_error naming FILE:LINE and
/// the field); a last line without '\n' is reported in `torn`, not parsed.
[[nodiscard]] inline results_contents read_results(const std::filesystem::path& path) {
  results_contents out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data::data_error(path.string(), 0, "", "cannot open for reading");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw data::data_error(path.string(), 0, "", "read error");
  const std::string file = path.string();
  std::size_t line = 0, pos = 0;
  while (pos < text.size()) {
    ++line;
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      out.torn = torn_line{line, text.size() - pos};
      break;
    }
    const std::string_view content = std::string_view(text).substr(pos, nl - pos);
    pos = nl + 1;
    if (content.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const nlohmann::json value = data::parse_json_line(content, file, line);
    out.records.push_back(from_json(data::json_record(value, file, line)));
  }
  return out;
}

/// What an append found and repaired: the bytes of a torn tail it cut off (0 if none).
struct append_report {
  std::size_t torn_bytes_removed = 0;
};

/// Appends one run to `path` durably: under an exclusive flock, cuts off a torn tail,
/// writes the line with its '\n' in one write() (O_APPEND), fsyncs the file (and the
/// directory when the file is new). When this returns, the run survives a crash.
inline append_report append_result(const std::filesystem::path& path, const run_record& run) {
  run_record r = run;
  if (r.finished_at.empty()) r.finished_at = detail::utc_now();
  const std::string line = to_json(r).dump() + "\n";  // validates before touching the file

  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  detail::fd_guard f{::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)};
  if (f.fd < 0) detail::throw_errno("cannot open for appending", path);
  while (::flock(f.fd, LOCK_EX) != 0)
    if (errno != EINTR) detail::throw_errno("cannot lock", path);

  append_report report;
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) detail::throw_errno("cannot stat", path);
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > 0) {
    detail::fd_guard rd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (rd.fd < 0) detail::throw_errno("cannot open for reading", path);
    // scan back from the end for the last '\n'
    std::size_t end = size, keep = 0;
    char buf[4096];
    bool found = false;
    while (end > 0 && !found) {
      const std::size_t len = std::min<std::size_t>(sizeof buf, end);
      const ssize_t n = ::pread(rd.fd, buf, len, static_cast<off_t>(end - len));
      if (n != static_cast<ssize_t>(len)) detail::throw_errno("cannot read", path);
      for (std::size_t i = len; i-- > 0;) {
        if (buf[i] == '\n') {
          keep = end - len + i + 1;
          found = true;
          break;
        }
      }
      end -= len;
    }
    if (keep != size) {
      if (::ftruncate(f.fd, static_cast<off_t>(keep)) != 0) detail::throw_errno("cannot cut the torn tail of", path);
      report.torn_bytes_removed = size - keep;
    }
  }
  const ssize_t n = ::write(f.fd, line.data(), line.size());
  if (n < 0 || static_cast<std::size_t>(n) != line.size()) {
    const int err = n < 0 ? errno : EIO;
    // a short write leaves a torn tail; the lock is still ours, so take it back now
    const std::size_t before = size - report.torn_bytes_removed;
    if (::fstat(f.fd, &st) == 0 && static_cast<std::size_t>(st.st_size) > before &&
        ::ftruncate(f.fd, static_cast<off_t>(before)) != 0) {
      // nothing more to do: the reader reports what is left as a torn tail
    }
    errno = err;
    detail::throw_errno("cannot append to", path);
  }
  if (::fsync(f.fd) != 0) detail::throw_errno("cannot fsync", path);
  if (!existed) detail::fsync_directory(path.parent_path());
  return report;  // closing the descriptor releases the lock
}

/// Writes `content` to `path` atomically: a temp file in the same directory, fsync, rename
/// over `path`, fsync of the directory. Readers see the old file or the new one, never a mix.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path dir = path.parent_path();
  std::string name = path.filename().string();
  name.insert(0, 1, '.');
  name.append(".tmp.XXXXXX");
  std::string tmpl = (dir / name).string();
  detail::fd_guard f{::mkstemp(tmpl.data())};
  if (f.fd < 0) detail::throw_errno("cannot create a temp file for", path);
  try {
    if (::fchmod(f.fd, 0644) != 0) detail::throw_errno("cannot chmod", tmpl);
    detail::write_all(f.fd, content, tmpl);
    if (::fsync(f.fd) != 0) detail::throw_errno("cannot fsync", tmpl);
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) detail::throw_errno("cannot close", tmpl);
    if (::rename(tmpl.c_str(), path.c_str()) != 0) detail::throw_errno("cannot rename onto", path);
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
  detail::fsync_directory(dir);
}

/// A results file held in memory: the runs read at construction (or reload) plus the ones
/// appended through it. `done` answers from memory; call reload() to see the appends of
/// other processes.
class results_file {
 public:
  explicit results_file(std::filesystem::path path) : path_(std::move(path)) { reload(); }

  void reload() {
    contents_ = read_results(path_);
    keys_.clear();
    for (const auto& r : contents_.records) keys_.insert(r.run_key());
  }

  /// Whether a run with this key has finished.
  [[nodiscard]] bool done(const std::string& run_key) const { return keys_.contains(run_key); }

  /// Appends `run` durably and remembers it.
  append_report append(const run_record& run) {
    run_record r = run;
    if (r.finished_at.empty()) r.finished_at = detail::utc_now();
    r.key = r.run_key();
    const append_report report = append_result(path_, r);
    if (report.torn_bytes_removed != 0) contents_.torn.reset();
    keys_.insert(r.key);
    contents_.records.push_back(std::move(r));
    return report;
  }

  [[nodiscard]] const std::vector<run_record>& records() const noexcept { return contents_.records; }
  /// The torn last line found when the file was read, if any.
  [[nodiscard]] const std::optional<torn_line>& torn() const noexcept { return contents_.torn; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  results_contents contents_;
  std::set<std::string> keys_;
};

// ---- summary ----------------------------------------------------------------------------------

/// One row of the summary: a metric of a task × method over its seeds.
struct summary_row {
  std::string task;
  std::string method;
  std::string metric;
  data::seed_summary stats;
};

/// The summary rows, sorted by task, method, metric. A run key seen twice (a run recorded
/// by two workers) counts once, its first record. Runs of one method with different
/// configurations are pooled: give variants their own method names.
[[nodiscard]] inline std::vector<summary_row> summarize(const std::vector<run_record>& records) {
  std::set<std::string> seen;
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<double>> values;
  for (const auto& r : records) {
    if (!seen.insert(r.run_key()).second) continue;
    for (const auto& [metric, value] : r.metrics) values[{r.task, r.method, metric}].push_back(value);
  }
  std::vector<summary_row> rows;
  for (const auto& [k, v] : values)
    rows.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), data::summarize(v)});
  return rows;
}

/// How the Markdown table prints numbers: value × scale with `precision` decimals
/// (default: percentage points with two decimals, as the paper's tables).
struct table_options {
  double scale = 100.0;
  int precision = 2;
};

namespace detail {
[[nodiscard]] inline std::string fixed(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}
[[nodiscard]] inline std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
[[nodiscard]] inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}
[[nodiscard]] inline std::string md_cell(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}
}  // namespace detail

/// The summary as a Markdown table: task | method | metric | n | mean ± std | min | max
/// (std "n/a" for a single seed).
[[nodiscard]] inline std::string summary_markdown(const std::vector<summary_row>& rows, const table_options& o = {}) {
  std::string out = "| task | method | metric | n | mean ± std | min | max |\n|---|---|---|---:|---:|---:|---:|\n";
  for (const auto& r : rows) {
    const auto& s = r.stats;
    const std::string sd = s.n >= 2 ? detail::fixed(s.stddev * o.scale, o.precision) : "n/a";
    out += "| " + detail::md_cell(r.task) + " | " + detail::md_cell(r.method) + " | " + detail::md_cell(r.metric) +
           " | " + std::to_string(s.n) + " | " + detail::fixed(s.mean * o.scale, o.precision) + " ± " + sd + " | " +
           detail::fixed(s.min * o.scale, o.precision) + " | " + detail::fixed(s.max * o.scale, o.precision) + " |\n";
  }
  return out;
}

/// The summary as CSV (RFC 4180): task,method,metric,n,mean,std,min,max with the raw values
/// at full precision (%.17g); std is empty for a single seed.
[[nodiscard]] inline std::string summary_csv(const std::vector<summary_row>& rows) {
  std::string out = "task,method,metric,n,mean,std,min,max\n";
  for (const auto& r : rows) {
    const auto& s = r.stats;
    out += detail::csv_field(r.task) + "," + detail::csv_field(r.method) + "," + detail::csv_field(r.metric) + "," +
           std::to_string(s.n) + "," + detail::exact(s.mean) + "," + (s.n >= 2 ? detail::exact(s.stddev) : "") + "," +
           detail::exact(s.min) + "," + detail::exact(s.max) + "\n";
  }
  return out;
}

/// A method against the baseline over the seeds both have run (paired: a seed fixes the data
/// order and the initialisation for every method). `mean_diff` ± `se_diff` is the mean of the
/// per-seed differences method − baseline and its standard error sd/√n, with its 95 %
/// Student-t interval [`ci_low`, `ci_high`] (n − 1 degrees of freedom; NaN below 2 seeds).
/// `std_ratio` is the method's standard deviation over those seeds divided by the baseline's.
/// Whether the two spreads differ is Pitman–Morgan's test for paired samples (Pitman 1939,
/// Morgan 1939): var(a) = var(b) exactly when a + b and a − b are uncorrelated, so
/// t = r √(n − 2) / √(1 − r²) with r = corr(a + b, a − b) is Student-t with n − 2 degrees of
/// freedom; `spread_t` is that t (negative: the method spreads less) and `spread_p` its
/// two-sided p (NaN below 3 seeds). An F-test would be wrong here: the seeds pair the samples.
struct paired_row {
  std::string task, method, baseline, metric;
  std::size_t n = 0;
  double mean_diff = 0.0;
  double se_diff = std::numeric_limits<double>::quiet_NaN();
  double ci_low = std::numeric_limits<double>::quiet_NaN();
  double ci_high = std::numeric_limits<double>::quiet_NaN();
  double std_ratio = std::numeric_limits<double>::quiet_NaN();
  double spread_t = std::numeric_limits<double>::quiet_NaN();
  double spread_p = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {
/// Pitman–Morgan's t and two-sided p for equal variances of the paired samples a, b (n ≥ 3).
[[nodiscard]] inline std::pair<double, double> pitman_morgan(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = a.size();
  double ms = 0.0, md = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ms += a[i] + b[i];
    md += a[i] - b[i];
  }
  ms /= static_cast<double>(n);
  md /= static_cast<double>(n);
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = a[i] + b[i] - ms, y = a[i] - b[i] - md;
    sxy += x * y;
    sxx += x * x;
    syy += y * y;
  }
  // cov(a + b, a − b) = var(a) − var(b): zero covariance is equal spreads. When a − b or a + b
  // is constant up to rounding, r is rounding noise over rounding noise: the spreads are equal.
  constexpr double tiny = 1e-20;  // a relative std of 1e-10
  if (sxy == 0.0 || syy <= tiny * sxx || sxx <= tiny * syy) return {0.0, 1.0};
  const double r = sxy / std::sqrt(sxx * syy);
  if (!(std::abs(r) < 1.0)) return {std::copysign(std::numeric_limits<double>::infinity(), r), 0.0};
  const double t = r * std::sqrt(static_cast<double>(n - 2)) / std::sqrt(1.0 - r * r);
  const boost::math::students_t_distribution<double> dist(static_cast<double>(n - 2));
  return {t, 2.0 * boost::math::cdf(boost::math::complement(dist, std::abs(t)))};
}
}  // namespace detail

/// The paired rows of every task × method ≠ `baseline` that shares at least one seed with
/// the baseline, for `metric`; sorted by task, then method. A run key seen twice counts once.
[[nodiscard]] inline std::vector<paired_row> paired_rows(const std::vector<run_record>& records, const std::string& baseline,
                                                         const std::string& metric) {
  std::set<std::string> seen;
  std::map<std::pair<std::string, std::string>, std::map<std::uint64_t, double>> by;  // (task, method) → seed → value
  for (const auto& r : records) {
    if (!seen.insert(r.run_key()).second) continue;
    if (const auto it = r.metrics.find(metric); it != r.metrics.end()) by[{r.task, r.method}].emplace(r.seed, it->second);
  }
  std::vector<paired_row> rows;
  for (const auto& [key, values] : by) {
    if (key.second == baseline) continue;
    const auto base = by.find({key.first, baseline});
    if (base == by.end()) continue;
    std::vector<double> d, a, b;
    for (const auto& [seed, v] : values)
      if (const auto it = base->second.find(seed); it != base->second.end()) {
        d.push_back(v - it->second);
        a.push_back(v);
        b.push_back(it->second);
      }
    if (d.empty()) continue;
    const auto sd = data::summarize(d), sa = data::summarize(a), sb = data::summarize(b);
    paired_row row{.task = key.first, .method = key.second, .baseline = baseline, .metric = metric, .n = d.size(), .mean_diff = sd.mean};
    if (d.size() >= 2) {
      row.se_diff = sd.stddev / std::sqrt(static_cast<double>(d.size()));
      const boost::math::students_t_distribution<double> dist(static_cast<double>(d.size() - 1));
      const double half = boost::math::quantile(dist, 0.975) * row.se_diff;
      row.ci_low = row.mean_diff - half;
      row.ci_high = row.mean_diff + half;
      row.std_ratio = sb.stddev > 0 ? sa.stddev / sb.stddev : std::numeric_limits<double>::infinity();
    }
    if (d.size() >= 3) std::tie(row.spread_t, row.spread_p) = detail::pitman_morgan(a, b);
    rows.push_back(row);
  }
  return rows;
}

/// The paired rows as Markdown: task | method | n | method − baseline (mean ± SE) | its 95 %
/// interval | std ratio | Pitman–Morgan p for equal spreads.
[[nodiscard]] inline std::string paired_markdown(const std::vector<paired_row>& rows, const table_options& o = {}) {
  std::string out =
      "| task | method | n | − baseline: mean ± SE | 95 % t-interval | std ratio | equal spread: Pitman–Morgan p |\n"
      "|---|---|---:|---:|---:|---:|---:|\n";
  const auto signed_fixed = [&](double v) {
    std::string sign = v >= 0 ? "+" : "";
    return sign += detail::fixed(v * o.scale, o.precision);
  };
  for (const auto& r : rows) {
    const std::string se = std::isfinite(r.se_diff) ? detail::fixed(r.se_diff * o.scale, o.precision) : "n/a";
    const std::string ci = std::isfinite(r.ci_low) ? signed_fixed(r.ci_low) + " … " + signed_fixed(r.ci_high) : "n/a";
    const std::string ratio = std::isfinite(r.std_ratio) ? detail::fixed(r.std_ratio, 2) : "n/a";
    const std::string p = std::isfinite(r.spread_p) ? detail::fixed(r.spread_p, 2) : "n/a";
    out += "| " + detail::md_cell(r.task) + " | " + detail::md_cell(r.method) + " − " + detail::md_cell(r.baseline) + " | " +
           std::to_string(r.n) + " | " + signed_fixed(r.mean_diff) + " ± " + se + " | " + ci + " | " + ratio + " | " + p + " |\n";
  }
  return out;
}

/// Per task, the report split's majority-class rate as the runs recorded it (metric
/// "majority"; the first record of a task that has it).
[[nodiscard]] inline std::map<std::string, double> majority_rates(const std::vector<run_record>& records) {
  std::map<std::string, double> out;
  for (const auto& r : records)
    if (const auto it = r.metrics.find("majority"); it != r.metrics.end()) out.emplace(r.task, it->second);
  return out;
}

/// Whether a method learned: its mean `metric` over seeds against the bar majority + 2 binomial
/// standard errors of the report split, √(p(1 − p)/n) with p the majority rate and n the split's
/// size (metrics "majority" and "report_size" of the task's first record that has both).
struct learned_row {
  std::string task, method, metric;
  std::size_t seeds = 0;
  double mean = 0.0;
  double majority = 0.0;
  std::size_t report_size = 0;
  double bar = 0.0;
  bool learned = false;
};

/// The learned rows of every task × method whose task's records carry the majority rate and the
/// report split's size; sorted by task, then method. A run key seen twice counts once.
[[nodiscard]] inline std::vector<learned_row> learned_rows(const std::vector<run_record>& records, const std::string& metric) {
  std::map<std::string, std::pair<double, double>> split;  // task → (majority, size)
  for (const auto& r : records) {
    const auto p = r.metrics.find("majority"), n = r.metrics.find("report_size");
    if (p != r.metrics.end() && n != r.metrics.end() && n->second >= 1) split.emplace(r.task, std::pair{p->second, n->second});
  }
  std::set<std::string> seen;
  std::map<std::pair<std::string, std::string>, std::vector<double>> values;
  for (const auto& r : records) {
    if (!seen.insert(r.run_key()).second || !split.contains(r.task)) continue;
    if (const auto it = r.metrics.find(metric); it != r.metrics.end()) values[{r.task, r.method}].push_back(it->second);
  }
  std::vector<learned_row> rows;
  for (const auto& [key, v] : values) {
    const auto [p, n] = split.at(key.first);
    learned_row row{.task = key.first, .method = key.second, .metric = metric, .seeds = v.size(), .mean = data::summarize(v).mean,
                    .majority = p, .report_size = static_cast<std::size_t>(n)};
    row.bar = p + 2.0 * std::sqrt(p * (1.0 - p) / n);
    row.learned = row.mean >= row.bar;
    rows.push_back(row);
  }
  return rows;
}

/// The learned rows as Markdown: task | method | seeds | mean | majority | n | bar | learned.
[[nodiscard]] inline std::string learned_markdown(const std::vector<learned_row>& rows, const table_options& o = {}) {
  std::string out = "| task | method | seeds | mean | majority | report n | bar | learned |\n|---|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows)
    out += "| " + detail::md_cell(r.task) + " | " + detail::md_cell(r.method) + " | " + std::to_string(r.seeds) + " | " +
           detail::fixed(r.mean * o.scale, o.precision) + " | " + detail::fixed(r.majority * o.scale, o.precision) + " | " +
           std::to_string(r.report_size) + " | " + detail::fixed(r.bar * o.scale, o.precision) + " | " + (r.learned ? "yes" : "no") + " |\n";
  return out;
}

/// Writes both summary tables, each atomically.
inline void write_summary(const std::vector<run_record>& records, const std::filesystem::path& markdown,
                          const std::filesystem::path& csv, const table_options& o = {}) {
  const auto rows = summarize(records);
  write_file_atomically(markdown, summary_markdown(rows, o));
  write_file_atomically(csv, summary_csv(rows));
}

// ---- shards and merging ----------------------------------------------------------------------

/// One share of a sweep's grid: shard `index` of `count` runs the jobs whose position j in the
/// grid's canonical order has j mod count == index, so the shards of one grid cover every job
/// exactly once whatever its size, and each shard gets a mix of tasks, seeds and methods.
struct shard {
  std::size_t index = 0;
  std::size_t count = 1;

  [[nodiscard]] bool owns(std::size_t job) const noexcept { return job % count == index; }
};

namespace detail {
/// A non-negative decimal integer, the whole of `text`; errors name `what`.
[[nodiscard]] inline std::size_t parse_count(std::string_view text, const std::string& what) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string_view::npos)
    throw std::invalid_argument(what + ": '" + std::string(text) + "' is not a non-negative integer");
  return static_cast<std::size_t>(std::stoull(std::string(text)));
}
inline shard checked_shard(std::size_t index, std::size_t count, const std::string& what) {
  if (count < 1) throw std::invalid_argument(what + ": the number of shards must be at least 1");
  if (index >= count)
    throw std::invalid_argument(what + ": shard " + std::to_string(index) + " is not in 0.." + std::to_string(count - 1));
  return shard{index, count};
}
}  // namespace detail

/// "i/n" (0 ≤ i < n, n ≥ 1) → shard; errors name `flag`.
[[nodiscard]] inline shard parse_shard(std::string_view text, const std::string& flag = "--shard") {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    throw std::invalid_argument(flag + ": '" + std::string(text) + "' is not i/n (shard i of n, 0 <= i < n)");
  return detail::checked_shard(detail::parse_count(text.substr(0, slash), flag), detail::parse_count(text.substr(slash + 1), flag), flag);
}

/// The shard of a Slurm array task, from the environment as `getenv` reads it: array index
/// SLURM_ARRAY_TASK_ID, shard count SLURM_ARRAY_TASK_COUNT (index = ID, for --array=0-(n-1))
/// or SLURM_ARRAY_TASK_MIN/MAX (index = ID − MIN, count = MAX − MIN + 1; with COUNT too, they
/// must agree — a list or a stepped range such as --array=1,5 does not cover MIN..MAX).
/// No SLURM_ARRAY_TASK_ID: not an array task, nullopt. Errors name the variable.
template <class Getenv>
[[nodiscard]] std::optional<shard> slurm_shard(Getenv&& getenv) {
  const auto var = [&](const char* name) -> std::optional<std::size_t> {
    const char* v = getenv(name);
    if (v == nullptr) return std::nullopt;
    return detail::parse_count(v, name);
  };
  const auto id = var("SLURM_ARRAY_TASK_ID");
  if (!id) return std::nullopt;
  const auto count = var("SLURM_ARRAY_TASK_COUNT"), min = var("SLURM_ARRAY_TASK_MIN"), max = var("SLURM_ARRAY_TASK_MAX");
  if (const auto step = var("SLURM_ARRAY_TASK_STEP"); step && *step != 1)
    throw std::invalid_argument("SLURM_ARRAY_TASK_STEP=" + std::to_string(*step) + ": a sharded sweep needs a contiguous array, --array=0-(n-1)");
  if (min.has_value() != max.has_value())
    throw std::invalid_argument(std::string(min ? "SLURM_ARRAY_TASK_MIN is set without SLURM_ARRAY_TASK_MAX"
                                                : "SLURM_ARRAY_TASK_MAX is set without SLURM_ARRAY_TASK_MIN"));
  if (min) {
    if (*max < *min)
      throw std::invalid_argument("SLURM_ARRAY_TASK_MAX=" + std::to_string(*max) + " is below SLURM_ARRAY_TASK_MIN=" + std::to_string(*min));
    const std::size_t n = *max - *min + 1;
    if (count && *count != n)
      throw std::invalid_argument("SLURM_ARRAY_TASK_COUNT=" + std::to_string(*count) + " does not match SLURM_ARRAY_TASK_MIN=" +
                                  std::to_string(*min) + "..SLURM_ARRAY_TASK_MAX=" + std::to_string(*max) +
                                  " (a sharded sweep needs a contiguous array, --array=0-(n-1))");
    if (*id < *min || *id > *max)
      throw std::invalid_argument("SLURM_ARRAY_TASK_ID=" + std::to_string(*id) + " is outside SLURM_ARRAY_TASK_MIN=" +
                                  std::to_string(*min) + "..SLURM_ARRAY_TASK_MAX=" + std::to_string(*max));
    return shard{*id - *min, n};
  }
  if (!count)
    throw std::invalid_argument("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/MAX");
  if (*count < 1) throw std::invalid_argument("SLURM_ARRAY_TASK_COUNT: must be at least 1");
  if (*id >= *count)
    throw std::invalid_argument("SLURM_ARRAY_TASK_ID=" + std::to_string(*id) + " is not below SLURM_ARRAY_TASK_COUNT=" +
                                std::to_string(*count) + " (without SLURM_ARRAY_TASK_MIN/MAX the array must be --array=0-(n-1))");
  return shard{*id, *count};
}

/// The jobs of `grid` (in its canonical order) that shard `s` runs.
template <class Job>
[[nodiscard]] std::vector<Job> select_shard(const std::vector<Job>& grid, const shard& s) {
  std::vector<Job> out;
  for (std::size_t j = 0; j < grid.size(); ++j)
    if (s.owns(j)) out.push_back(grid[j]);
  return out;
}

/// The results file of shard `s` of a sweep whose results file is `out`:
/// DIR/results.jsonl → DIR/results.shard-I-of-N.jsonl (its summary tables then sit beside it
/// as results.shard-I-of-N.summary.md/.csv).
[[nodiscard]] inline std::filesystem::path shard_path(const std::filesystem::path& out, const shard& s) {
  const std::string ext = out.has_extension() ? out.extension().string() : ".jsonl";
  return out.parent_path() / (out.stem().string() + ".shard-" + std::to_string(s.index) + "-of-" + std::to_string(s.count) + ext);
}

/// A run found more than once among the merged files (a shard re-run after it died, say):
/// the first record is kept.
struct merge_duplicate {
  std::string key;
  std::filesystem::path kept_from, dropped_from;
};

/// What merge_results found.
struct merge_result {
  std::vector<run_record> records;  ///< one per run, sorted by task, seed, method
  std::vector<merge_duplicate> duplicates;
  std::vector<std::pair<std::filesystem::path, torn_line>> torn;  ///< torn last lines, left out
};

/// Merges the results files of a sharded sweep. Every file must exist. A run recorded twice
/// with the same identity (run key) is kept once and reported; the same task/method/seed
/// with two different identities (another configuration: the shards were not one sweep) is
/// refused, naming both files and both keys.
[[nodiscard]] inline merge_result merge_results(const std::vector<std::filesystem::path>& files) {
  if (files.empty()) throw std::invalid_argument("merge: no results files given");
  merge_result out;
  std::map<std::tuple<std::string, std::string, std::uint64_t>, std::pair<std::string, std::filesystem::path>> seen;
  for (const auto& file : files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) throw std::invalid_argument("merge: " + file.string() + ": no such results file");
    auto contents = read_results(file);
    if (contents.torn) out.torn.emplace_back(file, *contents.torn);
    for (auto& r : contents.records) {
      const std::string key = r.run_key();
      const auto [it, fresh] = seen.try_emplace({r.task, r.method, r.seed}, key, file);
      if (fresh) {
        out.records.push_back(std::move(r));
      } else if (it->second.first == key) {
        out.duplicates.push_back({key, it->second.second, file});
      } else {
        throw std::invalid_argument("merge: " + r.task + "/" + r.method + "/seed=" + std::to_string(r.seed) +
                                    " has two different run identities: " + it->second.second.string() + " has " +
                                    it->second.first + ", " + file.string() + " has " + key +
                                    " (shards of one sweep share every flag but --shard)");
      }
    }
  }
  std::stable_sort(out.records.begin(), out.records.end(), [](const run_record& a, const run_record& b) {
    return std::tie(a.task, a.seed, a.method) < std::tie(b.task, b.seed, b.method);
  });
  return out;
}

/// Writes `records` as a results file, atomically (replacing what `path` held).
inline void write_results(const std::filesystem::path& path, const std::vector<run_record>& records) {
  std::string text;
  for (const auto& r : records) text += to_json(r).dump() + "\n";
  write_file_atomically(path, text);
}

}  // namespace ptp::sweep
