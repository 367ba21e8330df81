// examples/reproduce/programs.hpp — what ptp_superglue, ptp_fewglue and the paper_* programs
// share besides the runner: where the data lives, the P-tuning v2 template of a checkpoint,
// the presets of docs/algorithms.md §5, and held-out report splits.
#pragma once

// runner.hpp first: it includes ptp/adapters/torch.hpp before hf_config.hpp, whose
// ptp::torch::to_string(encoder_family) would otherwise hide ptp::to_string(shape) from the
// adapter headers' unqualified calls
#include "runner.hpp"

#include <ptp/adapters/torch/hf_config.hpp>
#include <ptp/data/split.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tasks.hpp"

#ifndef PTP_SHARED_DIR
#define PTP_SHARED_DIR "../shared"
#endif

namespace ptp::repro {

/// The shared data folder: $PTP_SHARED_DIR, else the compiled-in PTP_SHARED_DIR (CMake's
/// cache variable of that name, default the folder beside the source tree).
inline fs::path shared_dir() {
  if (const char* e = std::getenv("PTP_SHARED_DIR"); e && *e) return e;
  return PTP_SHARED_DIR;
}

/// P-tuning v2's template for a checkpoint: RoBERTa's for RoBERTa, BERT's otherwise.
inline data::ptuning_v2::template_id template_for(const fs::path& model_dir, const std::string& choice = "auto") {
  if (choice == "roberta") return data::ptuning_v2::template_id::roberta;
  if (choice == "bert") return data::ptuning_v2::template_id::bert;
  const auto c = ptp::torch::load_hf_config(model_dir / "config.json");
  return c.family == ptp::torch::encoder_family::roberta ? data::ptuning_v2::template_id::roberta
                                                         : data::ptuning_v2::template_id::bert;
}

/// One run-script setting of P-tuning v2 (docs/algorithms.md §5): batch size, learning rate, prefix
/// length, epochs, projection.
struct preset {
  std::string task;
  std::int64_t batch_size;
  double lr;
  std::int64_t prefix_length;
  int epochs;
  bool projection = false;
};

/// P-tuning v2's run scripts, as docs/algorithms.md §5 lists them: "roberta-large/RTE", "bert-large/WiC", …
inline const std::map<std::string, preset>& presets() {
  static const std::map<std::string, preset> p{
      {"roberta-large/BoolQ", {"BoolQ", 32, 7e-3, 8, 100}}, {"roberta-large/COPA", {"COPA", 16, 9e-3, 8, 120}},
      {"roberta-large/RTE", {"RTE", 32, 5e-3, 128, 100}},   {"roberta-large/WiC", {"WiC", 32, 1e-2, 8, 50}},
      {"roberta-large/WSC", {"WSC", 16, 1e-2, 8, 10}},      {"bert-large/BoolQ", {"BoolQ", 32, 5e-3, 40, 100}},
      {"bert-large/COPA", {"COPA", 16, 1e-2, 16, 80}},      {"bert-large/RTE", {"RTE", 32, 1e-2, 20, 60}},
      {"bert-large/WiC", {"WiC", 16, 1e-4, 20, 80, true}},  {"bert-large/WSC", {"WSC", 16, 5e-3, 20, 80}},
  };
  return p;
}

/// Applies a preset to `cfg`; returns its task.
inline std::string apply_preset(const std::string& name, run_config& cfg) {
  const auto it = presets().find(name);
  if (it == presets().end()) {
    std::string list;
    for (const auto& [k, v] : presets()) list += (list.empty() ? "" : ", ") + k;
    throw std::invalid_argument("unknown preset '" + name + "' (" + list + ")");
  }
  const auto& p = it->second;
  cfg.batch_size = p.batch_size;
  cfg.lr = p.lr;
  cfg.prefix_length = p.prefix_length;
  cfg.epochs = p.epochs;
  cfg.prefix_projection = p.projection;
  cfg.max_length = 128;
  return p.task;
}

/// One FewGLUE recipe (batch 16 throughout): PT-Fewshot's run script for a task
/// (`pt-fewshot/<Task>`, THUDM/P-tuning PT-Fewshot/scripts/<task>_pt_few_shot.sh with cli.py's
/// defaults: prompt-encoder lr 1e-5 unless the script sets 1e-4, warm-up 0 unless set), or
/// its CPU cut (`cpu/<Task>`: fewer steps, warm-up scaled with them, and a rate for our cloze
/// transform, which starts untrained on an encoder without a masked-LM head).
struct fewglue_preset {
  std::string task;
  std::int64_t max_steps, max_length;
  double lr;                         ///< prompt encoder
  std::int64_t warmup_steps = 0;
  std::int64_t pattern_id = 1;       ///< [P] tokens per slot
  double head_lr = -1;               ///< our cloze transform's rate (< 0: lr)
  std::int64_t reference_steps = 0;  ///< cpu/: the PT-Fewshot steps it cuts (the fraction it prints)
};

/// The FewGLUE presets. cpu/<Task> keeps 5 seeds × {vanilla, PTP-RN, PTP-ADV} of one task on
/// MiniLM within about 3 hours of one core (measured: docs/RESULTS.md).
inline const std::map<std::string, fewglue_preset>& fewglue_presets() {
  static const std::map<std::string, fewglue_preset> p{
      {"pt-fewshot/BoolQ", {"BoolQ", 250, 256, 1e-4}},
      {"pt-fewshot/CB", {"CB", 250, 256, 1e-5}},
      {"pt-fewshot/COPA", {"COPA", 3500, 96, 1e-5}},
      {"pt-fewshot/RTE", {"RTE", 3500, 256, 1e-4, 150}},
      {"pt-fewshot/WiC", {"WiC", 3500, 256, 1e-5}},
      {"pt-fewshot/WSC", {"WSC", 3500, 128, 1e-4, 0, 2}},
      {"cpu/BoolQ", {"BoolQ", 60, 256, 1e-4, 0, 1, 1e-3, 250}},
      {"cpu/CB", {"CB", 125, 256, 1e-5, 0, 1, 1e-3, 250}},
      {"cpu/COPA", {"COPA", 400, 96, 1e-5, 0, 1, 1e-3, 3500}},
      {"cpu/RTE", {"RTE", 125, 256, 1e-4, 5, 1, 1e-3, 3500}},
      {"cpu/WiC", {"WiC", 350, 256, 1e-5, 0, 1, 1e-3, 3500}},
      {"cpu/WSC", {"WSC", 350, 128, 1e-4, 0, 2, 1e-3, 3500}},
  };
  return p;
}

/// Applies FewGLUE preset `name` on top of ptp_fewglue's defaults in `cfg`; returns its task.
/// A cpu/ preset says on stdout what fraction of PT-Fewshot's schedule it runs.
inline std::string apply_fewglue_preset(const std::string& name, run_config& cfg) {
  const auto it = fewglue_presets().find(name);
  if (it == fewglue_presets().end()) {
    std::string list;
    for (const auto& [k, v] : fewglue_presets()) list += (list.empty() ? "" : ", ") + k;
    throw std::invalid_argument("unknown preset '" + name + "' (" + list + ")");
  }
  const auto& p = it->second;
  cfg.batch_size = 16;
  cfg.max_steps = p.max_steps;
  cfg.max_length = p.max_length;
  cfg.lr = p.lr;
  cfg.warmup_steps = p.warmup_steps;
  cfg.pattern_id = p.pattern_id;
  cfg.head_lr = p.head_lr;
  if (p.reference_steps)
    std::printf("%s runs %lld of PT-Fewshot's %lld steps of 16 (%.1f %% of the reference schedule), on %s instead of ALBERT-xxlarge-v2\n",
                name.c_str(), static_cast<long long>(p.max_steps), static_cast<long long>(p.reference_steps),
                100.0 * static_cast<double>(p.max_steps) / static_cast<double>(p.reference_steps),
                cfg.model_dir.empty() ? "the packaged MiniLM" : cfg.model_dir.string().c_str());
  return p.task;
}

/// The examples of `pool` whose first input text is not among `exclude`'s (a held-out
/// report split: the SuperGLUE training examples that FewGLUE did not draw).
inline std::vector<example> held_out(const std::vector<example>& pool, const std::vector<const std::vector<example>*>& exclude) {
  std::set<std::string> seen;
  auto key = [](const example& e) { return e.choices.front().first + "\x1f" + e.choices.front().second.value_or(""); };
  for (const auto* v : exclude)
    for (const auto& e : *v) seen.insert(key(e));
  std::vector<example> out;
  for (const auto& e : pool)
    if (!seen.contains(key(e))) out.push_back(e);
  return out;
}

/// The examples of `all` at `idx`.
inline std::vector<example> subset(const std::vector<example>& all, const std::vector<std::size_t>& idx) {
  std::vector<example> out;
  out.reserve(idx.size());
  for (auto i : idx) out.push_back(all[i]);
  return out;
}


/// Where a SuperGLUE (P-tuning v2) run's splits come from; see ptp_superglue.cpp.
struct superglue_sources {
  std::string data_dir;      ///< folder of <Task>/train.jsonl (default ../shared/data/superglue)
  std::string train_file;    ///< overrides data_dir (single task)
  std::string split_file;    ///< selection jsonl; default: 10 % of train, seed 42
  std::string report_file;   ///< report jsonl (single task)
  std::string report_dir;    ///< folder of <Task>/val.jsonl
  double report_fraction = 0.2;  ///< without a report file: share of train held out (seed 4242)
  std::size_t max_train = 0, max_eval = 0;  ///< caps (0: none)
};

inline void cap(std::vector<example>& v, std::size_t n) {
  if (n && v.size() > n) v.resize(n);
}

/// The splits of SuperGLUE task `name`: train; selection carved from it (10 %, seed 42) or
/// given; report given by path, or a fixed held-out share of train (seed 4242) carved first.
inline run_data superglue_data(const std::string& name, const superglue_sources& src, data::ptuning_v2::template_id tpl) {
  const auto t = data::parse_task(name);
  const std::string folder(data::task_name(t));
  const fs::path data_dir = src.data_dir.empty() ? shared_dir() / "data" / "superglue" : fs::path(src.data_dir);
  const fs::path train_path = src.train_file.empty() ? data_dir / folder / "train.jsonl" : fs::path(src.train_file);
  auto all = load_examples(t, train_path, tpl);
  run_data d{.info = info(t), .train = {}, .select = {}, .report = {}, .select_name = "select", .report_name = "report"};
  if (!src.report_file.empty() || !src.report_dir.empty()) {
    d.report = load_examples(t, src.report_file.empty() ? fs::path(src.report_dir) / folder / "val.jsonl" : fs::path(src.report_file), tpl);
    d.report_name = "val";
  } else {
    const auto h = data::carve_selection(all.size(), {.fraction = src.report_fraction, .seed = 4242});
    d.report = subset(all, h.select);
    all = subset(all, h.train);
    d.report_name = "holdout";
  }
  if (!src.split_file.empty()) {
    d.train = std::move(all);
    d.select = load_examples(t, src.split_file, tpl);
  } else {
    const auto s = data::carve_selection(all.size());
    d.train = subset(all, s.train);
    d.select = subset(all, s.select);
  }
  cap(d.train, src.max_train);
  cap(d.select, src.max_eval);
  cap(d.report, src.max_eval);
  std::fprintf(stderr, "%s: %zu train / %zu select / %zu %s examples\n", name.c_str(), d.train.size(), d.select.size(), d.report.size(),
               d.report_name.c_str());
  return d;
}

/// Where a FewGLUE (P-tuning) run's splits come from; see ptp_fewglue.cpp.
struct fewglue_sources {
  std::string data_dir;      ///< folder of <Task>/{train,dev32}.jsonl (default ../shared/data/fewglue)
  std::string report_file;   ///< report jsonl (single task)
  std::string report_dir;    ///< folder of <Task>/val.jsonl
  std::string superglue_dir; ///< full train sets for the held-out report (default ../shared/data/superglue)
  bool mirror_copa = true;   ///< PET/P-tuning's mirrored COPA training examples
  std::size_t max_train = 0, max_eval = 0;
};

/// The splits of FewGLUE task `name`: train (32), dev32 for selection, report by path, else
/// the SuperGLUE train examples FewGLUE did not draw ("heldout"), else dev32 itself ("dev32").
inline run_data fewglue_data(const std::string& name, const fewglue_sources& src, data::ptuning_v2::template_id tpl) {
  const auto t = data::parse_task(name);
  const std::string tn(data::task_name(t));
  const fs::path folder = (src.data_dir.empty() ? shared_dir() / "data" / "fewglue" : fs::path(src.data_dir)) / tn;
  const fs::path sg = (src.superglue_dir.empty() ? shared_dir() / "data" / "superglue" : fs::path(src.superglue_dir)) / tn / "train.jsonl";
  run_data d{.info = info(t), .train = {}, .select = {}, .report = {}, .select_name = "dev32", .report_name = "report"};
  d.train = load_examples(t, folder / "train.jsonl", tpl, src.mirror_copa);
  d.select = load_examples(t, folder / "dev32.jsonl", tpl);
  if (!src.report_file.empty() || !src.report_dir.empty()) {
    d.report = load_examples(t, src.report_file.empty() ? fs::path(src.report_dir) / tn / "val.jsonl" : fs::path(src.report_file), tpl);
    d.report_name = "val";
  } else if (fs::exists(sg)) {
    const auto fewglue_train = load_examples(t, folder / "train.jsonl", tpl);
    d.report = held_out(load_examples(t, sg, tpl), {&fewglue_train, &d.select});
    d.report_name = "heldout";
  } else {
    d.report = d.select;
    d.report_name = "dev32";
  }
  cap(d.train, src.max_train);
  cap(d.report, src.max_eval);
  std::fprintf(stderr, "%s: %zu train / %zu dev32 / %zu %s examples\n", name.c_str(), d.train.size(), d.select.size(), d.report.size(),
               d.report_name.c_str());
  return d;
}

}  // namespace ptp::repro
