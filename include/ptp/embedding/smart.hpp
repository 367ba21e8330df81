// ptp/embedding/smart.hpp — SMART / VAT (Jiang et al., ACL 2020): virtual adversarial δ.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"
#include "ptp/objective.hpp"

namespace ptp::embedding {

/// SMART's perturbation: δ0 ~ N(0, σ²) on masked positions; K times
///   g = ∇_δ symKL(p(e + δ) ‖ p(e).detach());  δ ← (δ + η·g) / (‖δ + η·g‖∞,token + 1e-6)
/// i.e. mt-dnn's per-token L∞ normalisation (its default; its L2 branch is broken upstream
/// and is not reproduced). Paired by default with objective::consistency (λ·symKL with
/// gradient through both sides). Needs a LogitModel.
struct smart {
  using embedding_stage_tag = void;
  using default_objective = objective::consistency;
  int steps = 1;             ///< K
  double step_size = 1e-3;   ///< η
  double sigma = 1e-5;       ///< std of δ0 (mt-dnn's noise_var)
  double floor = 1e-6;       ///< added to the per-token max before dividing
  static constexpr bool needs_clean_gradient = false;
  static constexpr bool needs_logits = true;
  [[nodiscard]] std::size_t passes() const { return static_cast<std::size_t>(std::max(steps, 0)) + 2; }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator& gen) const {
    using T = typename Ctx::tensor_type;
    if (steps < 0) throw std::invalid_argument("ptp::embedding::smart: steps = " + std::to_string(steps) + " < 0");
    const auto& e = ctx.embeddings();
    T delta = ops::zeros_like(e);
    ops::fill_normal(delta, gen, sigma);
    ops::mask_and_scale(delta, ctx.mask());
    T g = ops::zeros_like(e);
    for (int k = 0; k < steps; ++k) {
      ctx.kl_gradient(delta, g, "SMART ascent step " + std::to_string(k));
      ops::axpy(delta, step_size, g);
      ops::normalize_per_token_linf(delta, floor);
      ops::mask_and_scale(delta, ctx.mask());
    }
    return one_point(std::move(delta));
  }
};

}  // namespace ptp::embedding
