// Replays a fuzz target (fuzz/<name>.cpp, built here WITHOUT libFuzzer) on every file of
// its seed corpus and of its regressions: each committed reproducer of a past finding runs
// in the normal build, under gcc and under the sanitizer build of ./ptp test.
// The target's LLVMFuzzerTestOneInput lets through only what it does not expect (a crash,
// a broken invariant, an undocumented exception type); Catch2 reports that with the file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "catch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void replay(const std::filesystem::path& dir) {
  for (const auto& file : files_in(dir)) {
    INFO("input: " << file.string());
    if (std::getenv("PTP_FUZZ_VERBOSE")) std::fprintf(stderr, "input: %s\n", file.string().c_str());
    const std::string bytes = slurp(file);
    CHECK_NOTHROW(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  }
}
}  // namespace

TEST_CASE("fuzz target " PTP_FUZZ_TARGET ": seed corpus and regressions replay cleanly", "[reliability]") {
  const std::filesystem::path fuzz_dir = PTP_FUZZ_DIR;
  const auto corpus = fuzz_dir / "corpus" / PTP_FUZZ_TARGET;
  const auto regressions = fuzz_dir / "regressions" / PTP_FUZZ_TARGET;
  REQUIRE_FALSE(files_in(corpus).empty());  // a target without seeds is a set-up error
  SECTION("seed corpus") { replay(corpus); }
  SECTION("regressions") { replay(regressions); }
}
