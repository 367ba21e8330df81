// sweep_child — the sweep that test_kill_resume kills: tiny WordNet WiC (8/4/4 pairs),
// vanilla and PTP-RN × seeds 1–4, one epoch each, on the packaged MiniLM, one thread.
//   sweep_child <results.jsonl> <checkpoint dir>
#include <cstdio>
#include <exception>

#include "sweep_driver.hpp"
#include "wordnet_wic.hpp"

int main(int argc, char** argv) {
  using namespace ptp::repro;
  if (argc != 3) {
    std::fprintf(stderr, "usage: sweep_child <results.jsonl> <checkpoint dir>\n");
    return 2;
  }
  try {
    const ptp::text::wordnet wn;
    const auto task = build_wordnet_wic(wn, {.train_pairs = 8, .dev_pairs = 4, .test_pairs = 4});
    const auto tpl = ptp::data::ptuning_v2::template_id::bert;
    const run_data data{.info = info(ptp::data::task::wic),
                        .train = to_examples(task.train, tpl),
                        .select = to_examples(task.dev, tpl),
                        .report = to_examples(task.test, tpl),
                        .select_name = "dev",
                        .report_name = "test"};
    run_config cfg;
    cfg.model_dir = ptp::torch::find_default_model();
    cfg.epochs = 1;
    cfg.batch_size = 4;
    cfg.max_length = 24;
    cfg.prefix_length = 2;
    cfg.threads = 1;
    cfg.show_progress = false;
    const auto jobs = plan({"tiny-WiC"}, {"vanilla", "ptp-rn"}, {1, 2, 3, 4}, cfg);
    run_sweep(jobs, argv[1], [&](const std::string&) { return data; }, 0, nullptr, argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sweep_child: %s\n", e.what());
    return 1;
  }
  return 0;
}
