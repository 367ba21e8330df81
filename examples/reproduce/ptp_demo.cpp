// ptp_demo — the embedded default experiment (`./ptp demo`): a few-shot task built from
// WordNet alone, the noun lexicographer file of a definition (wordnet_supersense.hpp; WordNet
// WiC with --demo-task wic), prompt-tuned on the packaged MiniLM (frozen backbone, P-tuning v2
// deep prefix + classifier head), vanilla vs PTP-RN vs PTP-ADV over 5 seeds, the best epoch
// chosen on dev, test accuracy reported per method (mean ± std, min, max), with the
// majority-class rate, the paired PTP − vanilla differences and the wall time. Every size and
// hyper-parameter is a flag; the defaults' time and memory are in docs/RESULTS.md.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "demo_task.hpp"

int main(int argc, char** argv) {
  using namespace ptp::repro;
  CLI::App app{"ptp demo: WordNet supersense, prompt tuning on MiniLM, vanilla vs PTP-RN vs PTP-ADV"};
  common_cli cli;
  demo_defaults(cli);
  demo_options demo;
  std::string write_jsonl;
  cli.add(app);
  cli.add_sharding(app);
  add_demo_options(app, demo);
  app.add_option("--write-jsonl", write_jsonl, "wic: also write the task as WiC jsonl (train/dev/test.jsonl) into this dir");
  app.add_flag("--progress", cli.base.show_progress, "per-epoch progress on stderr");
  CLI11_PARSE(app, argc, argv);
  if (!cli.merge.empty()) return cli.run_merge("ptp_demo");
  try {
    cli.finish();
    const auto t0 = std::chrono::steady_clock::now();
    auto task = build_demo(demo, cli, write_jsonl);
    std::printf("%s\n", task.description.c_str());
    std::printf("model: %s (frozen), prompt: %s (%lld tokens), %d epochs, batch %lld, lr %g, threads %d\n",
                cli.base.model_dir.string().c_str(), cli.base.prompt.c_str(), static_cast<long long>(cli.base.prefix_length),
                cli.base.epochs, static_cast<long long>(cli.base.batch_size), cli.base.lr, cli.base.threads);
    std::fflush(stdout);
    const auto jobs = cli.select_shard(plan({task.task_name}, split_list(cli.methods), parse_seeds(cli.seeds), cli.base));
    const auto o = run_sweep(jobs, cli.out, [&](const std::string&) { return task.data; }, cli.stop_after, nullptr,
                             cli.checkpoint_dir);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("\nTest accuracy (%%) of the best-dev epoch over seeds %s:\n\n", cli.seeds.c_str());
    print_table(o.records);
    std::printf("\n%zu runs finished, %zu already in %s; wall time %.1f s (%.1f min)\n", o.finished, o.skipped,
                cli.out.empty() ? "(memory)" : cli.out.c_str(), wall, wall / 60);
    if (!cli.out.empty()) std::printf("results: %s\n", cli.out.c_str());  // what `./ptp demo` plots
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptp_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
