// ptp/embedding/neftune.hpp — NEFTune (Jain et al. 2023): δ ~ U(−m, m), m = α/√(L·d).
#pragma once

#include <cmath>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"

namespace ptp::embedding {

/// NEFTune noise. L is each example's REAL length (mask sum), not the padded length — the
/// padded length shrinks the noise of short examples (transformers issue 34659).
/// All-padding rows get no noise; α = 0 gives δ = 0.
struct neftune {
  using embedding_stage_tag = void;
  double alpha = 5.0;  ///< NEFTune's α (the paper's sweep: 5, 10, 15)
  static constexpr bool needs_clean_gradient = false;
  static constexpr bool batchable = true;  // δ is drawn without the clean pass: stackable with it
  [[nodiscard]] constexpr std::size_t passes() const { return 2; }

  template <class T, class M>
  T sample(const T& e, const M& mask, generator& gen) const {
    ops::require_embedding_and_mask(e, mask, "ptp::embedding::neftune");
    T delta = ops::zeros_like(e);
    if (alpha == 0) return delta;
    ops::fill_uniform(delta, gen, -1.0, 1.0);
    const auto len = ops::mask_lengths(mask);
    const double d = static_cast<double>(ops::shape(e)[2]);
    std::vector<double> m(len.size());
    for (std::size_t b = 0; b < len.size(); ++b) m[b] = len[b] > 0 ? alpha / std::sqrt(len[b] * d) : 0.0;
    ops::mask_and_scale(delta, mask, m);
    return delta;
  }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator& gen) const {
    return one_point(sample(ctx.embeddings(), ctx.mask(), gen));
  }
};

}  // namespace ptp::embedding
