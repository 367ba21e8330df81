// ptp/embedding/gaussian.hpp — PTP-RN in embedding space: δ ~ N(0, σ²) on masked positions.
#pragma once

#include <cmath>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"

namespace ptp::embedding {

/// Gaussian noise (PTP-RN, docs/algorithms.md §3).
/// σ is relative to each example's embedding scale by default — δ_b ~ N(0, (σ·rms_b)²) with
/// rms_b the root-mean-square of e_b over its unmasked positions — so one σ means the same
/// across models (**our choice**, σ = 1e-2). `relative = false` makes σ absolute.
/// σ = 0 gives δ = 0 exactly.
/// @code
///   auto reg = ptp::regularizer(ptp::embedding::gaussian{.sigma = 0.01});
/// @endcode
struct gaussian {
  using embedding_stage_tag = void;
  double sigma = 1e-2;   ///< standard deviation (relative or absolute)
  bool relative = true;  ///< scale σ by the per-example embedding RMS
  static constexpr bool needs_clean_gradient = false;
  static constexpr bool batchable = true;  // δ is drawn without the clean pass: stackable with it
  [[nodiscard]] constexpr std::size_t passes() const { return 2; }  // clean + perturbed

  /// δ for embeddings e under mask (B×L×d, B×L); advances gen.
  template <class T, class M>
  T sample(const T& e, const M& mask, generator& gen) const {
    ops::require_embedding_and_mask(e, mask, "ptp::embedding::gaussian");
    T delta = ops::zeros_like(e);
    if (sigma == 0) return delta;
    ops::fill_normal(delta, gen, 1.0);
    std::vector<double> f(ops::shape(e)[0], sigma);
    if (relative) {
      T masked = ops::copy(e);
      ops::mask_and_scale(masked, mask);
      const auto n = ops::norms(masked, norm_type::l2, granularity::example);
      const auto len = ops::mask_lengths(mask);
      const double d = static_cast<double>(ops::shape(e)[2]);
      for (std::size_t b = 0; b < f.size(); ++b) f[b] = len[b] > 0 ? sigma * n[b] / std::sqrt(len[b] * d) : 0.0;
    }
    ops::mask_and_scale(delta, mask, f);
    return delta;
  }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator& gen) const {
    return one_point(sample(ctx.embeddings(), ctx.mask(), gen));
  }
};

}  // namespace ptp::embedding
