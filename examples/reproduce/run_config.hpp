// examples/reproduce/run_config.hpp — what one run is given and what it gives back: its
// configuration (with the identity that keys its line in a results file), its data, its
// result. No LibTorch here, so the sweep's bookkeeping and tests can use it alone.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "method_table.hpp"
#include "tasks.hpp"

namespace ptp::repro {

namespace fs = std::filesystem;

/// Everything one run needs besides its data.
struct run_config {
  // model
  fs::path model_dir;               ///< HF checkpoint dir (config.json, model.safetensors, tokenizer)
  std::string prompt = "prefix";    ///< prefix | ptuning | soft | none
  head_kind head = head_kind::classifier;
  std::int64_t prefix_length = 16;  ///< deep-prefix / prompt tokens
  std::int64_t pattern_id = 0;      ///< P-tuning: [P] tokens per slot as PT-Fewshot's pattern_id; 0: prefix_length; -1: its run scripts' (1, WSC 2)
  bool prefix_projection = false;   ///< P-tuning v2's reparameterisation (Embedding → MLP)
  std::int64_t prefix_hidden = 512;
  /// The cloze head: "auto" (the checkpoint's masked-LM head, else our untrained transform),
  /// "fitted" (the checkpoint's, else the WordNet-fitted head of cloze_head.hpp), or
  /// "classifier" (a linear classifier on the [MASK] state; the verbalizer unused).
  std::string cloze_head = "auto";
  double prompt_dropout = 0.1;      ///< P-tuning v2's dropout on the prefixes
  bool tune_backbone = false;       ///< P-tuning (v1) tunes the backbone too
  bool tune_word_embeddings = false;  ///< with tune_backbone: the word embeddings too (PT-Fewshot tunes every parameter)
  double backbone_lr = 1e-5;
  double backbone_weight_decay = -1;  ///< backbone's AdamW decay, biases and norms excluded (PET); < 0: weight_decay
  // optimisation
  int epochs = 10;                  ///< used when max_steps is 0
  std::int64_t max_steps = 0;       ///< optimizer steps in all (PT-Fewshot's --pet_max_steps); 0: epochs × batches
  std::int64_t eval_every = 0;      ///< evaluate the selection split every this many steps (PT-Fewshot: 20); 0: each epoch
  int patience = 0;                 ///< stop after this many evaluations without a strict improvement (PT-Fewshot: 10); 0: never
  bool later_wins_ties = false;     ///< selection keeps a later evaluation that ties the best (PT-Fewshot's >=)
  double max_grad_norm = 0;         ///< clip the global gradient norm (PT-Fewshot: 1.0); 0: no clipping
  std::int64_t batch_size = 16, eval_batch_size = 64, max_length = 128;
  double lr = 1e-2, weight_decay = 0.01, warmup_ratio = 0.0;
  double head_lr = -1;              ///< the head's own rate (classifier, or our cloze transform); < 0: lr
  std::int64_t warmup_steps = -1;   ///< warm-up in steps (PT-Fewshot's --warmup_steps); < 0: warmup_ratio × total
  // method
  std::string method = "vanilla";   ///< a name of method_table()
  method_options m{};
  // data
  std::size_t max_train = 0, max_eval = 0;  ///< caps on the splits (0: none), set by --max-train / --max-eval
  // run
  std::uint64_t seed = 1;
  int threads = 2;
  std::string device = "cpu";
  bool show_progress = true;
  std::string label;                ///< progress label prefix
  /// Under torchrun: the run's epoch-level resume point (rank 0 writes it after each epoch; a
  /// restarted group continues from it). Empty: none. Not part of the identity.
  std::string resume_file;

  /// The run's identity for the results file: everything that changes the numbers except
  /// the seed (recorded on its own), the device and the thread count.
  [[nodiscard]] nlohmann::json identity() const {
    nlohmann::json j{{"model", model_dir.filename().string()},
                     {"prompt", prompt},
                     {"head", head == head_kind::classifier ? "classifier" : "cloze"},
                     {"prefix_length", prefix_length},
                     {"prefix_projection", prefix_projection},
                     {"tune_backbone", tune_backbone},
                     {"epochs", epochs},
                     {"batch_size", batch_size},
                     {"max_length", max_length},
                     {"lr", lr},
                     {"weight_decay", weight_decay},
                     {"warmup_ratio", warmup_ratio}};
    if (tune_backbone) j["backbone_lr"] = backbone_lr;
    // fields added later enter only when set, so results files written before them still resume
    if (tune_word_embeddings) j["tune_word_embeddings"] = true;
    if (tune_backbone && backbone_weight_decay >= 0) j["backbone_weight_decay"] = backbone_weight_decay;
    if (max_steps) j["max_steps"] = max_steps;
    if (eval_every) j["eval_every"] = eval_every;
    if (patience) j["patience"] = patience;
    if (later_wins_ties) j["later_wins_ties"] = true;
    if (max_grad_norm > 0) j["max_grad_norm"] = max_grad_norm;
    if (warmup_steps >= 0) j["warmup_steps"] = warmup_steps;
    if (head_lr >= 0) j["head_lr"] = head_lr;
    // Before ptp::torch::adamw kept each group's options, a group at LibTorch's AdamW default
    // (lr 1e-3, decay 1e-2) trained at --lr / --weight-decay instead: such runs are other runs.
    const bool at_default_lr = (head_lr == 1e-3 || (tune_backbone && backbone_lr == 1e-3)) && lr != 1e-3;
    const bool at_default_decay = tune_backbone && backbone_weight_decay == 1e-2 && weight_decay != 1e-2;
    if (at_default_lr || at_default_decay) j["group_options_kept"] = true;
    if (head == head_kind::cloze && cloze_head != "auto") j["cloze_head"] = cloze_head;
    if (max_train) j["max_train"] = max_train;  // capped data is other data: a re-run with other caps is another run
    if (max_eval) j["max_eval"] = max_eval;
    // the method's own fields (method_table.hpp); named, since a range-for over a temporary's items() dangles
    const auto own = method_identity(method, m);
    for (const auto& [key, value] : own.items()) j[key] = value;
    return j;
  }
};

/// A run's data: the task and its three splits.
struct run_data {
  task_info info;
  std::vector<example> train, select, report;
  std::string select_name = "select", report_name = "report";
};

/// What a run measured.
struct run_result {
  std::map<std::string, double> report;   ///< report-split metrics of the selected epoch
  std::map<std::string, double> select;   ///< selection-split metrics of the selected epoch
  int best_epoch = 0;                     ///< 1-based
  std::int64_t best_step = 0;             ///< optimizer steps taken at the selected evaluation
  std::int64_t steps = 0;                 ///< optimizer steps taken (fewer than planned after early stopping)
  std::vector<double> select_curve;       ///< selection score per evaluation
  double final_train_loss = 0;            ///< mean training loss of the last epoch
  double text_edits_per_example = 0;      ///< text methods: mean changed words/tokens per example
  double wall_seconds = 0;
  double majority = 0;                    ///< the report split's majority-class rate (fraction), the floor to beat
  std::size_t report_size = 0;            ///< examples in the report split (the binomial SE of "learned")
};
}  // namespace ptp::repro
