// ptp/adapters/torch/encoders.hpp — pretrained BERT, RoBERTa, ALBERT and MPNet encoders as
// torch::nn modules, loaded from Hugging Face checkpoints (config.json + model.safetensors).
//
// Our own implementation, written from the architectures' descriptions and checked
// number-for-number against `transformers` (tests/adapters/torch/test_encoders_parity.cpp).
// What ptp needs from them:
//
//  * Perturbable input embeddings. The forward pass is split so that a regularizer can act on
//    the *word* embeddings alone, before position and token-type embeddings are added and the
//    embedding LayerNorm is applied:
//        auto e = model->embed_words(ids);                       // [B, L, E]
//        auto out = model->forward_embeds(e + delta, types, mask, prefixes);
//    This is the choice FreeLB, SMART and transformers' NEFTune make (they perturb
//    `inputs_embeds`, i.e. the word-embedding lookup), so δ never touches positional
//    information and a zero δ reproduces the clean pass exactly.
//  * P-tuning v2 deep prompts. `prefixes` holds one (key, value) pair per attention layer,
//    each [B (or 1), heads, psl, head_dim]; in every layer they are concatenated in front of
//    the sequence's own keys and values, and the attention mask is extended with psl ones.
//    As in transformers (which treats such prefixes as `past_key_values`, the mechanism
//    THUDM/P-tuning-v2 uses), the token positions then start at psl: option
//    `prefix_shifts_positions` (default true) — set it false to keep positions at 0.
//  * MPNet adds, in every layer, one relative-position bias shared by all layers (a learned
//    value per head and distance bucket). transformers' MPNet takes no past keys, so what a
//    prefix key gets is **our choice**: bias 0 — the prefixes are position-free, every token
//    sees them alike — while the token-to-token bias is the unprefixed one (distances between
//    real tokens do not change when a prefix is put in front).
//  * Frozen weights without duplicates: the loader copies each checkpoint tensor straight from
//    the memory-mapped file into the module's parameter, sets requires_grad = false by default,
//    and ties the masked-LM decoder to the word-embedding matrix (one tensor, not two).
//
// Attention masks follow transformers' fp32 semantics: an additive bias of 0 for attended
// keys and the dtype's lowest finite value (finfo.min) for masked ones, so an all-padding row
// yields uniform attention instead of NaN. Attention runs through
// at::scaled_dot_product_attention (fused kernels) by default; attention_backend::math is the
// explicit softmax(QKᵀ/√d + mask)·V formulation, kept for checking the fused path.
#pragma once

