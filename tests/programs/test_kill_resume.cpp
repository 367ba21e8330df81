// Crash safety of a sweep (docs/RELIABILITY.md): sweep_child is killed with SIGKILL at
// seeded random moments (5–35 % of an uninterrupted sweep's wall time), up to 20 times, and
// re-run after each kill; the results file must parse after every kill (at most a torn last
// line, never a duplicated run), and the final state must equal an uninterrupted sweep's: one
// record per run with bit-identical metrics, the same summary table and byte-identical
// checkpoints.
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "catch.hpp"
#include <ptp/sweep.hpp>

#include "temp_dir.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

pid_t spawn_child(const fs::path& out, const fs::path& checkpoints) {
  const std::string exe = PTP_SWEEP_CHILD, o = out.string(), c = checkpoints.string();
  char* argv[] = {const_cast<char*>(exe.c_str()), const_cast<char*>(o.c_str()), const_cast<char*>(c.c_str()), nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, environ) != 0) FAIL("cannot start " << exe);
  return pid;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::map<std::string, std::map<std::string, double>> by_key(const std::vector<ptp::sweep::run_record>& records) {
  std::map<std::string, std::map<std::string, double>> m;
  for (const auto& r : records) {
    auto metrics = r.metrics;
    CHECK(m.emplace(r.run_key(), metrics).second);  // no run recorded twice
  }
  return m;
}


}  // namespace

TEST_CASE("a sweep killed with SIGKILL at random points resumes to exactly the uninterrupted sweep", "[reliability][sweep][kill]") {
  ptp_test::temp_dir tmp;
  const auto ref_out = tmp.path / "ref" / "results.jsonl", ref_ck = tmp.path / "ref" / "ck";
  const auto out = tmp.path / "killed" / "results.jsonl", ck = tmp.path / "killed" / "ck";
  fs::create_directories(ref_out.parent_path());
  fs::create_directories(out.parent_path());
  const auto t0 = std::chrono::steady_clock::now();
  const int ref_status = wait_child(spawn_child(ref_out, ref_ck));
  // kill moments scale with how long a whole sweep takes here (start-up included), so the
  // kills land at different points of the sweep however fast or loaded the machine is
  const auto whole_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(WIFEXITED(ref_status));
  REQUIRE(WEXITSTATUS(ref_status) == 0);
  const auto ref = ptp::sweep::read_results(ref_out);
  REQUIRE_FALSE(ref.torn);
  REQUIRE(ref.records.size() == 8);
  const auto ref_metrics = by_key(ref.records);

  std::mt19937 rng(20261124);  // fixed: the kill moments are the same on every run of the test
  std::uniform_int_distribution<long> delay_ms(whole_ms / 20, whole_ms * 7 / 20);
  int kills = 0, torn_seen = 0;
  std::size_t last = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const pid_t pid = spawn_child(out, ck);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      status = wait_child(pid);
      CHECK(WIFSIGNALED(status));
      ++kills;
    } else {
      CHECK(WIFEXITED(status));
    }
    const auto now = ptp::sweep::read_results(out);  // parses: a torn tail at most
    if (now.torn) ++torn_seen;
    const auto m = by_key(now.records);
    CHECK(now.records.size() >= last);  // a finished run is never lost
    last = now.records.size();
    for (const auto& [key, metrics] : m) CHECK(metrics == ref_metrics.at(key));
    if (now.records.size() == ref.records.size()) break;
  }
  std::cout << "kill-and-resume: " << kills << " SIGKILLs (uninterrupted sweep " << whole_ms << " ms), " << last << " of " << ref.records.size()
            << " runs recorded between them, " << torn_seen << " torn tails seen\n";
  CHECK(kills >= 3);  // the kills really hit running sweeps
  CHECK(last >= 1);   // ... and runs finished between them
  const int final_status = wait_child(spawn_child(out, ck));
  REQUIRE(WIFEXITED(final_status));
  REQUIRE(WEXITSTATUS(final_status) == 0);
  const auto fin = ptp::sweep::read_results(out);
  CHECK_FALSE(fin.torn);
  REQUIRE(fin.records.size() == ref.records.size());
  CHECK(by_key(fin.records) == ref_metrics);
  CHECK(slurp(out.parent_path() / "results.summary.md") == slurp(ref_out.parent_path() / "results.summary.md"));
  CHECK(slurp(out.parent_path() / "results.summary.csv") == slurp(ref_out.parent_path() / "results.summary.csv"));
  std::size_t checkpoints = 0;
  for (const auto& e : fs::directory_iterator(ref_ck)) {
    ++checkpoints;
    CHECK(slurp(e.path()) == slurp(ck / e.path().filename()));
  }
  CHECK(checkpoints == 8);
}
