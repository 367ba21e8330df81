// ptp/adapters/torch/prompts.hpp — trainable prompts as torch::nn modules (docs/algorithms.md §5):
//  * soft_prompt       shallow prompt tuning: P×d vectors prepended to the input embeddings
//                      (random, sampled-vocabulary or text initialisation)
//  * ptuning_encoder   P-tuning (v1): Embedding → 2-layer BiLSTM → MLP, or the MLP alone
//  * prefix_encoder    P-tuning v2 deep prefix: per-layer key/value prefixes
// Each satisfies ptp's Prompt concept (parameters(), length()).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "ptp/adapters/torch/backend.hpp"
#include "ptp/concepts.hpp"
#include "ptp/prompt.hpp"
#include "ptp/random.hpp"

namespace ptp::torch {

namespace detail {

// [prompt; e_b] for every example: B×(P+L)×d; the prompt is broadcast over the batch and
// cast to e's device/dtype.
inline at::Tensor prepend(const at::Tensor& prompt, const at::Tensor& e) {
  if (e.dim() != 3 || e.size(2) != prompt.size(1))
    throw shape_error("ptp::torch prompt join: embeddings must be B×L×" + std::to_string(prompt.size(1)) + ", got " +
                      ptp::to_string(backend<at::Tensor>::shape(e)));
  auto p = prompt.to(e.device(), e.scalar_type()).unsqueeze(0).expand({e.size(0), -1, -1});
  return at::cat({p, e}, 1);
}

// Ones for `n` prompt positions, then `mask`: B×(n+L), in mask's dtype/device.
inline at::Tensor prepend_ones(const at::Tensor& mask, std::int64_t n) {
  if (mask.dim() != 2) throw shape_error("ptp::torch prompt mask: mask must be B×L, got " + ptp::to_string(backend<at::Tensor>::shape(mask)));
  return at::cat({at::ones({mask.size(0), n}, mask.options()), mask}, 1);
}

}  // namespace detail

/// The B×(P+L) perturbation mask of a joined input [prompt; e] for a perturbation_target
/// (ptp/prompt.hpp): ones on the prompt positions when the target includes the prompt,
/// `mask` on the input positions when it includes the input. Pass it with prompt->join(e)
/// (which requires grad through θ) to the regularizer, and a forward that takes the joined
/// input.
inline at::Tensor target_mask(const at::Tensor& mask, std::int64_t prompt_length, perturbation_target target) {
  if (mask.dim() != 2) throw shape_error("ptp::torch::target_mask: mask must be B×L, got " + ptp::to_string(backend<at::Tensor>::shape(mask)));
  const double on_prompt = target == perturbation_target::input ? 0.0 : 1.0;
  const auto input = target == perturbation_target::prompt ? at::zeros_like(mask) : mask;
  return at::cat({at::full({mask.size(0), prompt_length}, on_prompt, mask.options()), input}, 1);
}

/// Options of a soft_prompt.
struct soft_prompt_options {
  std::int64_t length = 20;   ///< P, prompt tokens
  std::int64_t width = 768;   ///< d, the model's embedding width
  double init_std = 0.02;     ///< σ of the random initialisation
};

/// The shallow soft prompt: a P×d parameter `weight` joined in front of the embeddings.
/// Initialisation (Lester et al. 2021): random N(0, σ²) from ptp's generator (this
/// constructor), sampled vocabulary rows or a text's embeddings (soft_prompt::from_vocabulary,
/// soft_prompt::from_text), or given weights.
/// @code
///   ptp::generator gen{.seed = 1};
///   ptp::torch::soft_prompt prompt(ptp::torch::soft_prompt_options{.length = 8, .width = 32}, gen);
///   auto x = prompt->join(e);  auto m = prompt->join_mask(mask);
/// @endcode
class soft_prompt_impl : public ::torch::nn::Module {
 public:
  /// Random initialisation N(0, init_std²) from ptp's generator (same bits as the host
  /// backends' ptp::soft_prompt for the same seed).
  soft_prompt_impl(soft_prompt_options o, generator& gen) : options_(o) {
    auto w = at::zeros({o.length, o.width}, at::kFloat);
    backend<at::Tensor>::fill_normal(w, gen, o.init_std);
    weight = register_parameter("weight", w);
  }
  /// Given weights (P×d), e.g. from a checkpoint.
  explicit soft_prompt_impl(at::Tensor weights) {
    if (weights.dim() != 2) throw shape_error("ptp::torch::soft_prompt: weights must be P×d, got " + ptp::to_string(backend<at::Tensor>::shape(weights)));
    options_ = {weights.size(0), weights.size(1), 0.0};
    weight = register_parameter("weight", weights.detach().clone());
  }

  std::size_t length() const { return static_cast<std::size_t>(weight.size(0)); }
  std::int64_t width() const { return weight.size(1); }
  /// The P×d prompt (the same for every example).
  at::Tensor forward() { return weight; }
  /// B×(P+L)×d model input, prompt first.
  at::Tensor join(const at::Tensor& e) { return detail::prepend(weight, e); }
  /// The attention mask of the joined input: P ones, then `mask`.
  at::Tensor join_mask(const at::Tensor& mask) const { return detail::prepend_ones(mask, weight.size(0)); }