#include <ptp/adapters/torch/hf_config.hpp>
#include <ptp/adapters/torch/safetensors.hpp>

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ptp::torch {

/// Per-layer P-tuning v2 prefixes: one (key, value) pair per attention layer, each
/// [B or 1, num_attention_heads, psl, head_dim]; empty means no prefix.
using kv_prefixes = std::vector<std::pair<::torch::Tensor, ::torch::Tensor>>;

/// How attention is computed. `fused` (default) calls at::scaled_dot_product_attention and
/// lets ATen pick a kernel; `math` is the explicit formulation (reference, and the only one
/// that materialises the [B, heads, L, psl+L] score matrix).
enum class attention_backend { fused, math };

/// Construction options of a pretrained_encoder.
struct encoder_options {
  encoder_config config{};
  bool with_pooler = true;          ///< tanh(Linear(h[CLS])) — present in most base checkpoints
  bool with_mlm_head = false;       ///< the masked-LM head (decoder tied to the word embeddings)
  bool prefix_shifts_positions = true;  ///< positions start at psl when prefixes are given (HF/P-tuning v2)
  attention_backend attention = attention_backend::fused;
};

/// What a forward pass returns.
struct encoder_output {
  ::torch::Tensor last_hidden_state;  ///< [B, L, H]
  ::torch::Tensor pooled_output;      ///< [B, H]; undefined when the model has no pooler
};

/// Thrown by the loader and by forward calls given inconsistent inputs.
class encoder_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

inline ::torch::Tensor apply_activation(const std::string& name, const ::torch::Tensor& x) {
  if (name == "gelu") return ::torch::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return ::torch::gelu(x, "tanh");
  if (name == "relu") return ::torch::relu(x);
  if (name == "silu" || name == "swish") return ::torch::silu(x);
  if (name == "tanh") return ::torch::tanh(x);
  throw encoder_error("unsupported activation '" + name + "'");
}

/// The lowest finite value of a floating dtype (transformers' finfo.min mask value).
inline double lowest_finite(c10::ScalarType t) {
  switch (t) {
    case c10::kDouble: return std::numeric_limits<double>::lowest();
    case c10::kFloat: return std::numeric_limits<float>::lowest();
    case c10::kHalf: return -65504.0;
    case c10::kBFloat16: return -3.3895313892515355e38;
    default: throw encoder_error("attention masks need a floating dtype");
  }
}

/// MPNet's relative-position buckets [L, L] for query i and key j: 32 buckets, the upper 16
/// for keys right of the query; distances below 8 each get their own bucket, longer ones
/// share log-spaced buckets that saturate at 128. The log runs in float32 as in transformers
/// (MPNetEncoder.relative_position_bucket): float rounding decides the distances 16, 32 and
/// 64, so a double would move them to another bucket.
inline ::torch::Tensor relative_position_buckets(std::int64_t l, const ::torch::Device& device) {
  constexpr std::int64_t half = 16, exact = 8;
  constexpr double max_distance = 128;
  auto pos = ::torch::arange(l, ::torch::TensorOptions().dtype(::torch::kLong).device(device));
  auto offset = pos.unsqueeze(0) - pos.unsqueeze(1);  // [i][j] = j − i
  auto n = offset.abs();
  auto far = (::torch::log(n.to(::torch::kFloat) / exact) / std::log(max_distance / exact) * (half - exact))
                 .to(::torch::kLong) + exact;  // n = 0 gives log 0 here, but takes the exact branch
  return offset.gt(0).to(::torch::kLong) * half + ::torch::where(n.lt(exact), n, far.clamp_max(half - 1));
}

/// One transformer block: self-attention (+ optional key/value prefix), residual LayerNorm,
/// feed-forward, residual LayerNorm. The same arithmetic serves BERT/RoBERTa (BertLayer),
/// MPNet (MPNetLayer; its position bias arrives folded into the mask) and ALBERT
/// (AlbertLayer); only ALBERT omits the dropout after the feed-forward output.
struct transformer_layer_impl : ::torch::nn::Module {
  transformer_layer_impl(const encoder_config& c, bool ffn_dropout)
      : heads(c.num_attention_heads), head_dim(c.head_dim()), act(c.hidden_act),
        hidden_dropout(c.hidden_dropout_prob), attention_dropout(c.attention_probs_dropout_prob),
        dropout_after_ffn(ffn_dropout) {
    using namespace ::torch::nn;
    const auto h = c.hidden_size;
    query = register_module("query", Linear(h, h));
    key = register_module("key", Linear(h, h));
    value = register_module("value", Linear(h, h));
    attention_output = register_module("attention_output", Linear(h, h));
    attention_norm = register_module("attention_norm", LayerNorm(LayerNormOptions({h}).eps(c.layer_norm_eps)));
    intermediate = register_module("intermediate", Linear(h, c.intermediate_size));
    output = register_module("output", Linear(c.intermediate_size, h));
    output_norm = register_module("output_norm", LayerNorm(LayerNormOptions({h}).eps(c.layer_norm_eps)));
  }

  /// x [B, L, H]; mask additive [B, 1, 1, psl + L], or [B, heads, L, psl + L] with MPNet's
  /// position bias added; prefix key/value [B, heads, psl, d] or undefined.
  ::torch::Tensor forward(const ::torch::Tensor& x, const ::torch::Tensor& mask, const ::torch::Tensor& prefix_key,
                          const ::torch::Tensor& prefix_value, attention_backend backend, bool train) {
    const auto b = x.size(0), l = x.size(1);
    auto split = [&](const ::torch::Tensor& t) { return t.view({b, l, heads, head_dim}).transpose(1, 2); };
    auto q = split(query(x));
    auto k = split(key(x));
    auto v = split(value(x));
    if (prefix_key.defined()) {
      k = ::torch::cat({prefix_key.expand({b, -1, -1, -1}).to(k.scalar_type()), k}, 2);
      v = ::torch::cat({prefix_value.expand({b, -1, -1, -1}).to(v.scalar_type()), v}, 2);
    }
    const double p = train ? attention_dropout : 0.0;
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    ::torch::Tensor ctx;
    if (backend == attention_backend::fused) {
      ctx = at::scaled_dot_product_attention(q, k, v, mask, p, false, scale);
    } else {
      auto scores = ::torch::matmul(q, k.transpose(-2, -1)) * scale + mask;
      auto probs = ::torch::softmax(scores, -1);
      if (p > 0) probs = ::torch::dropout(probs, p, true);
      ctx = ::torch::matmul(probs, v);
    }
    ctx = ctx.transpose(1, 2).reshape({b, l, heads * head_dim});
    auto a = ::torch::dropout(attention_output(ctx), hidden_dropout, train);
    a = attention_norm(a + x);
    auto f = output(apply_activation(act, intermediate(a)));
    if (dropout_after_ffn) f = ::torch::dropout(f, hidden_dropout, train);
    return output_norm(f + a);
  }

  std::int64_t heads, head_dim;
  std::string act;
  double hidden_dropout, attention_dropout;
  bool dropout_after_ffn;
  ::torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, attention_output{nullptr};
  ::torch::nn::LayerNorm attention_norm{nullptr};
  ::torch::nn::Linear intermediate{nullptr}, output{nullptr};
  ::torch::nn::LayerNorm output_norm{nullptr};
};
/// Module holder of transformer_layer_impl (TORCH_MODULE spelled out: the macro names
/// `torch::nn` unqualified, which inside ptp::torch would find this namespace).
class transformer_layer : public ::torch::nn::ModuleHolder<transformer_layer_impl> {
 public:
  using ::torch::nn::ModuleHolder<transformer_layer_impl>::ModuleHolder;
  using Impl = transformer_layer_impl;
};

}  // namespace detail

