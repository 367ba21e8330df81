// ptp/losses.hpp — the losses PTP's objectives are made of, over B×C logits: mean
// cross-entropy, mean symmetric KL, and mt-dnn's stable KL (SMART's ascent), each with its
// gradient in the logits.
// Host loops by default; a device backend provides `cross_entropy` / `sym_kl` itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ptp/backend.hpp"

namespace ptp::losses {

namespace detail {

// log-softmax of one row, in double (stable: subtract the max).
template <class V>
void log_softmax_row(const V* z, std::size_t c, double* out) {
  double m = -INFINITY;
  for (std::size_t j = 0; j < c; ++j) m = std::max(m, static_cast<double>(z[j]));
  double s = 0;
  for (std::size_t j = 0; j < c; ++j) s += std::exp(static_cast<double>(z[j]) - m);
  const double lse = m + std::log(s);
  for (std::size_t j = 0; j < c; ++j) out[j] = static_cast<double>(z[j]) - lse;
}

template <class Z>
std::pair<std::size_t, std::size_t> rows_cols(const Z& z, const char* what) {
  const auto s = ops::shape(z);
  if (s.size() != 2) throw shape_error(std::string(what) + ": logits must be B×C, got " + to_string(s));
  return {s[0], s[1]};
}

// Two non-empty B×C logits of one shape (the KL losses' arguments): (B, C).
template <class Z>
std::pair<std::size_t, std::size_t> paired_rows(const Z& a, const Z& b, const std::string& what) {
  ops::require_same_shape(a, b, what.c_str());
  const auto rc = rows_cols(a, what.c_str());
  if (rc.first == 0) throw std::invalid_argument(what + ": empty batch");
  return rc;
}

}  // namespace detail

/// Mean cross-entropy of B×C logits z against class labels; when dz is non-null it receives
/// ∂L/∂z = (softmax(z) − onehot(y)) / B. Throws on a label outside [0, C) or a size mismatch.
template <class Z>
double cross_entropy(const Z& z, std::span<const std::int64_t> labels, Z* dz = nullptr) {
  if constexpr (requires { backend<Z>::cross_entropy(z, labels, dz); }) {
    return backend<Z>::cross_entropy(z, labels, dz);
  } else {
    const auto [B, C] = detail::rows_cols(z, "ptp::losses::cross_entropy");
    if (labels.size() != B)
      throw shape_error("ptp::losses::cross_entropy: " + std::to_string(labels.size()) + " labels for " +
                        std::to_string(B) + " rows of logits");
    if (B == 0) throw std::invalid_argument("ptp::losses::cross_entropy: empty batch");
    const auto* pz = backend<Z>::data(z);
    using V = typename backend<Z>::value_type;
    V* pd = nullptr;
    if (dz) {
      *dz = ops::zeros_like(z);
      pd = backend<Z>::data(*dz);
    }
    std::vector<double> ls(C);
    double loss = 0;
    for (std::size_t b = 0; b < B; ++b) {
      const auto y = labels[b];
      if (y < 0 || static_cast<std::size_t>(y) >= C)
        throw std::out_of_range("ptp::losses::cross_entropy: label " + std::to_string(y) + " at row " +
                                std::to_string(b) + " outside [0, " + std::to_string(C) + ")");
      detail::log_softmax_row(pz + b * C, C, ls.data());
      loss -= ls[static_cast<std::size_t>(y)];
      if (pd)
        for (std::size_t j = 0; j < C; ++j)
          pd[b * C + j] = static_cast<V>((std::exp(ls[j]) - (static_cast<std::int64_t>(j) == y ? 1.0 : 0.0)) / B);
    }
    return loss / static_cast<double>(B);
  }
}

/// How the symmetric KL's gradient treats its two sides.
///  * full              ∂ of KL(p‖q) + KL(q‖p) through both softmaxes (fairseq R3F's
///                      `_get_symm_kl`: no detach)
///  * detached_targets  each KL direction treats its target distribution as a constant:
///                      ∂/∂zp = p − q, ∂/∂zq = q − p (per row; mt-dnn `SymKlCriterion`,
///                      loss.py — SMART's final term). Same value; near p = q it is half the
///                      full gradient.
enum class kl_gradient { full, detached_targets };

/// Mean symmetric KL between the class distributions of two B×C logits:
///   L = (1/B) Σ_b [KL(p_b ‖ q_b) + KL(q_b ‖ p_b)],  p = softmax(zp), q = softmax(zq).
/// dzp / dzq (either may be null) receive the gradient in each argument — pass only one to
/// treat the other side as detached (SMART's ascent), both for R3F's two-sided term;
/// `how` chooses the full or the detached-target gradient (kl_gradient).
template <class Z>
double sym_kl(const Z& zp, const Z& zq, Z* dzp = nullptr, Z* dzq = nullptr, kl_gradient how = kl_gradient::full) {
  if constexpr (requires { backend<Z>::sym_kl(zp, zq, dzp, dzq, how); }) {
    return backend<Z>::sym_kl(zp, zq, dzp, dzq, how);
  } else {
    const auto [B, C] = detail::paired_rows(zp, zq, "ptp::losses::sym_kl");
    const auto* a = backend<Z>::data(zp);
    const auto* b = backend<Z>::data(zq);
    using V = typename backend<Z>::value_type;
    V* ga = nullptr;
    V* gb = nullptr;
    if (dzp) { *dzp = ops::zeros_like(zp); ga = backend<Z>::data(*dzp); }
    if (dzq) { *dzq = ops::zeros_like(zq); gb = backend<Z>::data(*dzq); }
    const bool full = how == kl_gradient::full;
    std::vector<double> lp(C), lq(C);
    double loss = 0;
    for (std::size_t r = 0; r < B; ++r) {
      detail::log_softmax_row(a + r * C, C, lp.data());
      detail::log_softmax_row(b + r * C, C, lq.data());
      // With d = log p − log q: KL(p‖q) + KL(q‖p) = Σ_j (p_j − q_j) d_j.
      double s = 0, ep = 0, eq = 0;
      for (std::size_t j = 0; j < C; ++j) {
        const double p = std::exp(lp[j]), q = std::exp(lq[j]), d = lp[j] - lq[j];
        s += (p - q) * d;
        ep += p * d;
        eq += q * d;
      }
      loss += s;
      for (std::size_t j = 0; j < C; ++j) {
        const double p = std::exp(lp[j]), q = std::exp(lq[j]), d = lp[j] - lq[j];
        // KL(p‖q) = Σ p d → ∂/∂zp = p(d − Σ p d); KL(q‖p) = −Σ q d → ∂/∂zp = p − q.
        // Detached targets keep only the second: KL(q‖p) with q constant.
        if (ga) ga[r * C + j] = static_cast<V>(((full ? p * (d - ep) : 0.0) + (p - q)) / B);
        // KL(q‖p) → ∂/∂zq = q(−d + Σ q d); KL(p‖q) → ∂/∂zq = q − p.
        if (gb) gb[r * C + j] = static_cast<V>(((full ? q * (-d + eq) : 0.0) + (q - p)) / B);
      }
    }
    return loss / static_cast<double>(B);
  }
}

/// mt-dnn's `stable_kl(logit, target)` (loss.py), SMART's ascent objective: with
/// p = softmax(z), y = softmax(target) and r(x) = −log(1/(x + ε) − 1 + ε) ≈ logit(x), held
/// constant (detached),  L = 2 Σ_b Σ_j p_bj (r(p_bj) − r(y_bj)),  summed over the batch
/// (`reduce=False`, what SmartPerturbation uses) or divided by B (`mean`).
/// dz (if non-null) ← ∂L/∂z = 2 p (c − Σ_j p_j c_j) per row, c = r(p) − r(y); the target is
/// a constant.
template <class Z>
double stable_kl(const Z& z, const Z& target, Z* dz = nullptr, bool mean = false, double epsilon = 1e-6) {
  if constexpr (requires { backend<Z>::stable_kl(z, target, dz, mean, epsilon); }) {
    return backend<Z>::stable_kl(z, target, dz, mean, epsilon);
  } else {
    const auto [B, C] = detail::paired_rows(z, target, "ptp::losses::stable_kl");
    const auto* a = backend<Z>::data(z);
    const auto* b = backend<Z>::data(target);
    using V = typename backend<Z>::value_type;
    V* ga = nullptr;
    if (dz) { *dz = ops::zeros_like(z); ga = backend<Z>::data(*dz); }
    const double scale = mean ? 1.0 / static_cast<double>(B) : 1.0;
    const auto r = [epsilon](double x) { return -std::log(1.0 / (x + epsilon) - 1.0 + epsilon); };
    std::vector<double> lp(C), ly(C), c(C);
    double loss = 0;
    for (std::size_t row = 0; row < B; ++row) {
      detail::log_softmax_row(a + row * C, C, lp.data());
      detail::log_softmax_row(b + row * C, C, ly.data());
      double s = 0;
      for (std::size_t j = 0; j < C; ++j) {
        c[j] = r(std::exp(lp[j])) - r(std::exp(ly[j]));
        s += std::exp(lp[j]) * c[j];
      }
      loss += 2 * s;
      if (ga)
        for (std::size_t j = 0; j < C; ++j) ga[row * C + j] = static_cast<V>(2 * std::exp(lp[j]) * (c[j] - s) * scale);
    }
    return loss * scale;
  }
}

}  // namespace ptp::losses
