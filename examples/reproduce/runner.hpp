// examples/reproduce/runner.hpp — the one experiment runner behind ptp_demo, ptp_fewglue,
// ptp_superglue and the compile-time configured paper experiments.
//
// A run = pretrained encoder (frozen, or tuned at its own learning rate) + prompt (P-tuning v2
// deep prefix, P-tuning encoder, or shallow soft prompt) + head (classifier, or cloze over the
// masked-LM output) + one regularizer method (text stages, embedding stage, objective), trained
// with ptp::torch::train_step_text on each batch (text_batch), evaluated on the selection split
// after every epoch; the best epoch's prompt and head are restored and evaluated once on the
// report split. This header assembles a run from its parts: run_config.hpp (what a run is
// given), inputs.hpp, prompt_model.hpp, step.hpp (the one step of every method),
// text_methods.hpp, trainer.hpp, evaluation.hpp; the checkpoint's tokenizer is here.
//
//   ptp::repro::run_config cfg;  cfg.method = "ptp-adv";  cfg.seed = 3;
//   ptp::repro::run_data data{.info = info(task::rte), .train = …, .select = …, .report = …};
//   auto result = ptp::repro::run(cfg, data);           // method chosen by name (method_table.hpp)
//   auto result = ptp::repro::run(cfg, data, reg);      // any ptp::regularizer (config.hpp)
//
// Determinism: at a fixed seed and thread count every run is bit-identical — torch's RNG
// (initialisation, dropout) is seeded with the run's seed, ptp's generator (perturbations,
// data order on its own stream) too, and at::set_num_threads fixes the reduction order.
// Every method starts from the same initial prompt/head and sees the same batches for a
// given seed, so methods are compared paired.
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/adapters/torch/encoders.hpp>
#include <ptp/ptp.hpp>
#include <ptp/text/tokenizers/load.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "cloze_head.hpp"
#include "evaluation.hpp"
#include "inputs.hpp"
#include "method_table.hpp"
#include "prompt_model.hpp"
#include "run_config.hpp"
#include "step.hpp"
#include "tasks.hpp"
#include "text_methods.hpp"
#include "trainer.hpp"

namespace ptp::repro {

// ==== tokenizer ================================================================================

/// The checkpoint's tokenizer (ptp::text::load_tokenizer) with the special-token ids the
/// runner needs; one vocabulary serves model inputs and bare pieces of text.
class model_tokenizer {
 public:
  explicit model_tokenizer(const fs::path& dir, std::size_t max_length)
      : t_(text::load_tokenizer(dir, {.truncation = {.max_length = max_length}, .offsets = text::offset_unit::bytes})),
        cls_(required(t_.special.cls, "[CLS] or <s>")),
        sep_(required(t_.special.sep, "[SEP] or </s>")),
        mask_(required(t_.special.mask, "[MASK] or <mask>")),
        pad_(required(t_.special.pad, "[PAD] or <pad>")) {}

  /// The model input for a text or pair: special tokens, truncation to max_length.
  [[nodiscard]] text::encoding encode(const data::text_pair& p) const {
    return p.second ? t_.tokenizer.encode(p.first, *p.second) : t_.tokenizer.encode(p.first);
  }
  /// A piece of text alone (no special tokens, no truncation), byte offsets; BPE pieces
  /// after the first word get their leading space (`continuation`).
  [[nodiscard]] text::encoding piece(std::string_view s, bool continuation) const {
    static constexpr text::pipeline_options plain{.offsets = text::offset_unit::bytes, .add_special_tokens = false};
    if (byte_level() && continuation) {
      auto e = t_.tokenizer.encode(" " + std::string(s), plain);
      for (auto& [b, en] : e.offsets) b = b ? b - 1 : 0, en = en ? en - 1 : 0;
      return e;
    }
    return t_.tokenizer.encode(s, plain);
  }
  [[nodiscard]] std::optional<std::uint32_t> id(std::string_view token) const { return t_.tokenizer.token_to_id(token); }
  [[nodiscard]] std::string token(std::uint32_t id) const { return t_.tokenizer.id_to_token(id).value_or(""); }
  [[nodiscard]] std::size_t vocab_size() const { return t_.tokenizer.vocab_size(); }
  [[nodiscard]] bool byte_level() const noexcept { return t_.tokenizer.byte_level(); }
  [[nodiscard]] std::int64_t cls() const noexcept { return cls_; }
  [[nodiscard]] std::int64_t sep() const noexcept { return sep_; }
  [[nodiscard]] std::int64_t mask() const noexcept { return mask_; }
  [[nodiscard]] std::int64_t pad() const noexcept { return pad_; }

