// demo_task.hpp — the demo's WordNet WiC task as the runner's data, shared by ptp_demo and
// ptp_landscape so both train on exactly the same examples.
#pragma once

#include "sweep_driver.hpp"
#include "wordnet_supersense.hpp"
#include "wordnet_wic.hpp"

namespace ptp::repro {

/// The demo's defaults (our choice, sized for ~15 minutes on 2 CPU cores).
inline void demo_defaults(common_cli& cli) {
  cli.base.epochs = 3;
  cli.base.m.pgd_steps = 1;  // PGD-1 (two passes per step, as PTP-RN) keeps the demo inside its time budget
  cli.base.batch_size = 16;
  cli.base.lr = 1e-2;
  cli.base.prefix_length = 8;
  cli.base.max_length = 64;
  cli.base.warmup_ratio = 0.06;
  cli.base.show_progress = false;
}

/// The demo's split sizes (pairs).
inline wordnet_wic_options demo_sizes() { return {.train_pairs = 128, .dev_pairs = 64, .test_pairs = 128}; }

/// The flags that size and seed the WordNet WiC task.
inline void add_wordnet_wic_options(CLI::App& app, wordnet_wic_options& wo, std::string& wordnet_dir) {
  app.add_option("--train-pairs", wo.train_pairs)->capture_default_str();
  app.add_option("--dev-pairs", wo.dev_pairs)->capture_default_str();
  app.add_option("--test-pairs", wo.test_pairs)->capture_default_str();
  app.add_option("--data-seed", wo.seed, "seed of the WordNet WiC split")->capture_default_str();
  app.add_option("--wordnet-dir", wordnet_dir, "WordNet dictionary dir (default $WNSEARCHDIR or /usr/share/wordnet)");
}

/// The demo task's name in sweep records and checkpoint names.
inline constexpr const char* demo_task_name = "WordNet-WiC";

/// WordNet WiC in WiC's P-tuning v2 input format (BERT family: "w: s1", "w: s2"), capped by
/// the command line's --max-train / --max-eval.
inline run_data wordnet_wic_run_data(const wordnet_wic& task, const common_cli& cli) {
  const auto tpl = ptp::data::ptuning_v2::template_id::bert;
  run_data data{.info = info(ptp::data::task::wic),
                .train = to_examples(task.train, tpl),
                .select = to_examples(task.dev, tpl),
                .report = to_examples(task.test, tpl),
                .select_name = "dev",
                .report_name = "test"};
  cap(data.train, cli.max_train);
  cap(data.select, cli.max_eval);
  cap(data.report, cli.max_eval);
  return data;
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
  run_data data{.info = {.task = std::nullopt, .name = supersense_task_name, .labels = task.classes.size(), .multiple_choice = false,
                         .verbalizer = task.classes},
                .train = convert(task.train),
                .select = convert(task.dev),
                .report = convert(task.test),
                .select_name = "dev",
                .report_name = "test"};
  cap(data.train, cli.max_train);
  cap(data.select, cli.max_eval);
  cap(data.report, cli.max_eval);
  return data;
}

}  // namespace ptp::repro
