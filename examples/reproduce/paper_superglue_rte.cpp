// paper_superglue_rte — the paper's SuperGLUE RTE setting (docs/algorithms.md §5: P-tuning v2 deep
// prefix, frozen backbone, RoBERTa-large run script 32 / 5e-3 / prefix 128 / 100 epochs, max
// length 128) as one compile-time configured experiment: each method's regularizer is built
// from a Hana map of typed options through ptp::config::experiment (a misspelt or duplicated
// option is a compile error naming it) and handed to the shared runner.
//
//   paper_superglue_rte --model-dir /models/roberta-large --device cuda \
//                       --report-file /data/superglue/RTE/val.jsonl --out results/paper_rte.jsonl
// Every runner flag still applies (e.g. --epochs 3 --max-train 200 for a CPU smoke run).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include <ptp/config.hpp>

#include "programs.hpp"
#include "sweep_driver.hpp"

namespace {

namespace hana = boost::hana;
using namespace ptp::opt;
using ptp::config::stage;

// PTP-RN: Gaussian noise on the word embeddings, clean + λ·perturbed
const auto ptp_rn = ptp::config::experiment(hana::make_map(
    embedding(stage<ptp::embedding::gaussian>(sigma(0.05), relative(true))),
    objective(stage<ptp::objective::clean_plus_perturbed>(weight(1.0)))));
// PTP-ADV: PGD-2 in the per-example L2 ball, clean + λ·perturbed
const auto ptp_adv = ptp::config::experiment(hana::make_map(
    embedding(stage<ptp::embedding::pgd>(steps(2), step_size(0.05), epsilon(0.3), norm(ptp::norm_type::l2))),
    objective(stage<ptp::objective::clean_plus_perturbed>(weight(1.0)))));
// vanilla P-tuning v2: no stage
const auto vanilla = ptp::config::experiment(hana::make_map());

}  // namespace

int main(int argc, char** argv) {
  using namespace ptp::repro;
  CLI::App app{"The paper's SuperGLUE RTE experiment (P-tuning v2, Hana-configured regularizers)"};
  common_cli cli;
  cli.tasks = "RTE";
  apply_preset("roberta-large/RTE", cli.base);
  superglue_sources src;
  cli.add(app);
  app.add_option("--report-file", src.report_file, "RTE report jsonl (the SuperGLUE val.jsonl)");
  app.add_option("--data-dir", src.data_dir, "folder of RTE/train.jsonl (default: ../shared/data/superglue)");
  CLI11_PARSE(app, argc, argv);
  try {
    cli.finish();
    cli.tasks = "RTE";
    src.max_train = cli.max_train;
    src.max_eval = cli.max_eval;
    const auto tpl = template_for(cli.base.model_dir);
    auto runner = [&](const run_config& cfg, const run_data& d) {
      if (cfg.method == "vanilla") return run(cfg, d, vanilla);
      if (cfg.method == "ptp-rn") return run(cfg, d, ptp_rn);
      if (cfg.method == "ptp-adv") return run(cfg, d, ptp_adv);
      throw std::invalid_argument("paper_superglue_rte configures vanilla, ptp-rn and ptp-adv only");
    };
    // the identity recorded per run names the compile-time settings
    cli.base.m.sigma = 0.05;
    cli.base.m.pgd_steps = 2;
    cli.base.m.pgd_step_size = 0.05;
    cli.base.m.pgd_epsilon = 0.3;
    cli.base.m.weight = 1.0;
    const auto jobs = plan({"RTE"}, split_list(cli.methods), parse_seeds(cli.seeds), cli.base);
    const auto o = run_sweep(jobs, cli.out, [&](const std::string& n) { return superglue_data(n, src, tpl); }, cli.stop_after, runner, cli.checkpoint_dir);
    print_table(o.records);
    std::printf("\n%zu runs finished, %zu skipped; wall time %.1f s\n", o.finished, o.skipped, o.wall_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "paper_superglue_rte: %s\n", e.what());
    return 1;
  }
  return 0;
}
