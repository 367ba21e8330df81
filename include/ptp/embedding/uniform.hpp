// ptp/embedding/uniform.hpp — δ ~ U(−ε, ε) on masked positions.
#pragma once

#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"

namespace ptp::embedding {

/// Uniform noise in the L∞ ball of radius ε (docs/algorithms.md §3); ε = 0 gives δ = 0.
struct uniform {
  using embedding_stage_tag = void;
  double epsilon = 1e-2;  ///< half-width of the interval (absolute)
  static constexpr bool needs_clean_gradient = false;
  static constexpr bool batchable = true;  // δ is drawn without the clean pass: stackable with it
  [[nodiscard]] constexpr std::size_t passes() const { return 2; }

  template <class T, class M>
  T sample(const T& e, const M& mask, generator& gen) const {
    ops::require_embedding_and_mask(e, mask, "ptp::embedding::uniform");
    T delta = ops::zeros_like(e);
    if (epsilon == 0) return delta;
    ops::fill_uniform(delta, gen, -epsilon, epsilon);
    ops::mask_and_scale(delta, mask);
    return delta;
  }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator& gen) const {
    return one_point(sample(ctx.embeddings(), ctx.mask(), gen));
  }
};

}  // namespace ptp::embedding
