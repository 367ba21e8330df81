// ptp/prompt.hpp — the shallow soft prompt (Lester et al. 2021; docs/algorithms.md §5 "shallow
// prompt"): P trainable vectors prepended to the input embeddings, for every host backend. The
// deep-prefix (P-tuning v2) and encoder (P-tuning) forms live in the LibTorch adapter.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "ptp/backend.hpp"
#include "ptp/random.hpp"

namespace ptp {

/// What an embedding stage perturbs (docs/algorithms.md §2): the input word embeddings (the
/// default), the prompt's embeddings, or both. Every stage perturbs what its mask allows, so the
/// target is chosen by the mask: give the stage the joined input [prompt; e] and
/// target_mask(...) (B×(P+L)). With a trainable prompt the joined input requires grad; the
/// LibTorch autograd_model routes each pass's gradient into it.
enum class perturbation_target { input, prompt, both };

/// The B×(P+L) perturbation mask of a joined input [prompt; e]: ones on the P prompt
/// positions when the target includes the prompt, `mask` (B×L) on the input positions when
/// it includes the input, zeros elsewhere.
template <class M>
M target_mask(const M& mask, std::size_t prompt_length, perturbation_target target) {
  const auto s = ops::shape(mask);
  if (s.size() != 2) throw shape_error("ptp::target_mask: mask must be B×L, got " + to_string(s));
  const std::size_t B = s[0], L = s[1], Pn = prompt_length;
  M out = backend<M>::zeros({B, Pn + L});
  auto* po = backend<M>::data(out);
  const auto* pm = backend<M>::data(mask);
  const bool prompt = target != perturbation_target::input, input = target != perturbation_target::prompt;
  for (std::size_t b = 0; b < B; ++b) {
    if (prompt) std::fill_n(po + b * (Pn + L), Pn, 1);
    if (input) std::copy_n(pm + b * L, L, po + b * (Pn + L) + Pn);
  }
  return out;
}

/// A P×d soft prompt and its gradient.
/// @tparam P  the prompt tensor (rank 2, P×d)   @tparam T the embedding tensor (B×L×d)
/// @tparam M  the mask tensor (B×L)
/// Usage inside a user's Differentiable:
/// @code
///   auto x = prompt.join(e);                   // B×(P+L)×d, prompt first
///   ... forward on x, backward to G = ∂L/∂x ...
///   prompt.split_gradient(G, grad_e, w);       // grad_e = G[:, P:], θ.grad += w·Σ_b G[b, :P]
/// @endcode
/// By default the prompt's positions are not perturbed: the regularizer's δ lives on e alone
/// (docs/algorithms.md §2 default). To perturb the prompt too, or only it, hand the regularizer the
/// joined input and target_mask(mask, length(), target) — see perturbation_target.
template <class P, class T>
class soft_prompt {
 public:
  /// Initialises the prompt with N(0, init_std²) from `gen` (a sampled-vocabulary or text
  /// initialisation just assigns `weights()`).
  soft_prompt(std::size_t length, std::size_t width, generator& gen, double init_std = 0.02)
      : theta_(backend<P>::zeros({length, width})), grad_(backend<P>::zeros({length, width})) {
    ops::fill_normal(theta_, gen, init_std);
  }
  explicit soft_prompt(P weights) : theta_(std::move(weights)), grad_(ops::zeros_like(theta_)) {
    if (ops::shape(theta_).size() != 2)
      throw shape_error("ptp::soft_prompt: weights must be P×d, got " + to_string(ops::shape(theta_)));
  }

  P& parameters() { return theta_; }
  const P& parameters() const { return theta_; }
  P& gradient() { return grad_; }
  const P& gradient() const { return grad_; }
  void zero_grad() { grad_ = ops::zeros_like(theta_); }
  std::size_t length() const { return ops::shape(theta_)[0]; }
  std::size_t width() const { return ops::shape(theta_)[1]; }

  /// [prompt; e_b] for every example: B×(P+L)×d.
  T join(const T& e) const {
    const auto s = ops::shape(e);
    if (s.size() != 3 || s[2] != width())
      throw shape_error("ptp::soft_prompt::join: embeddings must be B×L×" + std::to_string(width()) + ", got " + to_string(s));
    const std::size_t B = s[0], L = s[1], d = s[2], Pn = length();
    T x = backend<T>::zeros({B, Pn + L, d});
    auto* px = backend<T>::data(x);
    const auto* pe = backend<T>::data(e);
    const auto* pt = backend<P>::data(theta_);
    for (std::size_t b = 0; b < B; ++b) {
      std::copy_n(pt, Pn * d, px + b * (Pn + L) * d);
      std::copy_n(pe + b * L * d, L * d, px + (b * (Pn + L) + Pn) * d);
    }
    return x;
  }

  /// The attention mask of the joined input: ones for the prompt, then `mask`.
  template <class M>
  M join_mask(const M& mask) const {
    const auto s = ops::shape(mask);
    const std::size_t B = s.at(0), L = s.at(1), Pn = length();
    M out = backend<M>::zeros({B, Pn + L});
    auto* po = backend<M>::data(out);
    const auto* pm = backend<M>::data(mask);
    for (std::size_t b = 0; b < B; ++b) {
      std::fill_n(po + b * (Pn + L), Pn, 1);
      std::copy_n(pm + b * L, L, po + b * (Pn + L) + Pn);
    }
    return out;
  }

  /// Splits ∂L/∂x (B×(P+L)×d) into ∂L/∂e (written to *grad_e when non-null) and
  /// w·Σ_b ∂L/∂x[b, :P] (added to the prompt's gradient).
  void split_gradient(const T& gx, T* grad_e, double w) {
    const auto s = ops::shape(gx);
    const std::size_t Pn = length(), d = width();
    if (s.size() != 3 || s[1] < Pn || s[2] != d)
      throw shape_error("ptp::soft_prompt::split_gradient: expected B×(" + std::to_string(Pn) + "+L)×" +
                        std::to_string(d) + ", got " + to_string(s));
    const std::size_t B = s[0], L = s[1] - Pn;
    const auto* pg = backend<T>::data(gx);
    if (w != 0) {
      auto* pt = backend<P>::data(grad_);
      using V = typename backend<P>::value_type;
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t i = 0; i < Pn * d; ++i) pt[i] += static_cast<V>(w) * pg[b * (Pn + L) * d + i];
    }
    if (grad_e) {
      *grad_e = backend<T>::zeros({B, L, d});
      auto* pe = backend<T>::data(*grad_e);
      for (std::size_t b = 0; b < B; ++b) std::copy_n(pg + (b * (Pn + L) + Pn) * d, L * d, pe + b * L * d);
    }
  }

 private:
  P theta_;
  P grad_;
};

}  // namespace ptp