/// A BERT / RoBERTa / ALBERT / MPNet encoder with optional pooler and masked-LM head.
///
/// @code
/// auto [model, report] = ptp::torch::load_pretrained_encoder("all-MiniLM-L6-v2");  // a checkpoint folder
/// model->eval();
/// auto out = model->infer(ids, mask);               // c10::InferenceMode, no dropout
/// auto e = model->embed_words(ids);                 // perturb word embeddings only ...
/// auto y = model->forward_embeds(e + delta, {}, mask);  // ... then the rest of the model
/// @endcode
/// Parameters are named after our own layout (word_embeddings, layers.3.query, ...);
/// hf_parameter_names() maps each to its Hugging Face checkpoint name.
class pretrained_encoder_impl : public ::torch::nn::Module {
 public:
  explicit pretrained_encoder_impl(encoder_options o) : opts_(std::move(o)) {
    using namespace ::torch::nn;
    const auto& c = opts_.config;
    c.validate();
    const auto e = c.embedding_size, h = c.hidden_size;
    word_embeddings = register_module("word_embeddings", Embedding(c.vocab_size, e));
    position_embeddings = register_module("position_embeddings", Embedding(c.max_position_embeddings, e));
    if (c.has_token_types())
      token_type_embeddings = register_module("token_type_embeddings", Embedding(c.type_vocab_size, e));
    embedding_norm = register_module("embedding_norm", LayerNorm(LayerNormOptions({e}).eps(c.layer_norm_eps)));
    if (c.family == encoder_family::albert)
      embedding_projection = register_module("embedding_projection", Linear(e, h));
    layers = register_module("layers", ModuleList());
    const auto stored = c.family == encoder_family::albert ? c.num_hidden_groups * c.inner_group_num
                                                           : c.num_hidden_layers;
    for (std::int64_t i = 0; i < stored; ++i)
      layers->push_back(detail::transformer_layer(c, c.family != encoder_family::albert));
    if (c.family == encoder_family::mpnet)
      relative_attention_bias =
          register_module("relative_attention_bias", Embedding(c.relative_attention_num_buckets, c.num_attention_heads));
    if (opts_.with_pooler) pooler = register_module("pooler", Linear(h, h));
    if (opts_.with_mlm_head) {
      const auto head_width = c.family == encoder_family::albert ? e : h;
      mlm_dense = register_module("mlm_dense", Linear(h, head_width));
      mlm_norm = register_module("mlm_norm", LayerNorm(LayerNormOptions({head_width}).eps(c.layer_norm_eps)));
      mlm_bias = register_parameter("mlm_bias", ::torch::zeros({c.vocab_size}));
    }
  }

  const encoder_options& options() const noexcept { return opts_; }
  const encoder_config& config() const noexcept { return opts_.config; }
  bool has_pooler() const noexcept { return !pooler.is_empty(); }
  bool has_mlm_head() const noexcept { return !mlm_dense.is_empty(); }
  void set_attention_backend(attention_backend b) noexcept { opts_.attention = b; }

  /// Word-embedding lookup only: ids [B, L] (int64) → [B, L, embedding_size].
  ::torch::Tensor embed_words(const ::torch::Tensor& input_ids) { return word_embeddings(input_ids); }

  /// The position ids a forward pass uses for `attention_mask` [B, L] after `past` prefix
  /// positions. BERT/ALBERT: past, past+1, ... regardless of padding. RoBERTa/MPNet:
  /// fairseq-style positions computed from the mask (what transformers computes from the
  /// ids): real tokens get pad_token_id + past + (1, 2, ...), padding gets pad_token_id.
  ::torch::Tensor position_ids(const ::torch::Tensor& attention_mask, std::int64_t past = 0) const {
    const auto& c = opts_.config;
    const auto l = attention_mask.size(1);
    ::torch::Tensor pos;
    if (c.positions_after_padding_idx()) {
      auto m = attention_mask.ne(0).to(::torch::kLong);
      pos = (::torch::cumsum(m, 1) + past) * m + c.pad_token_id;
    } else {
      pos = ::torch::arange(past, past + l, attention_mask.options().dtype(::torch::kLong))
                .unsqueeze(0)
                .expand({attention_mask.size(0), l});
    }
    const auto needed = c.positions_after_padding_idx() ? c.pad_token_id + past + l + 1 : past + l;
    if (needed > c.max_position_embeddings)
      throw encoder_error("sequence of " + std::to_string(l) + " tokens" +
                          (past ? " after " + std::to_string(past) + " prefix positions" : std::string{}) +
                          " needs " + std::to_string(needed) + " positions; the model has " +
                          std::to_string(c.max_position_embeddings));
    return pos;
  }

