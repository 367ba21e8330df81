// fuzz/common.hpp — helpers shared by the fuzz targets (fuzz/<name>.cpp).
//
// Every target is one `LLVMFuzzerTestOneInput`. It is built twice:
//   * with clang and -fsanitize=fuzzer,address,undefined by tools/fuzz.sh (fuzz/CMakeLists.txt);
//   * without libFuzzer, by the normal build, into tests/reliability, whose Catch2 driver
//     (tests/reliability/replay.cpp) feeds it every file of fuzz/corpus/<name>/ and
//     fuzz/regressions/<name>/.
// A target catches exactly the error types its parser documents (and checks that their
// message is not empty); anything else escapes. Under libFuzzer an escaping exception ends
// in std::terminate → abort → a reported crash; under Catch2 it fails the replay test with
// its message. ptp_fuzz::finding() is how a target reports a broken invariant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace ptp_fuzz {

/// A broken invariant (not one of the documented errors): never caught by a target.
struct finding_error : std::logic_error {
  using std::logic_error::logic_error;
};

[[noreturn]] inline void finding(const std::string& what) { throw finding_error("fuzz finding: " + what); }

/// The fuzz input as text (bytes, not necessarily UTF-8).
inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// A documented error was thrown: it must say something. With PTP_FUZZ_VERBOSE set, the
/// message is printed (what a user would see; docs/RELIABILITY.md quotes these).
inline void expected(const std::exception& e) {
  if (e.what() == nullptr || *e.what() == '\0') finding("an expected error type with an empty message");
  static const bool verbose = std::getenv("PTP_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "expected error: %s\n", e.what());
}

/// Splits `s` at every `sep` byte, at most `max_parts` parts (the last keeps the rest).
inline std::vector<std::string_view> split(std::string_view s, char sep, std::size_t max_parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    const auto at = s.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + 1);
  }
  out.push_back(s);
  return out;
}

/// Well-formed UTF-8 (no overlongs, surrogates, values above U+10FFFF, truncations) —
/// written independently of the parsers so that it can judge them.
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp, lo;
    if (b < 0x80) { ++i; continue; }
    if (b >= 0xC2 && b <= 0xDF) { n = 2; cp = b & 0x1Fu; lo = 0x80; }
    else if (b >= 0xE0 && b <= 0xEF) { n = 3; cp = b & 0x0Fu; lo = 0x800; }
    else if (b >= 0xF0 && b <= 0xF4) { n = 4; cp = b & 0x07u; lo = 0x10000; }
    else return false;
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if (cp < lo || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

/// Number of code points of valid UTF-8 `s`.
inline std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

/// One private directory per process (under $TMPDIR, else /tmp) where targets write the
/// files a parser reads; removed at exit. tools/fuzz.sh points TMPDIR into build-fuzz/.
class scratch_dir {
 public:
  static scratch_dir& get() {
    static scratch_dir d;
    return d;
  }
  /// Writes `content` to <dir>/<name> (replacing it) and returns the path.
  std::filesystem::path write(const std::string& name, std::string_view content) {
    const auto p = dir_ / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw std::runtime_error("fuzz harness: cannot write " + p.string());
    return p;
  }
  /// Removes <dir>/<name> if present.
  void remove(const std::string& name) {
    std::error_code ec;
    std::filesystem::remove(dir_ / name, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_; }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  scratch_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ptp-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("fuzz harness: mkdtemp failed for " + pattern);
    dir_ = pattern;
  }
  std::filesystem::path dir_;
};

}  // namespace ptp_fuzz
