// examples/reproduce/prompt_model.hpp — the trained model around a pretrained encoder: the
// prompt (P-tuning v2 deep prefix, P-tuning encoder, or soft prompt) and the head (classifier
// or cloze), its forward pass from word embeddings, and the tensors a run trains and keeps.
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/adapters/torch/encoders.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "inputs.hpp"
#include "run_config.hpp"
#include "tasks.hpp"

namespace ptp::repro {

/// Prompt slots inside the input: the shallow prompts (soft, P-tuning) fill them; a deep
/// prefix needs none.
inline std::int64_t prompt_slots(const run_config& cfg, std::optional<data::task> t) {
  if (cfg.prompt == "ptuning" && cfg.pattern_id != 0) return cfg.pattern_id > 0 ? cfg.pattern_id : t == data::task::wsc ? 2 : 1;
  return cfg.prompt == "soft" || cfg.prompt == "ptuning" ? cfg.prefix_length : 0;
}

/// Prompt and head around a (usually frozen) pretrained encoder.
class prompt_model {
 public:
  prompt_model(ptp::torch::pretrained_encoder backbone, const run_config& cfg, const task_info& info,
               std::vector<std::int64_t> verbalizer_ids, const at::Device& device)
      : backbone_(std::move(backbone)), cfg_(cfg), info_(info), device_(device) {
    const auto& c = backbone_->config();
    parts_ = std::make_shared<::torch::nn::Module>();
    if (cfg.prompt == "prefix") {
      prefix_ = ptp::torch::prefix_encoder(ptp::torch::prefix_encoder_options{.length = cfg.prefix_length,
                                                                              .layers = c.num_attention_applications(),
                                                                              .hidden = c.hidden_size,
                                                                              .heads = c.num_attention_heads,
                                                                              .projection = cfg.prefix_projection,
                                                                              .projection_hidden = cfg.prefix_hidden,
                                                                              .dropout = cfg.prompt_dropout});
      parts_->register_module("prefix", prefix_.ptr());
    } else if (cfg.prompt == "ptuning") {
      ptuning_ = ptp::torch::ptuning_encoder(ptp::torch::ptuning_encoder_options{.length = prompt_slots(cfg, info.task), .width = c.embedding_size,
                                                                                     .lstm_hidden = c.embedding_size});  // PT-Fewshot wrapper.py: LSTM d per direction, Linear(2d, d)
      parts_->register_module("ptuning", ptuning_.ptr());
    } else if (cfg.prompt == "soft") {
      ptp::generator g{.seed = cfg.seed, .stream = 0x50524F4D5054ull};  // "PROMPT"
      soft_ = ptp::torch::soft_prompt::from_vocabulary(backbone_->word_embeddings->weight, cfg.prefix_length, g);
      parts_->register_module("soft", soft_.ptr());
    } else if (cfg.prompt != "none") {
      throw std::invalid_argument("unknown prompt '" + cfg.prompt + "' (prefix, ptuning, soft, none)");
    }
    if (cfg.head == head_kind::cloze && cfg.cloze_head == "classifier") {
      if (info.verbalizer.empty()) throw std::invalid_argument("--cloze-head classifier needs a verbalizer task (not COPA or WSC)");
      dropout_ = ::torch::nn::Dropout(c.hidden_dropout_prob);
      classifier_ = ::torch::nn::Linear(c.hidden_size, static_cast<std::int64_t>(info.labels));
      parts_->register_module("dropout", dropout_);
      parts_->register_module("classifier", classifier_);
    } else if (cfg.cloze_head != "auto" && cfg.cloze_head != "fitted") {
      throw std::invalid_argument("unknown --cloze-head '" + cfg.cloze_head + "' (auto, fitted, classifier)");
    } else if (cfg.head == head_kind::classifier) {
      dropout_ = ::torch::nn::Dropout(c.hidden_dropout_prob);
      classifier_ = ::torch::nn::Linear(c.hidden_size, info.multiple_choice ? 1 : static_cast<std::int64_t>(info.labels));
      parts_->register_module("dropout", dropout_);
      parts_->register_module("classifier", classifier_);
    } else {
      verbalizer_ = at::tensor(verbalizer_ids, at::kLong).to(device);
      if (!backbone_->has_mlm_head()) {
        // **our choice**: the checkpoint has no masked-LM head (MiniLM ships the bare
        // encoder), so the cloze head is a trainable transform Linear(H, E) → GELU →
        // LayerNorm, decoded by the tied (frozen) word-embedding matrix.
        mlm_dense_ = ::torch::nn::Linear(c.hidden_size, c.embedding_size);
        mlm_norm_ = ::torch::nn::LayerNorm(::torch::nn::LayerNormOptions({c.embedding_size}).eps(c.layer_norm_eps));
        parts_->register_module("mlm_dense", mlm_dense_);
        parts_->register_module("mlm_norm", mlm_norm_);
      }
    }
    parts_->to(device);
    for (auto& p : backbone_->parameters()) p.set_requires_grad(false);
    if (cfg.tune_word_embeddings && !cfg.tune_backbone)
      throw std::invalid_argument("--tune-word-embeddings needs --tune-backbone");
    if (cfg.tune_backbone)
      for (auto& np : backbone_->named_parameters())
        if (cfg.tune_word_embeddings || np.key().rfind("word_embeddings", 0) != 0) np.value().set_requires_grad(true);
  }