  /// Everything after the word-embedding lookup.
  /// @param word_embeds [B, L, embedding_size] (e.g. embed_words(ids) + δ)
  /// @param token_type_ids [B, L] int64, or undefined for all-zero types (RoBERTa has one type;
  ///        MPNet none, so there it must be undefined or all zero)
  /// @param attention_mask [B, L] (1 = token, 0 = padding; any dtype), or undefined for all ones
  /// @param prefixes per-layer (key, value) prefixes, see kv_prefixes; empty for none
  encoder_output forward_embeds(const ::torch::Tensor& word_embeds, const ::torch::Tensor& token_type_ids = {},
                                const ::torch::Tensor& attention_mask = {}, const kv_prefixes& prefixes = {}) {
    const auto& c = opts_.config;
    if (word_embeds.dim() != 3 || word_embeds.size(2) != c.embedding_size)
      throw encoder_error("word embeddings must be [B, L, " + std::to_string(c.embedding_size) + "], got " +
                          shape_string(word_embeds));
    const auto b = word_embeds.size(0), l = word_embeds.size(1);
    const auto psl = check_prefixes(prefixes, b);
    auto mask = attention_mask.defined() ? attention_mask.to(word_embeds.device())
                                         : ::torch::ones({b, l}, word_embeds.options().dtype(::torch::kLong));
    if (mask.dim() != 2 || mask.size(0) != b || mask.size(1) != l)
      throw encoder_error("attention mask must be [" + std::to_string(b) + ", " + std::to_string(l) + "], got " +
                          shape_string(mask));
    if (token_type_ids.defined() && token_type_ids.sizes() != mask.sizes())
      throw encoder_error("token type ids must be [" + std::to_string(b) + ", " + std::to_string(l) + "], got " +
                          shape_string(token_type_ids));
    const bool train = is_training() && !c10::InferenceMode::is_enabled();

    auto pos = position_ids(mask, opts_.prefix_shifts_positions ? psl : 0);
    auto x = word_embeds;
    if (c.has_token_types())  // added before the positions: transformers' order, bit for bit
      x = x + token_type_embeddings(token_type_ids.defined() ? token_type_ids.to(word_embeds.device())
                                                             : ::torch::zeros({b, l}, mask.options().dtype(::torch::kLong)));
    else if (token_type_ids.defined() && token_type_ids.ne(0).any().item<bool>())
      throw encoder_error(std::string(to_string(c.family)) + " has no token types; got non-zero token_type_ids");
    x = x + position_embeddings(pos);
    x = ::torch::dropout(embedding_norm(x), c.hidden_dropout_prob, train);
    if (!embedding_projection.is_empty()) x = embedding_projection(x);

    auto additive = additive_mask(mask, psl, x.scalar_type());
    if (!relative_attention_bias.is_empty()) additive = additive + relative_position_bias(l, psl).to(x.scalar_type());
    auto run = [&](std::int64_t stored, std::int64_t applied) {
      auto& blk = layer(stored);
      const ::torch::Tensor none;
      x = psl ? blk.forward(x, additive, prefixes[applied].first, prefixes[applied].second, opts_.attention, train)
              : blk.forward(x, additive, none, none, opts_.attention, train);
    };
    if (c.family == encoder_family::albert) {
      const auto per_group = c.num_hidden_layers / c.num_hidden_groups;
      for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
        for (std::int64_t k = 0; k < c.inner_group_num; ++k)
          run((i / per_group) * c.inner_group_num + k, i * c.inner_group_num + k);
    } else {
      for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) run(i, i);
    }
    encoder_output out;
    out.last_hidden_state = x;
    if (!pooler.is_empty()) out.pooled_output = ::torch::tanh(pooler(x.select(1, 0)));
    return out;
  }

  /// The whole model from token ids [B, L] (int64).
  encoder_output forward(const ::torch::Tensor& input_ids, const ::torch::Tensor& attention_mask = {},
                         const ::torch::Tensor& token_type_ids = {}, const kv_prefixes& prefixes = {}) {
    return forward_embeds(embed_words(input_ids), token_type_ids, attention_mask, prefixes);
  }

  /// Evaluation path: forward() under c10::InferenceMode (no autograd bookkeeping, no
  /// dropout). The returned tensors are inference tensors: read them, do not feed them to
  /// autograd.
  encoder_output infer(const ::torch::Tensor& input_ids, const ::torch::Tensor& attention_mask = {},
                       const ::torch::Tensor& token_type_ids = {}, const kv_prefixes& prefixes = {}) {
    c10::InferenceMode guard;
    return forward(input_ids, attention_mask, token_type_ids, prefixes);
  }

  /// Masked-LM logits [B, L, vocab] from last_hidden_state; the decoder is the word-embedding
  /// matrix itself (tied). Throws if the model was built without the head.
  ::torch::Tensor mlm_logits(const ::torch::Tensor& hidden) {
    if (!has_mlm_head()) throw encoder_error("this encoder has no masked-LM head");
    // RoBERTa's and MPNet's lm_head always use exact GELU; BERT and ALBERT the config's activation
    const auto& act = opts_.config.has_lm_head_module() ? std::string("gelu") : opts_.config.hidden_act;
    auto t = mlm_norm(detail::apply_activation(act, mlm_dense(hidden)));
    return ::torch::linear(t, word_embeddings->weight, mlm_bias);
  }

  /// Maps each of our parameters to its Hugging Face name (without the base-model prefix
  /// "bert." / "roberta." / "albert." / "mpnet.", which the loader adds when the checkpoint uses it),
  /// plus accepted alternative names. The MLM-head names are absolute. The tied decoder
  /// weight is not a parameter of ours; see load_pretrained_encoder.
  struct hf_name {
    std::string name;
    std::vector<std::string> aliases;  ///< older spellings (LayerNorm.gamma/beta) or tied twins
    ::torch::Tensor tensor;
    bool in_base = true;  ///< true: lives under the base-model prefix
  };
  std::vector<hf_name> hf_parameter_names() {
    const auto& c = opts_.config;
    std::vector<hf_name> out;
    auto add = [&](std::string name, ::torch::Tensor t, bool in_base = true, std::vector<std::string> aliases = {}) {
      out.push_back({std::move(name), std::move(aliases), std::move(t), in_base});
    };
    auto add_linear = [&](const std::string& n, ::torch::nn::Linear& m, bool in_base = true) {
      add(n + ".weight", m->weight, in_base);
      add(n + ".bias", m->bias, in_base);
    };
    auto add_norm = [&](const std::string& n, ::torch::nn::LayerNorm& m, bool in_base = true) {
      add(n + ".weight", m->weight, in_base, {n + ".gamma"});
      add(n + ".bias", m->bias, in_base, {n + ".beta"});
    };
    // one transformer layer's eight sub-modules, under each family's own names
    struct layer_names {
      const char *query, *key, *value, *attention_output, *attention_norm, *intermediate, *output, *output_norm;
    };
    auto add_layer = [&](const std::string& p, detail::transformer_layer_impl& L, const layer_names& n) {
      add_linear(p + n.query, L.query);
      add_linear(p + n.key, L.key);
      add_linear(p + n.value, L.value);
      add_linear(p + n.attention_output, L.attention_output);
      add_norm(p + n.attention_norm, L.attention_norm);
      add_linear(p + n.intermediate, L.intermediate);
      add_linear(p + n.output, L.output);
      add_norm(p + n.output_norm, L.output_norm);
    };
    // the masked-LM head: transform dense + LayerNorm, and the output bias (decoder tied)
    auto add_mlm_head = [&](const std::string& dense, const std::string& norm, const std::string& bias, const std::string& bias_alias) {
      add_linear(dense, mlm_dense, false);
      add_norm(norm, mlm_norm, false);
      add(bias, mlm_bias, false, {bias_alias});
    };
    add("embeddings.word_embeddings.weight", word_embeddings->weight);
    add("embeddings.position_embeddings.weight", position_embeddings->weight);
    if (c.has_token_types()) add("embeddings.token_type_embeddings.weight", token_type_embeddings->weight);
    add_norm("embeddings.LayerNorm", embedding_norm);
    if (!relative_attention_bias.is_empty()) add("encoder.relative_attention_bias.weight", relative_attention_bias->weight);
    if (c.family == encoder_family::albert) {
      static constexpr layer_names albert{"attention.query", "attention.key",   "attention.value", "attention.dense",
                                          "attention.LayerNorm", "ffn", "ffn_output", "full_layer_layer_norm"};
      add_linear("encoder.embedding_hidden_mapping_in", embedding_projection);
      for (std::int64_t g = 0; g < c.num_hidden_groups; ++g)
        for (std::int64_t k = 0; k < c.inner_group_num; ++k)
          add_layer("encoder.albert_layer_groups." + std::to_string(g) + ".albert_layers." + std::to_string(k) + ".",
                    layer(g * c.inner_group_num + k), albert);
      if (has_pooler()) add_linear("pooler", pooler);
      if (has_mlm_head()) add_mlm_head("predictions.dense", "predictions.LayerNorm", "predictions.bias", "predictions.decoder.bias");
    } else {
      static constexpr layer_names bert{"attention.self.query", "attention.self.key", "attention.self.value",
                                        "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                                        "output.dense", "output.LayerNorm"};
      static constexpr layer_names mpnet{"attention.attn.q", "attention.attn.k",  "attention.attn.v",
                                         "attention.attn.o", "attention.LayerNorm", "intermediate.dense",
                                         "output.dense",     "output.LayerNorm"};
      const auto& names = c.family == encoder_family::mpnet ? mpnet : bert;
      for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) add_layer("encoder.layer." + std::to_string(i) + ".", layer(i), names);
      if (has_pooler()) add_linear("pooler.dense", pooler);
      if (has_mlm_head()) {
        if (c.has_lm_head_module())
          add_mlm_head("lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder.bias");
        else
          add_mlm_head("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias",
                       "cls.predictions.decoder.bias");
      }
    }
    return out;
  }

  /// HF name of the tied masked-LM decoder weight (absolute), for this family.
  std::string hf_decoder_weight_name() const {
    switch (opts_.config.family) {
      case encoder_family::bert: return "cls.predictions.decoder.weight";
      case encoder_family::roberta:
      case encoder_family::mpnet: return "lm_head.decoder.weight";
      case encoder_family::albert: return "predictions.decoder.weight";
    }
    return {};
  }

  ::torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  ::torch::nn::LayerNorm embedding_norm{nullptr};
  ::torch::nn::Linear embedding_projection{nullptr};  ///< ALBERT only: E → H
  /// MPNet only: [buckets, heads], one bias per head and distance bucket, shared by all layers
  ::torch::nn::Embedding relative_attention_bias{nullptr};
  ::torch::nn::ModuleList layers{nullptr};  ///< stored layers (ALBERT: groups × inner layers, shared)
  ::torch::nn::Linear pooler{nullptr};
  ::torch::nn::Linear mlm_dense{nullptr};
  ::torch::nn::LayerNorm mlm_norm{nullptr};
  ::torch::Tensor mlm_bias;

  /// Stored layer `i` (ALBERT: group g, inner k is g·inner_group_num + k).
  detail::transformer_layer_impl& layer(std::int64_t i) {
    return *layers[static_cast<std::size_t>(i)]->as<detail::transformer_layer_impl>();
  }

 private:
  static std::string shape_string(const ::torch::Tensor& t) {
    std::string s = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
  }

  /// Validates prefixes and returns psl (0 for none).
  std::int64_t check_prefixes(const kv_prefixes& prefixes, std::int64_t batch) const {
    if (prefixes.empty()) return 0;
    const auto& c = opts_.config;
    const auto n = c.num_attention_applications();
    if (static_cast<std::int64_t>(prefixes.size()) != n)
      throw encoder_error("expected " + std::to_string(n) + " (key, value) prefix pairs, one per attention layer, got " +
                          std::to_string(prefixes.size()));
    const auto psl = prefixes[0].first.defined() && prefixes[0].first.dim() == 4 ? prefixes[0].first.size(2) : -1;
    for (std::size_t i = 0; i < prefixes.size(); ++i)
      for (const auto* t : {&prefixes[i].first, &prefixes[i].second}) {
        const bool ok = t->defined() && t->dim() == 4 && (t->size(0) == batch || t->size(0) == 1) &&
                        t->size(1) == c.num_attention_heads && t->size(2) == psl && t->size(3) == c.head_dim() &&
                        t->is_floating_point();
        if (!ok)
          throw encoder_error("prefix " + std::string(t == &prefixes[i].first ? "key" : "value") + " of layer " +
                              std::to_string(i) + " must be a floating [" + std::to_string(batch) + " or 1, " +
                              std::to_string(c.num_attention_heads) + ", " + std::to_string(psl) + ", " +
                              std::to_string(c.head_dim()) + "] tensor, got " +
                              (t->defined() ? shape_string(*t) : std::string("an undefined tensor")));
      }
    return psl;
  }

  /// MPNet's position bias [1, heads, L, psl + L]: the bucketed token-to-token bias, and 0 for
  /// every prefix key (our choice, see the file comment).
  ::torch::Tensor relative_position_bias(std::int64_t l, std::int64_t psl) {
    auto& table = relative_attention_bias->weight;
    auto bias = relative_attention_bias(detail::relative_position_buckets(l, table.device()));  // [L, L, heads]
    bias = bias.permute({2, 0, 1}).unsqueeze(0);
    return psl ? ::torch::constant_pad_nd(bias, {psl, 0}, 0) : bias;
  }

  /// [B, 1, 1, psl + L] additive mask: 0 where attended (prefix positions always), finfo.min elsewhere.
  static ::torch::Tensor additive_mask(const ::torch::Tensor& mask, std::int64_t psl, c10::ScalarType dtype) {
    auto keep = mask.ne(0);
    if (psl) keep = ::torch::cat({::torch::ones({mask.size(0), psl}, keep.options()), keep}, 1);
    auto out = ::torch::zeros(keep.sizes(), mask.options().dtype(dtype));
    out.masked_fill_(keep.logical_not(), detail::lowest_finite(dtype));
    return out.unsqueeze(1).unsqueeze(1);
  }

  encoder_options opts_;
};
/// Shared-ownership holder of pretrained_encoder_impl (the TORCH_MODULE pattern, spelled out).
class pretrained_encoder : public ::torch::nn::ModuleHolder<pretrained_encoder_impl> {
 public:
  using ::torch::nn::ModuleHolder<pretrained_encoder_impl>::ModuleHolder;
  using Impl = pretrained_encoder_impl;
};

