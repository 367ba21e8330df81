// ptp_demo — the embedded default experiment (`./ptp demo`): a Word-in-Context task built
// from WordNet alone (wordnet_wic.hpp), prompt-tuned on the packaged MiniLM (frozen backbone,
// P-tuning v2 deep prefix + classifier head, WiC's P-tuning v2 input format), vanilla vs
// PTP-RN vs PTP-ADV over 5 seeds, best epoch chosen on dev, test accuracy reported as
// mean ± std, min, max per method, with the wall time. Sized to finish in about 15 minutes
// on 2 CPU cores; every size and hyper-parameter is a flag.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "demo_task.hpp"

int main(int argc, char** argv) {
  using namespace ptp::repro;
  CLI::App app{"ptp demo: WordNet Word-in-Context, prompt tuning on MiniLM, vanilla vs PTP-RN vs PTP-ADV"};
  common_cli cli;
  demo_defaults(cli);
  wordnet_wic_options wo = demo_sizes();
  wordnet_supersense_options so;
  std::string wordnet_dir, write_jsonl, demo_task = "wic";
  cli.add(app);
  add_wordnet_wic_options(app, wo, wordnet_dir);
  add_supersense_options(app, so);
  app.add_option("--demo-task", demo_task, "wic (WordNet Word-in-Context) | supersense (noun lexicographer file of a definition)")
      ->capture_default_str();
  app.add_option("--write-jsonl", write_jsonl, "also write the task as WiC jsonl (train/dev/test.jsonl) into this dir");
  app.add_flag("--progress", cli.base.show_progress, "per-epoch progress on stderr");
  CLI11_PARSE(app, argc, argv);
  try {
    cli.finish();
    const auto t0 = std::chrono::steady_clock::now();
    const ptp::text::wordnet wn = wordnet_dir.empty() ? ptp::text::wordnet() : ptp::text::wordnet(wordnet_dir);
    run_data data;
    if (demo_task == "supersense") {
      const auto task = build_wordnet_supersense(wn, so);
      std::printf("WordNet supersense: %zu classes, %zu train / %zu dev / %zu test definitions (balanced)\n", task.classes.size(),
                  task.train.size(), task.dev.size(), task.test.size());
      data = supersense_run_data(task, cli);
    } else if (demo_task == "wic") {
      const auto task = build_wordnet_wic(wn, wo);
      if (!write_jsonl.empty()) write_wordnet_wic(task, write_jsonl);
      std::printf("WordNet WiC: %zu train / %zu dev / %zu test pairs (balanced, no lemma shared across splits)\n", task.train.size(),
                  task.dev.size(), task.test.size());
      data = wordnet_wic_run_data(task, cli);
    } else {
      throw std::invalid_argument("--demo-task must be wic or supersense");
    }
    std::printf("model: %s (frozen), prompt: %s (%lld tokens), %d epochs, batch %lld, lr %g, threads %d\n",
                cli.base.model_dir.string().c_str(), cli.base.prompt.c_str(), static_cast<long long>(cli.base.prefix_length),
                cli.base.epochs, static_cast<long long>(cli.base.batch_size), cli.base.lr, cli.base.threads);
    std::fflush(stdout);
    const auto jobs = plan({demo_task == "wic" ? demo_task_name : supersense_task_name}, split_list(cli.methods), parse_seeds(cli.seeds), cli.base);
    const auto o = run_sweep(jobs, cli.out, [&](const std::string&) { return data; }, cli.stop_after, nullptr,
                             cli.checkpoint_dir);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("\nTest accuracy (%%) of the best-dev epoch over seeds %s:\n\n", cli.seeds.c_str());
    print_table(o.records);
    std::printf("\n%zu runs finished, %zu already in %s; wall time %.1f s (%.1f min)\n", o.finished, o.skipped,
                cli.out.empty() ? "(memory)" : cli.out.c_str(), wall, wall / 60);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptp_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
