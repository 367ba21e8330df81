// ptp/embedding/common.hpp — what every embedding-space stage shares: the perturbed points
// it hands to the objective, and the random initialisations of PGD/FreeLB.
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/random.hpp"

namespace ptp::embedding {

/// One perturbed input e + δ and its weight in the perturbed term. `loss` is set when the
/// stage already evaluated it and added its θ-gradient (FreeLB's accumulated passes).
template <class T>
struct perturbed_point {
  std::optional<T> delta;      ///< δ (absent for points already accounted for)
  double weight = 1.0;         ///< w_k in Σ_k w_k L(e + δ_k)
  std::optional<double> loss;  ///< L(e + δ_k) when already accumulated into θ
};

/// The perturbed set of a stage that yields a single δ (weight 1, not yet evaluated).
template <class T>
std::vector<perturbed_point<T>> one_point(T delta) {
  std::vector<perturbed_point<T>> out;
  out.push_back({std::move(delta), 1.0, {}});
  return out;
}

/// How PGD and FreeLB start: δ0 = 0, or random (docs/algorithms.md §3).
enum class init_kind { zero, random };

/// δ0 for the random start: U(−1, 1)·mask·init/√(L_b·d) per example for L2 (FreeLB), or
/// U(−init, init)·mask for L∞. All-padding rows (L_b = 0) stay zero.
template <class T, class M>
T random_start(const T& e, const M& mask, generator& gen, double init_magnitude, norm_type norm) {
  T delta = ops::zeros_like(e);
  if (norm == norm_type::linf) {
    ops::fill_uniform(delta, gen, -init_magnitude, init_magnitude);
    ops::mask_and_scale(delta, mask);
    return delta;
  }
  ops::fill_uniform(delta, gen, -1.0, 1.0);
  const auto len = ops::mask_lengths(mask);
  const double d = static_cast<double>(ops::shape(e)[2]);
  std::vector<double> f(len.size());
  for (std::size_t b = 0; b < len.size(); ++b) f[b] = len[b] > 0 ? init_magnitude / std::sqrt(len[b] * d) : 0.0;
  ops::mask_and_scale(delta, mask, f);
  return delta;
}

}  // namespace ptp::embedding
