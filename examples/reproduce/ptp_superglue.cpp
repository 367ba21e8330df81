// ptp_superglue — PTP on the P-tuning v2 backbone (docs/algorithms.md §5): a deep prefix in every
// layer of a frozen encoder, pooled → dropout → Linear head (COPA: multiple choice), fully
// supervised SuperGLUE.
//
// Splits (docs/algorithms.md §5 protocol; ../shared/data/superglue/README.md):
//  * train: <data-dir>/<Task>/train.jsonl (or --train-file);
//  * selection: a fixed 10 % of train carved by a seeded shuffle (ptp::data::carve_selection,
//    seed 42, the same for every method and seed) — or --split-file;
//  * report: --report-file, or <report-dir>/<Task>/val.jsonl (the SuperGLUE validation sets,
//    not shipped here). Without either, a fixed 20 % of train (seed 4242) is held out as the
//    report split *before* the selection split is carved (**our stand-in**, documented in
//    every result line's config as report = "train-holdout-20%").
//
//   ptp_superglue --task RTE --methods vanilla,ptp-rn,ptp-adv --seeds 1-5 --out results/sg.jsonl
//   ptp_superglue --preset roberta-large/RTE --model-dir /models/roberta-large --device cuda \
//                 --report-dir /data/superglue --out results/roberta_rte.jsonl
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "programs.hpp"
#include "sweep_driver.hpp"

int main(int argc, char** argv) {
  using namespace ptp::repro;
  CLI::App app{"PTP on P-tuning v2 (deep prefix, frozen backbone): SuperGLUE sweeps"};
  common_cli cli;
  superglue_defaults(cli);
  std::string preset_name, tpl = "auto";
  superglue_sources src;
  cli.add(app);
  cli.add_sharding(app);
  app.add_option("--preset", preset_name, "P-tuning v2 run-script setting, e.g. roberta-large/RTE, bert-large/WiC");
  app.add_option("--data-dir", src.data_dir, "folder of <Task>/train.jsonl (default: ../shared/data/superglue)");
  app.add_option("--train-file", src.train_file, "training jsonl (single task)");
  app.add_option("--split-file", src.split_file, "selection jsonl (single task; default: 10% of train, seed 42)");
  app.add_option("--report-file", src.report_file, "report jsonl, e.g. the SuperGLUE val.jsonl (single task)");
  app.add_option("--report-dir", src.report_dir, "folder of <Task>/val.jsonl");
  app.add_option("--report-holdout", src.report_fraction, "without a report file: share of train held out as the report split")
      ->capture_default_str();
  app.add_option("--template", tpl, "P-tuning v2 template: auto | bert | roberta")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!cli.merge.empty()) return cli.run_merge("ptp_superglue");
  try {
    if (!preset_name.empty()) {
      apply_preset(preset_name, cli.base);
      app.clear();
      CLI11_PARSE(app, argc, argv);  // explicit flags win over the preset
      cli.tasks = presets().at(preset_name).task;
    }
    cli.finish();
    src.max_train = cli.max_train;
    src.max_eval = cli.max_eval;
    const auto tasks = split_list(cli.tasks);
    if (tasks.size() > 1 && (!src.train_file.empty() || !src.split_file.empty() || !src.report_file.empty()))
      throw std::invalid_argument("--train-file/--split-file/--report-file name one task's files: give one --task");
    const auto template_id = template_for(cli.base.model_dir, tpl);
    const std::string report_kind = !src.report_file.empty() || !src.report_dir.empty() ? "file" : "train-holdout";
    auto data_of = [&](const std::string& name) { return superglue_data(name, src, template_id); };
    auto jobs = cli.select_shard(plan(tasks, split_list(cli.methods), parse_seeds(cli.seeds), cli.base));
    const auto o = run_sweep(jobs, cli.out, data_of, cli.stop_after, nullptr, cli.checkpoint_dir);
    std::printf("report split: %s; scores in %% over seeds %s\n\n", report_kind.c_str(), cli.seeds.c_str());
    print_table(o.records);
    std::printf("\n%zu runs finished, %zu skipped (already in %s)%s; wall time %.1f s\n", o.finished, o.skipped,
                cli.out.empty() ? "(memory)" : cli.out.c_str(), o.stopped_early ? ", stopped early (--stop-after)" : "",
                o.wall_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptp_superglue: %s\n", e.what());
    return 1;
  }
  return 0;
}