 private:
  std::int64_t required(std::optional<std::uint32_t> id, const char* names) const {
    if (!id) throw std::runtime_error(t_.file.string() + ": the tokenizer has no " + names + " token");
    return *id;
  }
  text::loaded_tokenizer t_;
  std::int64_t cls_, sep_, mask_, pad_;
};

/// The WordNet-fitted masked-LM head for `model_dir` (cloze_head.hpp), with its tokenizer.
inline cloze_head_file fitted_cloze_head(const fs::path& model_dir) {
  const model_tokenizer t(model_dir, 64);
  const cloze_head_tokenizer ct{.encode = [&](const std::string& s) {
                                  const auto e = t.encode({s, std::nullopt});
                                  return std::vector<std::int64_t>(e.ids.begin(), e.ids.end());
                                },
                                .mask = t.mask(),
                                .pad = t.pad(),
                                .special = {t.cls(), t.sep(), t.pad(), t.mask()}};
  return ensure_cloze_head(model_dir, ct);
}

// ==== one run ==================================================================================

/// The trained run, handed to run_with_step's `on_trained` hook after the best epoch is
/// restored (ptp_landscape inspects the solution with it).
struct trained_run {
  prompt_model& model;
  const model_tokenizer& tok;
  const input_encoder<model_tokenizer>& enc;
  std::int64_t prompt_tokens;
  at::Device device;
};
using trained_hook = std::function<void(trained_run&)>;

/// One run's model, assembled the same way for training (run_with_step) and for reloading a
/// saved prompt (ptp_landscape): threads and torch seed set, the pretrained backbone loaded
/// frozen, the tokenizer, the input encoder and the prompt model on `device`.
struct run_model {
  run_model(const run_config& cfg, const run_data& data)
      : device(setup(cfg)),
        tok(cfg.model_dir, static_cast<std::size_t>(cfg.max_length)),
        prompt_tokens(prompt_slots(cfg, data.info.task)),
        enc(tok, data.info, cfg.head, prompt_tokens, cfg.max_length),
        model(load_backbone(cfg, device), cfg, data.info, enc.verbalizer_ids(), device) {}
  run_model(const run_model&) = delete;
  run_model& operator=(const run_model&) = delete;

  /// The view ptp_landscape and the on_trained hook work with.
  [[nodiscard]] trained_run trained() { return {model, tok, enc, prompt_tokens, device}; }

  at::Device device;
  model_tokenizer tok;
  std::int64_t prompt_tokens;
  input_encoder<model_tokenizer> enc;
  prompt_model model;

 private:
  static at::Device setup(const run_config& cfg) {
    at::set_num_threads(cfg.threads);
    ::torch::manual_seed(cfg.seed);
    if (cfg.device == "cuda" && !::torch::cuda::is_available()) throw std::runtime_error("--device cuda: LibTorch sees no CUDA device");
    return at::Device(cfg.device);
  }
  // The pretrained encoder, frozen; with --cloze-head fitted and no head in the checkpoint,
  // with the WordNet-fitted head (fitted and cached on first use, from its own seed; torch's
  // generator is re-seeded after, so the run draws the same either way).
  static ptp::torch::pretrained_encoder load_backbone(const run_config& cfg, const at::Device& device) {
    auto [enc, rep] = ptp::torch::load_pretrained_encoder(cfg.model_dir, {.freeze = true, .strict = false, .device = device});
    if (cfg.head != head_kind::cloze || cfg.cloze_head != "fitted" || enc->has_mlm_head()) return enc;
    const auto head = fitted_cloze_head(cfg.model_dir);
    ::torch::manual_seed(cfg.seed);
    return ptp::torch::load_pretrained_encoder(cfg.model_dir, {.freeze = true, .strict = false, .mlm_head_file = head.path, .device = device})
        .first;
  }
};

/// The run's text_resources: what text stages need from it (text_methods.hpp).
using run_text_resources = text_resources<model_tokenizer>;

/// Builds a run's step once its model exists (text stages take the run's tokenizer and
/// embeddings: text_resources).
using step_factory = std::function<step_function(run_text_resources&)>;

/// Trains and evaluates one run with the step `make` builds. See the file comment.
inline run_result run_with_step(const run_config& cfg, const run_data& data, const step_factory& make,
                                const trained_hook& on_trained = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  if (data.train.empty() || data.select.empty() || data.report.empty())
    throw std::invalid_argument("run: empty train, selection or report split");
  run_model rm(cfg, data);
  prompt_model& model = rm.model;
  const auto train = rm.enc.all(data.train), select = rm.enc.all(data.select), rep = rm.enc.all(data.report);
  const batch_setup setup{.model = model, .params = trained_parameters(cfg, model), .pad = rm.tok.pad(), .prompt_tokens = rm.prompt_tokens,
                          .device = rm.device, .head = cfg.head, .encode = [&rm](const example& ex) { return rm.enc(ex); },
                          .group = ptp::torch::distributed::joined()};
  const evaluator evaluate{.model = model, .batch_size = cfg.eval_batch_size, .pad = rm.tok.pad(), .prompt_tokens = rm.prompt_tokens,
                           .device = rm.device, .task = data.info.task, .group = ptp::torch::distributed::joined()};
  trainer t(cfg, data, setup, evaluate);
  run_text_resources resources(rm.tok, model.backbone()->word_embeddings->weight);  // outlives the step, whose stages refer to it
  run_result res = t.train(train, select, make(resources));
  res.report = evaluate(rep);
  res.majority = majority_rate(rep);
  res.report_size = rep.size();
  res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (on_trained) {
    trained_run tr = rm.trained();
    on_trained(tr);
  }
  return res;
}

/// Trains and evaluates one run with any regularizer built by the caller (e.g. through
/// ptp::config::experiment) — the compile-time configured experiments' entry point.
template <class Reg>
run_result run(const run_config& cfg, const run_data& data, Reg reg) {
  return run_with_step(cfg, data, [reg = std::move(reg)](run_text_resources&) { return make_step(reg); });
}

/// The step of method `name` (method_table.hpp) for this run.
inline step_function method_step(std::string_view name, const method_options& m, run_text_resources& run) {
  return with_method(name, [&](const auto& method) { return make_step(method.make(m, run)); });
}

/// One run of the method cfg.method.
inline run_result run_method(const run_config& cfg, const run_data& data, const trained_hook& on_trained = {}) {
  return run_with_step(cfg, data, [&](run_text_resources& r) { return method_step(cfg.method, cfg.m, r); }, on_trained);
}

inline run_result run(const run_config& cfg, const run_data& data) { return run_method(cfg, data); }

}  // namespace ptp::repro