/// Options of load_pretrained_encoder.
struct load_options {
  bool freeze = true;              ///< requires_grad = false on every loaded parameter
  bool strict = true;              ///< unexpected checkpoint tensors are an error (else only reported)
  std::optional<bool> with_mlm_head;  ///< default: load the head iff the checkpoint has one
  std::optional<bool> with_pooler;    ///< default: iff the checkpoint has one
  /// A safetensors file holding the masked-LM head under the family's HF names (e.g. one
  /// save_mlm_head wrote after fit_mlm_head): the head is read from it, not from the checkpoint.
  std::filesystem::path mlm_head_file;
  /// Build a masked-LM head even though the checkpoint has none, initialised as BERT's
  /// (dense N(0, 0.02) from torch's generator, zero biases, unit norm): what fit_mlm_head starts from.
  bool new_mlm_head = false;
  bool prefix_shifts_positions = true;
  attention_backend attention = attention_backend::fused;
  ::torch::Dtype dtype = ::torch::kFloat32;  ///< parameters are converted to this dtype
  ::torch::Device device = ::torch::kCPU;
};

/// What the loader did, tensor by tensor (HF names as they appear in the file).
struct load_report {
  std::vector<std::string> loaded;      ///< copied into a parameter
  std::vector<std::string> tied;        ///< tied twins checked equal and not copied again
  std::vector<std::string> ignored;     ///< known and deliberately unused (buffers, NSP/SOP heads)
  std::vector<std::string> unexpected;  ///< unknown names (an error when strict)
};