  at::Tensor weight;

 private:
  soft_prompt_options options_;
};

/// Module holder for soft_prompt_impl (shared ownership, `prompt->join(e)`), with the
/// vocabulary and text initialisations.
class soft_prompt : public ::torch::nn::ModuleHolder<soft_prompt_impl> {
 public:
  using ::torch::nn::ModuleHolder<soft_prompt_impl>::ModuleHolder;

  /// `length` rows of `embedding_matrix` (V×d) drawn uniformly with ptp's generator.
  static soft_prompt from_vocabulary(const at::Tensor& embedding_matrix, std::int64_t length, generator& gen) {
    const auto V = static_cast<std::uint64_t>(embedding_matrix.size(0));
    std::vector<std::int64_t> ids(static_cast<std::size_t>(length));
    for (auto& id : ids) id = static_cast<std::int64_t>(gen.below(V));
    return soft_prompt(rows(embedding_matrix, ids));
  }
  /// The embeddings of `token_ids` (a task description, the class names), repeated
  /// cyclically to `length` rows.
  static soft_prompt from_text(const at::Tensor& embedding_matrix, const std::vector<std::int64_t>& token_ids,
                               std::int64_t length) {
    if (token_ids.empty()) throw std::invalid_argument("ptp::torch::soft_prompt::from_text: no token ids");
    std::vector<std::int64_t> ids(static_cast<std::size_t>(length));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = token_ids[i % token_ids.size()];
    return soft_prompt(rows(embedding_matrix, ids));
  }

 private:
  static at::Tensor rows(const at::Tensor& E, const std::vector<std::int64_t>& ids) {
    auto idx = at::tensor(ids, at::kLong).to(E.device());
    return E.detach().index_select(0, idx).to(at::kFloat).cpu();
  }
};

/// Options of a ptuning_encoder (THUDM/P-tuning PromptEncoder; PT-Fewshot).
struct ptuning_encoder_options {
  std::int64_t length = 8;        ///< prompt tokens [P]
  std::int64_t width = 128;       ///< output width d (and the embedding width)
  std::int64_t lstm_hidden = 0;   ///< per-direction LSTM width; 0: d/2 (THUDM/P-tuning; PT-Fewshot uses d)
  std::int64_t lstm_layers = 2;   ///< BiLSTM depth
  double lstm_dropout = 0.0;      ///< between LSTM layers
  bool mlp_only = false;          ///< skip the LSTM: Embedding → MLP
};

/// P-tuning's prompt encoder: Embedding(P, d) → 2-layer BiLSTM → MLP (Linear(2h, d) → ReLU →
/// Linear(d, d)); or, with mlp_only, Embedding → MLP (Linear(d, d) → ReLU → Linear(d, d)).
/// The prompt embeddings are recomputed by every forward pass (they are a function of the
/// encoder's parameters).
class ptuning_encoder_impl : public ::torch::nn::Module {
 public:
  explicit ptuning_encoder_impl(ptuning_encoder_options o) : options_(o) {
    if (o.lstm_hidden == 0) options_.lstm_hidden = o.width / 2;
    const auto h = options_.lstm_hidden;
    embedding = register_module("embedding", ::torch::nn::Embedding(o.length, o.width));
    if (!o.mlp_only)
      lstm = register_module("lstm", ::torch::nn::LSTM(::torch::nn::LSTMOptions(o.width, h)
                                                           .num_layers(o.lstm_layers)
                                                           .dropout(o.lstm_dropout)
                                                           .bidirectional(true)
                                                           .batch_first(true)));
    mlp = register_module("mlp", ::torch::nn::Sequential(::torch::nn::Linear(o.mlp_only ? o.width : 2 * h, o.width),
                                                         ::torch::nn::ReLU(), ::torch::nn::Linear(o.width, o.width)));
  }

  std::size_t length() const { return static_cast<std::size_t>(options_.length); }
  /// The P×d prompt embeddings.
  at::Tensor forward() {
    auto ids = at::arange(options_.length, at::TensorOptions().dtype(at::kLong).device(embedding->weight.device()));
    auto x = embedding->forward(ids).unsqueeze(0);  // 1×P×d
    if (!options_.mlp_only) x = std::get<0>(lstm->forward(x));
    return mlp->forward(x).squeeze(0);
  }
  at::Tensor join(const at::Tensor& e) { return detail::prepend(forward(), e); }
  at::Tensor join_mask(const at::Tensor& mask) const { return detail::prepend_ones(mask, options_.length); }
  const ptuning_encoder_options& options() const { return options_; }

  ::torch::nn::Embedding embedding{nullptr};
  ::torch::nn::LSTM lstm{nullptr};
  ::torch::nn::Sequential mlp{nullptr};

