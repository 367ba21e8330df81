// Shared by the torch tests: a tiny transformer with P-tuning v2 style per-layer key/value
// prefix injection, a synthetic separable task, tolerance helpers and the device list.
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/ptp.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catch.hpp"

namespace ptp_test {

/// max|a − b| / max|b| (norm-relative; 0/0 = 0).
inline double rel_err(const at::Tensor& a, const at::Tensor& b) {
  auto x = a.detach().to(at::kCPU, at::kDouble), z = b.detach().to(at::kCPU, at::kDouble);
  const double den = z.abs().max().item<double>();
  const double num = (x - z).abs().max().item<double>();
  return den == 0 ? num : num / den;
}

/// The devices the "same core tests" run on: CPU, and CUDA when available.
inline std::vector<at::Device> devices() {
  std::vector<at::Device> d{at::kCPU};
  if (torch::cuda::is_available()) d.emplace_back(at::kCUDA);
  return d;
}

/// The one accepted skip: prints the line and tells the caller to return.
inline bool cuda_missing() {
  if (torch::cuda::is_available()) return false;
  WARN("CUDA not available: CUDA path not exercised");
  return true;
}

/// A small pre-LN-free transformer encoder: token embeddings + positions → `layers` blocks of
/// multi-head self-attention (with optional per-layer key/value prefixes, P-tuning v2) and a
/// GELU MLP, post-LayerNorm → masked mean pool → linear head. The backbone (everything but
/// the head) is frozen by freeze_backbone().
struct tiny_transformer_impl : torch::nn::Module {
  std::int64_t hidden, heads, layers;
  torch::nn::Embedding tokens{nullptr};
  torch::Tensor positions;
  torch::nn::ModuleList blocks;
  torch::nn::Linear head{nullptr};

  tiny_transformer_impl(std::int64_t vocab, std::int64_t hidden_, std::int64_t heads_, std::int64_t layers_,
                        std::int64_t classes, std::int64_t max_len)
      : hidden(hidden_), heads(heads_), layers(layers_) {
    tokens = register_module("tokens", torch::nn::Embedding(vocab, hidden));
    positions = register_parameter("positions", torch::randn({max_len, hidden}) * 0.1);
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (std::int64_t l = 0; l < layers; ++l) {
      auto b = std::make_shared<torch::nn::Module>();
      b->register_module("q", torch::nn::Linear(hidden, hidden));
      b->register_module("k", torch::nn::Linear(hidden, hidden));
      b->register_module("v", torch::nn::Linear(hidden, hidden));
      b->register_module("o", torch::nn::Linear(hidden, hidden));
      b->register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
      b->register_module("ff1", torch::nn::Linear(hidden, 2 * hidden));
      b->register_module("ff2", torch::nn::Linear(2 * hidden, hidden));
      b->register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
      blocks->push_back(b);
    }
    head = register_module("head", torch::nn::Linear(hidden, classes));
  }

  void freeze_backbone() {
    for (auto& p : named_parameters())
      if (p.key().rfind("head.", 0) != 0) p.value().requires_grad_(false);
  }
  std::vector<torch::Tensor> backbone_parameters() {
    std::vector<torch::Tensor> out;
    for (auto& p : named_parameters())
      if (p.key().rfind("head.", 0) != 0) out.push_back(p.value());
    return out;
  }

  /// x: B×L×h input embeddings, mask: B×L (1 = attend); prefixes: one per layer or empty.
  torch::Tensor forward(const torch::Tensor& x0, const torch::Tensor& mask,
                        const std::vector<ptp::torch::layer_prefix>& prefixes = {}) {
    const auto B = x0.size(0), L = x0.size(1), hd = hidden / heads;
    auto x = x0 + positions.slice(0, 0, L).to(x0.scalar_type()).unsqueeze(0);
    const auto m = mask.to(x.scalar_type());
    for (std::int64_t l = 0; l < layers; ++l) {
      auto& b = *blocks[static_cast<std::size_t>(l)];
      auto lin = [&](const char* n, const torch::Tensor& t) { return b.named_children()[n]->as<torch::nn::Linear>()->forward(t); };
      auto split = [&](const torch::Tensor& t) { return t.view({B, -1, heads, hd}).transpose(1, 2); };
      auto q = split(lin("q", x)), k = split(lin("k", x)), v = split(lin("v", x));
      auto mk = m;
      if (!prefixes.empty()) {
        const auto& p = prefixes[static_cast<std::size_t>(l)];
        k = torch::cat({p.key, k}, 2);
        v = torch::cat({p.value, v}, 2);
        mk = torch::cat({torch::ones({B, p.key.size(2)}, m.options()), m}, 1);
      }
      auto s = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
      s = s + (1.0 - mk).view({B, 1, 1, -1}) * -1e9;
      auto a = torch::matmul(torch::softmax(s, -1), v).transpose(1, 2).reshape({B, L, hidden});
      x = b.named_children()["ln1"]->as<torch::nn::LayerNorm>()->forward(x + lin("o", a));
      auto f = lin("ff2", torch::gelu(lin("ff1", x)));
      x = b.named_children()["ln2"]->as<torch::nn::LayerNorm>()->forward(x + f);
    }
    auto pooled = (x * m.unsqueeze(-1)).sum(1) / m.sum(1, true);
    return head->forward(pooled);
  }
};
struct tiny_transformer : torch::nn::ModuleHolder<tiny_transformer_impl> {
  using torch::nn::ModuleHolder<tiny_transformer_impl>::ModuleHolder;
};

/// A synthetic separable task: sequences of `len` tokens from [4, vocab); a sequence is class
/// 1 iff it contains token 2 (at `marks` random positions; else token 3 there); token 1 is a
/// [CLS] at position 0 and the last `pad` positions of odd rows are padding (token 0, mask 0).
struct synthetic_batch {
  torch::Tensor ids, attention_mask, perturb_mask, labels;
};
inline synthetic_batch make_task(std::int64_t n, std::int64_t len, std::int64_t vocab, ptp::generator& gen,
                                 std::int64_t pad = 2, int marks = 3) {
  auto ids = torch::zeros({n, len}, torch::kLong);
  auto am = torch::zeros({n, len}, torch::kFloat);
  auto labels = torch::zeros({n}, torch::kLong);
  auto pi = ids.accessor<std::int64_t, 2>();
  auto pa = am.accessor<float, 2>();
  for (std::int64_t b = 0; b < n; ++b) {
    const std::int64_t real = (b % 2 == 1) ? len - pad : len;
    const std::int64_t y = static_cast<std::int64_t>(gen.below(2));
    labels[b] = y;
    pi[b][0] = 1;
    pa[b][0] = 1;
    for (std::int64_t l = 1; l < real; ++l) {
      pi[b][l] = 4 + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(vocab - 4)));
      pa[b][l] = 1;
    }
    for (int k = 0; k < marks; ++k)
      pi[b][1 + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(real - 1)))] = y == 1 ? 2 : 3;
  }
  auto pm = am.clone();
  pm.select(1, 0).zero_();  // never perturb [CLS]
  return {ids, am, pm, labels};
}

}  // namespace ptp_test