/// Loads `dir`/config.json and `dir`/model.safetensors into a pretrained_encoder.
///
/// Each checkpoint tensor is mapped explicitly to one of our parameters (see
/// pretrained_encoder_impl::hf_parameter_names); a missing tensor is an error naming it; an
/// unknown tensor is an error naming it when `strict` (default) and listed in the report
/// otherwise. The base-model prefix ("bert." etc.) is detected from the file. A checkpoint
/// whose decoder weight differs from its word embeddings (an untied head) is rejected.
/// @code
/// auto [model, report] = ptp::torch::load_pretrained_encoder(dir);
/// @endcode
inline std::pair<pretrained_encoder, load_report> load_pretrained_encoder(const std::filesystem::path& dir,
                                                                         const load_options& lo = {}) {
  const auto cfg = load_hf_config(dir / "config.json");
  const auto weights = dir / "model.safetensors";
  if (!std::filesystem::exists(weights)) {
    if (std::filesystem::exists(dir / "model.safetensors.index.json"))
      throw encoder_error(dir.string() + ": sharded checkpoints (model.safetensors.index.json) are not supported");
    throw encoder_error(dir.string() + ": no model.safetensors");
  }
  safetensors_file file(weights);
  const std::string family = to_string(cfg.family);
  const std::string base = [&] {
    for (const auto& e : file.entries())
      if (e.name.rfind(family + ".", 0) == 0) return family + ".";
    return std::string{};
  }();
  const auto pooler_name = base + (cfg.family == encoder_family::albert ? "pooler.weight" : "pooler.dense.weight");
  const auto head_probe = cfg.has_lm_head_module()               ? "lm_head.dense.weight"
                          : cfg.family == encoder_family::bert ? "cls.predictions.transform.dense.weight"
                                                               : "predictions.dense.weight";
  encoder_options eo;
  eo.config = cfg;
  eo.with_pooler = lo.with_pooler.value_or(file.contains(pooler_name));
  eo.with_mlm_head = lo.with_mlm_head.value_or(file.contains(head_probe)) || !lo.mlm_head_file.empty() || lo.new_mlm_head;
  std::optional<safetensors_file> head_file;
  if (!lo.mlm_head_file.empty()) head_file.emplace(lo.mlm_head_file);
  eo.prefix_shifts_positions = lo.prefix_shifts_positions;
  eo.attention = lo.attention;
  pretrained_encoder model(eo);
  model->to(lo.dtype);

  load_report report;
  std::set<std::string> used;
  std::vector<std::string> missing;
  for (auto& p : model->hf_parameter_names()) {
    const auto prefix = p.in_base ? base : std::string{};
    std::vector<std::string> candidates{prefix + p.name};
    for (auto& a : p.aliases) candidates.push_back(prefix + a);
    // the head's tensors (absolute names) come from the head file when one is given
    safetensors_file& src = !p.in_base && head_file ? *head_file : file;
    const auto& src_path = !p.in_base && head_file ? lo.mlm_head_file : weights;
    std::string found;
    for (auto& n : candidates) {
      if (!src.contains(n)) continue;
      if (found.empty()) {
        src.read_into(n, p.tensor);
        report.loaded.push_back(n);
        found = n;
      } else {
        // a second spelling of the same parameter (e.g. a tied bias saved twice): must agree
        if (!::torch::equal(src.tensor(n).to(p.tensor.scalar_type()), p.tensor.detach().cpu()))
          throw encoder_error(src_path.string() + ": '" + n + "' and '" + found + "' should be the same tensor but differ");
        report.tied.push_back(n);
      }
      if (&src == &file) used.insert(n);
    }
    if (found.empty() && !p.in_base && lo.new_mlm_head && !head_file) {
      ::torch::NoGradGuard ng;
      if (p.tensor.dim() == 2) ::torch::nn::init::normal_(p.tensor, 0.0, 0.02);
      else if (p.name.ends_with("weight") || p.name.ends_with("gamma")) p.tensor.fill_(1.0);
      else p.tensor.zero_();
      found = "(new)";
    }
    if (found.empty()) missing.push_back((!p.in_base && head_file ? lo.mlm_head_file.string() + ": " : std::string{}) + candidates.front());
  }
  if (model->has_mlm_head()) {
    const auto dec = model->hf_decoder_weight_name();
    if (file.contains(dec)) {
      if (!::torch::equal(file.tensor(dec).to(lo.dtype), model->word_embeddings->weight.detach()))
        throw encoder_error(weights.string() + ": '" + dec +
                            "' differs from the word embeddings; untied masked-LM decoders are not supported");
      report.tied.push_back(dec);
      used.insert(dec);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw encoder_error(weights.string() + ": missing tensors: " + list);
  }
  // Known and unused: position/type-id buffers, pretraining-only heads.
  auto known_unused = [&](const std::string& n) {
    auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
    auto starts = [&](const std::string& s) { return n.rfind(s, 0) == 0; };
    return ends("embeddings.position_ids") || ends("embeddings.token_type_ids") || starts("cls.seq_relationship.") ||
           starts("sop_classifier.") || (!model->has_pooler() && starts(base + "pooler.")) ||
           (!model->has_mlm_head() && (starts("cls.predictions.") || starts("lm_head.") || starts("predictions.")));
  };
  for (const auto& e : file.entries()) {
    if (used.count(e.name)) continue;
    if (known_unused(e.name))
      report.ignored.push_back(e.name);
    else
      report.unexpected.push_back(e.name);
  }
  if (lo.strict && !report.unexpected.empty()) {
    std::string list;
    for (auto& m : report.unexpected) list += (list.empty() ? "" : ", ") + m;
    throw encoder_error(weights.string() + ": unexpected tensors (load with strict = false to ignore): " + list);
  }
  if (lo.device != ::torch::Device(::torch::kCPU)) model->to(lo.device);
  for (auto& p : model->parameters()) p.set_requires_grad(!lo.freeze);
  return {model, report};
}

/// Estimated activation memory, in bytes, of one forward pass over a [batch, seq_len] input
/// with `psl` prefix positions, for `dtype_bytes`-byte activations.
///  * inference (`training` = false, as under infer()): nothing is kept for backward, so the
///    peak is the largest set of tensors alive at once inside one layer — the hidden state,
///    q/k/v with the prefix-extended keys and values, the attention output, the feed-forward
///    intermediate and its activation (and, for the math backend, the score and probability
///    matrices);
///  * training: every layer keeps what autograd saves — inputs of each Linear/LayerNorm,
///    q/k/v (+ prefix), the attention output and log-sum-exp (fused) or the score/probability
///    matrices and dropout masks (math), the feed-forward pre- and post-activation, dropout
///    masks — summed over all attention applications.
/// An estimate (allocator rounding, kernel workspaces and the weights themselves excluded),
/// meant for choosing batch sizes; measure_activation_bytes measures the real figure and the
/// tests check that the two agree within a factor of two.
inline std::uint64_t estimate_activation_bytes(const encoder_config& c, std::int64_t batch, std::int64_t seq_len,
                                               std::int64_t psl = 0, bool training = false,
                                               attention_backend backend = attention_backend::fused,
                                               std::int64_t dtype_bytes = 4) {
  const std::uint64_t B = batch, L = seq_len, S = seq_len + psl, H = c.hidden_size, I = c.intermediate_size,
                      E = c.embedding_size, h = c.num_attention_heads, n = c.num_attention_applications(),
                      d = dtype_bytes;
  const std::uint64_t tok = B * L;
  const std::uint64_t scores = backend == attention_backend::math ? 2 * B * h * L * S : 0;
  const std::uint64_t embeddings = 3 * tok * E + (E != H ? tok * H : 0);
  // MPNet: the mask with the position bias folded in, [B, heads, L, S], alive the whole pass
  const std::uint64_t bias_mask = c.family == encoder_family::mpnet ? B * h * L * S : 0;
  if (!training) {
    // hidden in, q, k+v (prefix-extended), context, attention out, intermediate pre+post act
    const std::uint64_t attn = tok * H /*x*/ + tok * H /*q*/ + 2 * B * S * H /*k,v*/ + 2 * tok * H /*ctx, out*/ + scores;
    const std::uint64_t ffn = tok * H /*x*/ + tok * H /*a*/ + 2 * tok * I;
    return d * (std::max({embeddings, attn, ffn}) + bias_mask);
  }
  const std::uint64_t dropout_masks = c.hidden_dropout_prob > 0 ? 3 * tok : 0;  // bool masks, 1 byte
  // saved for backward per layer: q and the prefix-extended k, v; the attention output and
  // its [B, L, H] copy; both LayerNorm inputs and the first one's output; the feed-forward
  // pre- and post-activation; the log-sum-exp (fused) or scores and probabilities (math)
  const std::uint64_t per_layer = d * (tok * H + 2 * B * S * H + 2 * tok * H + 3 * tok * H + 2 * tok * I +
                                       B * h * L + scores) +
                                  dropout_masks;
  return d * (embeddings + bias_mask) + n * per_layer;
}

namespace detail {
/// Counts live bytes reported by ATen's allocators (the hook the autograd profiler uses for
/// memory profiling) and keeps the peak; only allocations on `device`'s type are counted.
struct peak_memory_reporter final : c10::MemoryReportingInfoBase {
  explicit peak_memory_reporter(c10::DeviceType t) : type(t) {}
  void reportMemoryUsage(void*, std::int64_t alloc_size, std::size_t, std::size_t, c10::Device d) override {
    if (d.type() != type) return;
    current += alloc_size;
    peak = std::max(peak, current);
  }
  bool memoryProfilingEnabled() const override { return true; }
  c10::DeviceType type;
  std::int64_t current = 0, peak = 0;
};
}  // namespace detail

/// Measured activation memory of one forward pass.
struct activation_memory {
  std::int64_t peak_bytes = 0;      ///< highest live total during the pass, above the starting point
  std::int64_t retained_bytes = 0;  ///< still alive after it: outputs plus, in training, the saved graph
};

/// Runs one forward pass over `input_ids`/`attention_mask` and measures the bytes ATen
/// allocates on the input's device during it (weights, allocated before, are not counted).
/// `training` = false measures the evaluation path (infer(): c10::InferenceMode); `training`
/// = true measures a pass whose word embeddings require grad — what a PTP step builds, every
/// layer saving its activations for backward even though the weights are frozen — and keeps
/// the graph alive until the measurement ends. Uses the allocator's memory-profiling hook, so
/// it must not run while the autograd profiler records memory.
/// @code
/// auto m = ptp::torch::measure_activation_bytes(model, ids, mask, /*training=*/true);
/// std::cout << m.peak_bytes / (1 << 20) << " MiB\n";
/// @endcode
inline activation_memory measure_activation_bytes(pretrained_encoder& model, const ::torch::Tensor& input_ids,
                                                  const ::torch::Tensor& attention_mask = {}, bool training = false,
                                                  const kv_prefixes& prefixes = {}) {
  auto reporter = std::make_shared<detail::peak_memory_reporter>(input_ids.device().type());
  activation_memory out;
  {
    c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, reporter);
    if (training) {
      auto embeds = model->embed_words(input_ids).detach().requires_grad_(true);
      auto result = model->forward_embeds(embeds, {}, attention_mask, prefixes);
      out.retained_bytes = reporter->current;
    } else {
      auto result = model->infer(input_ids, attention_mask, {}, prefixes);
      out.retained_bytes = reporter->current;
    }
    out.peak_bytes = reporter->peak;
  }
  return out;
}

}  // namespace ptp::torch
