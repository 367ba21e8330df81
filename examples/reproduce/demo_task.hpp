// demo_task.hpp — the demo's WordNet tasks as the runner's data, shared by ptp_demo and
// ptp_landscape so both train on exactly the same examples. The default is supersense (the
// noun lexicographer file of a definition): it learns few-shot on the frozen MiniLM, where
// WordNet WiC stays at chance (docs/RESULTS.md).
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sweep_driver.hpp"
#include "wordnet_supersense.hpp"
#include "wordnet_wic.hpp"

namespace ptp::repro {

/// The demo's defaults (our choice; measured in docs/RESULTS.md: 5 seeds × vanilla, PTP-RN,
/// PTP-ADV in 7.5 min on 2 idle cores, budget 15). 20 epochs of 7 steps: the prefix and the head
/// are still learning at 3 (supersense test 58 % at 3 epochs, 78 % at 20, lr 3e-2).
inline void demo_defaults(common_cli& cli) {
  cli.base.epochs = 20;
  cli.base.m.pgd_steps = 1;  // PGD-1 (two passes per step, as PTP-RN) keeps the demo inside its time budget
  cli.base.batch_size = 16;
  cli.base.lr = 3e-2;
  cli.base.prefix_length = 8;
  cli.base.max_length = 64;
  cli.base.warmup_ratio = 0.06;
  cli.base.show_progress = false;
}

/// The demo's split sizes (pairs).
inline wordnet_wic_options wic_demo_sizes() { return {.train_pairs = 128, .dev_pairs = 64, .test_pairs = 128}; }

/// The flags that size and seed the WordNet WiC task.
inline void add_wordnet_wic_options(CLI::App& app, wordnet_wic_options& wo, std::string& wordnet_dir) {
  app.add_option("--train-pairs", wo.train_pairs)->capture_default_str();
  app.add_option("--dev-pairs", wo.dev_pairs)->capture_default_str();
  app.add_option("--test-pairs", wo.test_pairs)->capture_default_str();
  app.add_option("--data-seed", wo.seed, "seed of the WordNet WiC split")->capture_default_str();
  app.add_option("--wordnet-dir", wordnet_dir, "WordNet dictionary dir (default $WNSEARCHDIR or /usr/share/wordnet)");
}

/// The WiC task's name in sweep records and checkpoint names.
inline constexpr const char* wic_task_name = "WordNet-WiC";

/// A demo task's train / dev (selection) / test (report) splits as the runner's data, capped by
/// the command line's --max-train / --max-eval.
inline run_data demo_splits(task_info info, std::vector<example> train, std::vector<example> dev, std::vector<example> test,
                            const common_cli& cli) {
  run_data data{.info = std::move(info),
                .train = std::move(train),
                .select = std::move(dev),
                .report = std::move(test),
                .select_name = "dev",
                .report_name = "test"};
  cap(data.train, cli.max_train);
  cap(data.select, cli.max_eval);
  cap(data.report, cli.max_eval);
  return data;
}

/// WordNet WiC in WiC's P-tuning v2 input format (BERT family: "w: s1", "w: s2"), capped by
/// the command line's --max-train / --max-eval.
inline run_data wordnet_wic_run_data(const wordnet_wic& task, const common_cli& cli) {
  const auto tpl = ptp::data::ptuning_v2::template_id::bert;
  return demo_splits(info(ptp::data::task::wic), to_examples(task.train, tpl), to_examples(task.dev, tpl),
                     to_examples(task.test, tpl), cli);
}

/// The supersense task's name in sweep records and checkpoint names.
inline constexpr const char* supersense_task_name = "WordNet-supersense";

/// The flags that size and seed the WordNet supersense task.
inline void add_supersense_options(CLI::App& app, wordnet_supersense_options& so) {
  app.add_option("--train-per-class", so.train_per_class)->capture_default_str();
  app.add_option("--dev-per-class", so.dev_per_class)->capture_default_str();
  app.add_option("--test-per-class", so.test_per_class)->capture_default_str();
  app.add_option("--supersense-seed", so.seed, "seed of the supersense split")->capture_default_str();
}

/// WordNet supersense as the runner's data: one text per example (the definition), the
/// classifier over the classes, capped by the command line's --max-train / --max-eval.
inline run_data supersense_run_data(const wordnet_supersense& task, const common_cli& cli) {
  auto convert = [](const std::vector<supersense_example>& v) {
    std::vector<example> out;
    out.reserve(v.size());
    for (const auto& e : v) out.push_back({.choices = {data::text_pair{e.text, std::nullopt}}, .cloze = std::nullopt, .label = e.label});
    return out;
  };
  return demo_splits({.task = std::nullopt, .name = supersense_task_name, .labels = task.classes.size(), .multiple_choice = false,
                      .verbalizer = task.classes},
                     convert(task.train), convert(task.dev), convert(task.test), cli);
}

/// Which WordNet task the demo runs and how each is sized (the flags of ptp_demo and
/// ptp_landscape --data demo).
struct demo_options {
  std::string task = "supersense";  ///< supersense | wic
  wordnet_wic_options wic = wic_demo_sizes();
  wordnet_supersense_options supersense;
  std::string wordnet_dir;  ///< empty: $WNSEARCHDIR or /usr/share/wordnet
};

inline void add_demo_options(CLI::App& app, demo_options& o) {
  app.add_option("--demo-task", o.task, "supersense (noun lexicographer file of a definition) | wic (WordNet Word-in-Context)")
      ->capture_default_str();
  add_wordnet_wic_options(app, o.wic, o.wordnet_dir);
  add_supersense_options(app, o.supersense);
}

/// The demo task as the runner's data, its name in records and checkpoint names, and a
/// one-line description of its splits. `wic_jsonl` (WiC only): also write the task there.
struct demo_data {
  run_data data;
  std::string task_name, description;
};

inline demo_data build_demo(const demo_options& o, const common_cli& cli, const std::string& wic_jsonl = {}) {
  const ptp::text::wordnet wn = o.wordnet_dir.empty() ? ptp::text::wordnet() : ptp::text::wordnet(o.wordnet_dir);
  char line[256];
  if (o.task == "supersense") {
    if (!wic_jsonl.empty()) throw std::invalid_argument("--write-jsonl writes the WiC task: add --demo-task wic");
    const auto task = build_wordnet_supersense(wn, o.supersense);
    std::snprintf(line, sizeof line, "WordNet supersense: %zu classes, %zu train / %zu dev / %zu test definitions (balanced)",
                  task.classes.size(), task.train.size(), task.dev.size(), task.test.size());
    return {supersense_run_data(task, cli), supersense_task_name, line};
  }
  if (o.task == "wic") {
    const auto task = build_wordnet_wic(wn, o.wic);
    const auto* dp = ptp::torch::distributed::joined();
    if (!wic_jsonl.empty() && (!dp || dp->root())) write_wordnet_wic(task, wic_jsonl);  // under torchrun rank 0 writes
    std::snprintf(line, sizeof line, "WordNet WiC: %zu train / %zu dev / %zu test pairs (balanced, no lemma shared across splits)",
                  task.train.size(), task.dev.size(), task.test.size());
    return {wordnet_wic_run_data(task, cli), wic_task_name, line};
  }
  throw std::invalid_argument("--demo-task must be supersense or wic, not '" + o.task + "'");
}

}  // namespace ptp::repro