 private:
  ptuning_encoder_options options_;
};

class ptuning_encoder : public ::torch::nn::ModuleHolder<ptuning_encoder_impl> {
 public:
  using ::torch::nn::ModuleHolder<ptuning_encoder_impl>::ModuleHolder;
};

/// Options of a prefix_encoder (THUDM/P-tuning-v2 PrefixEncoder; docs/algorithms.md §5).
struct prefix_encoder_options {
  std::int64_t length = 16;           ///< psl, prefix tokens per layer
  std::int64_t layers = 12;           ///< backbone layers
  std::int64_t hidden = 768;          ///< backbone width
  std::int64_t heads = 12;            ///< attention heads (hidden % heads == 0)
  bool projection = false;            ///< Embedding → Linear(hidden, 512) → tanh → Linear(512, …)
  std::int64_t projection_hidden = 512;
  double dropout = 0.1;               ///< on the prefixes (P-tuning v2's hidden_dropout_prob)
};

/// One layer's prefix: keys and values, each B × heads × psl × head_dim.
struct layer_prefix {
  at::Tensor key, value;
};

/// P-tuning v2's deep prefix: Embedding(psl, layers·2·hidden) (or with the projection), reshaped
/// to per-layer key/value prefixes that the backbone's attention prepends to its own keys and
/// values; dropout 0.1. It adds no input tokens (length() = 0) but widens every layer's
/// attention mask by psl ones (extend_mask).
/// Layout: the layers·2 axis is layer-major, key before value, as in P-tuning v2's
/// `view(B, psl, 2·layers, heads, head_dim).permute(2, 0, 3, 1, 4).split(2)`.
class prefix_encoder_impl : public ::torch::nn::Module {
 public:
  explicit prefix_encoder_impl(prefix_encoder_options o) : options_(o) {
    if (o.hidden % o.heads != 0)
      throw std::invalid_argument("ptp::torch::prefix_encoder: hidden " + std::to_string(o.hidden) + " is not a multiple of heads " +
                                  std::to_string(o.heads));
    const auto out = o.layers * 2 * o.hidden;
    if (o.projection) {
      embedding = register_module("embedding", ::torch::nn::Embedding(o.length, o.hidden));
      transform = register_module("transform", ::torch::nn::Sequential(::torch::nn::Linear(o.hidden, o.projection_hidden),
                                                                       ::torch::nn::Tanh(),
                                                                       ::torch::nn::Linear(o.projection_hidden, out)));
    } else {
      embedding = register_module("embedding", ::torch::nn::Embedding(o.length, out));
    }
    dropout = register_module("dropout", ::torch::nn::Dropout(o.dropout));
  }

  /// Deep prefixes join no input tokens.
  std::size_t length() const { return 0; }
  std::int64_t prefix_length() const { return options_.length; }
  const prefix_encoder_options& options() const { return options_; }

  /// The raw prefix table psl × (layers·2·hidden), before reshape and dropout.
  at::Tensor table() {
    auto ids = at::arange(options_.length, at::TensorOptions().dtype(at::kLong).device(embedding->weight.device()));
    auto t = embedding->forward(ids);
    return options_.projection ? transform->forward(t) : t;
  }

  /// Per-layer prefixes for a batch of B, on `like`'s device and dtype (when given).
  std::vector<layer_prefix> forward(std::int64_t batch, const at::Tensor& like = {}) {
    const auto& o = options_;
    auto t = table();
    if (like.defined()) t = t.to(like.device(), like.scalar_type());
    auto kv = t.unsqueeze(0).expand({batch, -1, -1}).reshape({batch, o.length, 2 * o.layers, o.heads, o.hidden / o.heads});
    kv = dropout->forward(kv).permute({2, 0, 3, 1, 4});  // (2·layers) × B × heads × psl × head_dim
    std::vector<layer_prefix> out;
    out.reserve(static_cast<std::size_t>(o.layers));
    for (std::int64_t l = 0; l < o.layers; ++l) out.push_back({kv[2 * l], kv[2 * l + 1]});
    return out;
  }

  /// The attention mask over prefix + input: psl ones, then `mask` (B×(psl+L)).
  at::Tensor extend_mask(const at::Tensor& mask) const { return detail::prepend_ones(mask, options_.length); }

  ::torch::nn::Embedding embedding{nullptr};
  ::torch::nn::Sequential transform{nullptr};
  ::torch::nn::Dropout dropout{nullptr};

 private:
  prefix_encoder_options options_;
};

class prefix_encoder : public ::torch::nn::ModuleHolder<prefix_encoder_impl> {
 public:
  using ::torch::nn::ModuleHolder<prefix_encoder_impl>::ModuleHolder;
};

static_assert(ptp::Prompt<soft_prompt_impl, at::Tensor>);
static_assert(ptp::Prompt<ptuning_encoder_impl, at::Tensor>);
static_assert(ptp::Prompt<prefix_encoder_impl, at::Tensor>);

}  // namespace ptp::torch