  /// Whether the cloze head is our trainable transform (the checkpoint has no MLM head).
  [[nodiscard]] bool own_mlm_transform() const { return !mlm_dense_.is_empty(); }
  [[nodiscard]] ptp::torch::pretrained_encoder& backbone() { return backbone_; }
  /// The prompt and head modules.
  [[nodiscard]] ::torch::nn::Module& parts() { return *parts_; }

  /// Writes what this run trained (prompt and head; the backbone too when it was tuned)
  /// atomically to `path` (ptp::torch::save_checkpoint).
  void save(const fs::path& path) { ptp::torch::save_checkpoint(path, *checkpoint_module()); }

  /// Loads a checkpoint written by save() by a run of the same configuration; a mismatch
  /// (another prompt, head, prefix length or backbone tuning) is ptp::torch::load_checkpoint's
  /// error naming the file and the tensor.
  void load(const fs::path& path) { ptp::torch::load_checkpoint(path, *checkpoint_module()); }

  /// Trainable prompt/head parameters.
  [[nodiscard]] std::vector<at::Tensor> head_parameters() const { return parts_->parameters(); }
  /// The prompt's parameters (`prompt` true) or the head's (classifier, or our cloze transform).
  [[nodiscard]] std::vector<at::Tensor> parts_parameters(bool prompt) const {
    std::vector<at::Tensor> out;
    for (auto& np : parts_->named_parameters()) {
      const auto& k = np.key();
      const bool is_prompt = k.starts_with("prefix.") || k.starts_with("ptuning.") || k.starts_with("soft.");
      if (is_prompt == prompt) out.push_back(np.value());
    }
    return out;
  }
  /// Trainable backbone parameters (empty when frozen).
  [[nodiscard]] std::vector<at::Tensor> backbone_parameters() const {
    std::vector<at::Tensor> out;
    for (auto& p : backbone_->parameters())
      if (p.requires_grad()) out.push_back(p);
    return out;
  }
  /// The trainable backbone parameters that take weight decay (`decayed`) or not: biases and
  /// norm weights take none, as in PET's and transformers' recipes (no_decay = bias, LayerNorm.weight).
  [[nodiscard]] std::vector<at::Tensor> backbone_parameters(bool decayed) const {
    std::vector<at::Tensor> out;
    for (auto& np : backbone_->named_parameters()) {
      if (!np.value().requires_grad()) continue;
      const auto& k = np.key();
      const bool no_decay = k.ends_with("bias") || k.ends_with("norm.weight");
      if (no_decay != decayed) out.push_back(np.value());
    }
    return out;
  }
  [[nodiscard]] std::vector<std::shared_ptr<::torch::nn::Module>> modules() const { return {backbone_.ptr(), parts_}; }

  /// Word embeddings of a batch: no graph (δ and the prompt are what is trained) unless the
  /// word embeddings are tuned, when the regularizer's passes flow into them as well.
  [[nodiscard]] at::Tensor embed(const batch& b) {
    if (cfg_.tune_word_embeddings) return backbone_->embed_words(b.ids);
    ::torch::NoGradGuard ng;
    return backbone_->embed_words(b.ids);
  }

