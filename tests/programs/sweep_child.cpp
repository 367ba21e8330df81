// sweep_child — the sweep that test_kill_resume kills: tiny WordNet WiC (8/4/4 pairs),
// vanilla and PTP-RN × seeds 1–4, one epoch each, on the packaged MiniLM, one thread.
//   sweep_child <results.jsonl> <checkpoint dir>
#include <cstdio>
#include <exception>

#include "tiny_wic.hpp"

int main(int argc, char** argv) {
  using namespace ptp::repro;
  if (argc != 3) {
    std::fprintf(stderr, "usage: sweep_child <results.jsonl> <checkpoint dir>\n");
    return 2;
  }
  try {
    const ptp::text::wordnet wn;
    const run_data data = ptp_test::tiny_wic(wn, 8);
    const run_config cfg = ptp_test::tiny_config(4, 1);
    const auto jobs = plan({"tiny-WiC"}, {"vanilla", "ptp-rn"}, {1, 2, 3, 4}, cfg);
    run_sweep(jobs, argv[1], [&](const std::string&) { return data; }, 0, nullptr, argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sweep_child: %s\n", e.what());
    return 1;
  }
  return 0;
}
