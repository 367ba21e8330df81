// ptp_fewglue — PTP on the P-tuning (v1) backbone, FewGLUE_32dev protocol (docs/algorithms.md §5):
// PET cloze patterns with [P] prompt slots filled by the P-tuning prompt encoder (Embedding →
// BiLSTM → MLP), the [MASK] answered through the task's verbalizer (COPA: the two candidate
// continuations scored in the masks), every encoder parameter tuned together with the prompt
// at its own learning rate, word embeddings included (PT-Fewshot's recipe: see
// fewglue_defaults; --freeze-word-embeddings keeps them fixed). The schedule is in steps:
// --preset pt-fewshot/<Task> is PT-Fewshot's run script, --preset cpu/<Task> its CPU cut,
// which prints the fraction of the reference schedule it runs. Batches are padded to their
// longest sequence, not to --max-length.
//
// Splits: train <data-dir>/<Task>/train.jsonl (32), select <data-dir>/<Task>/dev32.jsonl (32),
// report --report-file (single task) or <report-dir>/<Task>/val.jsonl — the SuperGLUE
// validation sets, which are not shipped here. Without them the report split is, where
// ../shared/data/superglue/<Task>/train.jsonl exists (CB, COPA, RTE, WSC), the SuperGLUE
// training examples that FewGLUE did not draw (held-out, "superglue-train-minus-fewglue");
// otherwise (BoolQ, WiC) dev32 itself, which is then also the selection split — an
// optimistic number, labelled "dev32" in the output.
//
// If the checkpoint has no masked-LM head (the packaged MiniLM has none), the cloze head is a
// trainable Linear → GELU → LayerNorm transform decoded by the tied word embeddings — our
// choice, printed at start-up.
//
//   ptp_fewglue --preset cpu/CB --seeds 1-5 --threads 1 --out results/fewglue_cb.jsonl
//   ptp_fewglue --task CB,RTE --methods vanilla,ptp-rn,ptp-adv --seeds 1-5 --out results/fewglue.jsonl
//   ptp_fewglue --task RTE --model-dir /models/albert-xxlarge-v2 --device cuda --max-length 256 \
//               --report-dir /data/superglue --out results/albert_rte.jsonl
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "programs.hpp"
#include "sweep_driver.hpp"

int main(int argc, char** argv) {
  using namespace ptp::repro;
  CLI::App app{"PTP on P-tuning (cloze + prompt encoder, tuned backbone): FewGLUE_32dev sweeps"};
  common_cli cli;
  fewglue_defaults(cli);
  fewglue_sources src;
  std::string preset_name;
  cli.add(app);
  cli.add_sharding(app);
  app.add_option("--preset", preset_name, "pt-fewshot/<Task> (PT-Fewshot's run script) or cpu/<Task> (its CPU cut), e.g. cpu/CB");
  app.add_option("--data-dir", src.data_dir, "folder of <Task>/{train,dev32}.jsonl (default: ../shared/data/fewglue)");
  app.add_option("--report-file,--split-file", src.report_file, "report jsonl, e.g. the SuperGLUE val.jsonl (single task)");
  app.add_option("--report-dir", src.report_dir, "folder of <Task>/val.jsonl");
  app.add_option("--superglue-dir", src.superglue_dir,
                 "full SuperGLUE train sets for the held-out report split (default: ../shared/data/superglue)");
  CLI11_PARSE(app, argc, argv);
  if (!cli.merge.empty()) return cli.run_merge("ptp_fewglue");
  try {
    if (!preset_name.empty()) {
      cli.finish();  // the model, for the preset's note
      cli.tasks = apply_fewglue_preset(preset_name, cli.base);
      CLI11_PARSE(app, argc, argv);  // explicit flags win over the preset
    }
    cli.finish();
    src.max_train = cli.max_train;
    src.max_eval = cli.max_eval;
    src.mirror_copa = cli.base.head == head_kind::cloze;
    const auto tasks = split_list(cli.tasks);
    if (tasks.size() > 1 && !src.report_file.empty()) throw std::invalid_argument("--report-file names one task's file: give one --task");
    const auto template_id = template_for(cli.base.model_dir);
    if (cli.base.head == head_kind::cloze) {
      auto [enc, rep] = ptp::torch::load_pretrained_encoder(cli.base.model_dir, {.strict = false});
      if (enc->has_mlm_head() || cli.base.cloze_head == "classifier") {
      } else if (cli.base.cloze_head == "fitted") {
        const auto h = fitted_cloze_head(cli.base.model_dir);  // fitted once, before the runs
        std::printf("note: %s has no masked-LM head; the cloze head is the one fitted on WordNet glosses (%s): held-out fill-mask "
                    "top-1 %.2f %% against %.2f %% untrained, over %zu masks\n",
                    cli.base.model_dir.string().c_str(), h.path.string().c_str(), 100 * h.top1_after, 100 * h.top1_before, h.heldout_masks);
      } else {
        std::printf("note: %s has no masked-LM head; the cloze head is a trainable Linear-GELU-LayerNorm transform decoded by the "
                    "tied word embeddings, untrained (our choice; --cloze-head fitted gives it a WordNet prior)\n",
                    cli.base.model_dir.string().c_str());
      }
    }
    auto data_of = [&](const std::string& name) { return fewglue_data(name, src, template_id); };
    auto jobs = cli.select_shard(plan(tasks, split_list(cli.methods), parse_seeds(cli.seeds), cli.base));
    const auto o = run_sweep(jobs, cli.out, data_of, cli.stop_after, nullptr, cli.checkpoint_dir);
    std::printf("scores in %% over seeds %s (report split per task: val, heldout or dev32 — see the log)\n\n", cli.seeds.c_str());
    print_table(o.records);
    std::printf("\n%zu runs finished, %zu skipped (already in %s)%s; wall time %.1f s\n", o.finished, o.skipped,
                cli.out.empty() ? "(memory)" : cli.out.c_str(), o.stopped_early ? ", stopped early (--stop-after)" : "",
                o.wall_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptp_fewglue: %s\n", e.what());
    return 1;
  }
  return 0;
}