  /// Logits B×C of `b` from word embeddings `e` (R×L×E) and attention mask (R×L).
  at::Tensor forward(const batch& b, const at::Tensor& e, const at::Tensor& attention) {
    auto x = e;
    auto types = b.types;
    auto mask = attention;
    const auto R = x.size(0), L = x.size(1), E = x.size(2);
    if (!soft_.is_empty() || !ptuning_.is_empty()) {
      auto P = (!soft_.is_empty() ? soft_->forward() : ptuning_->forward()).to(x.scalar_type());  // n×E
      const auto n = P.size(0);
      if (cfg_.head == head_kind::cloze) {
        auto table = at::cat({P, at::zeros({1, E}, P.options())}, 0);
        auto full = table.index_select(0, b.prompt_slot.reshape({-1})).view({R, L, E});
        x = at::where(b.is_prompt.unsqueeze(-1), full, x);
      } else {  // shallow prompt right after [CLS]
        x = at::cat({x.narrow(1, 0, 1), P.unsqueeze(0).expand({R, n, E}), x.narrow(1, 1, L - 1)}, 1);
        types = at::cat({types.narrow(1, 0, 1), at::zeros({R, n}, types.options()), types.narrow(1, 1, L - 1)}, 1);
        mask = at::cat({mask.narrow(1, 0, 1), at::ones({R, n}, mask.options()), mask.narrow(1, 1, L - 1)}, 1);
      }
    }
    ptp::torch::kv_prefixes prefixes;
    if (!prefix_.is_empty())
      for (auto& lp : prefix_->forward(R, x)) prefixes.emplace_back(lp.key, lp.value);
    const auto out = backbone_->forward_embeds(x, types, mask, prefixes);
    if (cfg_.head == head_kind::classifier) {
      auto pooled = out.pooled_output.defined() ? out.pooled_output : out.last_hidden_state.select(1, 0);
      auto z = classifier_->forward(dropout_->forward(pooled));
      return info_.multiple_choice ? z.view({-1, b.choices}) : z;
    }
    const auto H = out.last_hidden_state.size(2);
    auto h = out.last_hidden_state.gather(1, b.mask_positions.unsqueeze(-1).expand({-1, -1, H}));  // R×M×H
    if (!classifier_.is_empty()) return classifier_->forward(dropout_->forward(h.select(1, 0)));  // --cloze-head classifier
    at::Tensor lm;
    if (own_mlm_transform())
      lm = at::linear(mlm_norm_->forward(at::gelu(mlm_dense_->forward(h))), backbone_->word_embeddings->weight);
    else
      lm = backbone_->mlm_logits(h);  // R×M×V
    if (info_.verbalizer.empty()) {  // candidates: Σ_t log p(c_t) over each candidate's tokens
      auto logp = at::log_softmax(lm, -1);                                       // R×M×V
      auto idx = b.candidates.transpose(1, 2);                                    // R×M×C
      auto lp = logp.gather(2, idx).transpose(1, 2);                              // R×C×M
      return (lp * b.candidate_valid).sum(-1);                                    // R×C
    }
    return lm.select(1, 0).index_select(1, verbalizer_);
  }

  /// The module a checkpoint holds: "parts", plus "backbone" when the backbone is tuned.
  [[nodiscard]] std::shared_ptr<::torch::nn::Module> checkpoint_module() const {
    auto m = std::make_shared<::torch::nn::Module>();
    m->register_module("parts", parts_);
    if (cfg_.tune_backbone) m->register_module("backbone", backbone_.ptr());
    return m;
  }

  /// A copy of every trainable tensor (prompt, head, tuned backbone) — the best epoch.
  [[nodiscard]] std::vector<at::Tensor> snapshot() const {
    std::vector<at::Tensor> out;
    ::torch::NoGradGuard ng;
    for (auto& p : trainable()) out.push_back(p.detach().clone());
    return out;
  }
  void restore(const std::vector<at::Tensor>& s) {
    ::torch::NoGradGuard ng;
    auto t = trainable();
    for (std::size_t i = 0; i < t.size(); ++i) t[i].copy_(s[i]);
  }

 private:
  [[nodiscard]] std::vector<at::Tensor> trainable() const {
    auto v = head_parameters();
    for (auto& p : backbone_parameters()) v.push_back(p);
    return v;
  }

  ptp::torch::pretrained_encoder backbone_;
  run_config cfg_;
  task_info info_;
  at::Device device_;
  std::shared_ptr<::torch::nn::Module> parts_;
  ptp::torch::prefix_encoder prefix_{nullptr};
  ptp::torch::ptuning_encoder ptuning_{nullptr};
  ptp::torch::soft_prompt soft_{nullptr};
  ::torch::nn::Dropout dropout_{nullptr};
  ::torch::nn::Linear classifier_{nullptr}, mlm_dense_{nullptr};
  ::torch::nn::LayerNorm mlm_norm_{nullptr};
  at::Tensor verbalizer_;
};

}  // namespace ptp::repro
