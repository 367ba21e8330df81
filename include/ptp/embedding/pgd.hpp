// ptp/embedding/pgd.hpp — PGD-K, the embedding-space attack of PTP-ADV.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"

namespace ptp::embedding {

/// Projected gradient ascent (docs/algorithms.md §3; Madry et al. 2018):
///   δ0 = 0 or random_start(...);  K times: δ ← Π_ε(δ + α·dir(g)),  g = ∇_δ L(e + δ)
/// dir = g/‖g‖ over each example's L×d block (L2) or sign(g) (L∞); Π rescales into the
/// per-example L2 ball or clamps (L∞); ε = 0 is unbounded; K = 0 returns δ0.
/// With a zero start the first ascent gradient is the clean pass's own, so a step costs
/// K + 1 passes (K + 2 with a random start).
/// Random start: U(−ε, ε)·mask for L∞ (docs/algorithms.md §3, as torchattacks' PGD;
/// `init_magnitude` only when ε = 0, unbounded); for L2 FreeLB's
/// U(−1, 1)·mask·init_magnitude/√(L·d), then Π_ε.
/// @code
///   ptp::embedding::pgd{.steps = 3, .step_size = 0.03, .epsilon = 0.3, .norm = ptp::norm_type::l2}
/// @endcode
/// Defaults follow FreeLB's typical values (K = 2–3, α 0.02–0.2, init 0.2–0.4, ε 0.3–0.7).
struct pgd {
  using embedding_stage_tag = void;
  int steps = 3;                    ///< K
  double step_size = 0.03;          ///< α
  double epsilon = 0.3;             ///< ε (0: unbounded)
  init_kind init = init_kind::zero;  ///< δ0
  double init_magnitude = 0.2;      ///< scale of the L2 random start (L∞: ε, see above)
  norm_type norm = norm_type::l2;   ///< ball and step geometry
  static constexpr bool needs_clean_gradient = true;
  static constexpr bool batchable = false;  // the ascent starts from the clean pass's gradient
  [[nodiscard]] std::size_t passes() const {
    return static_cast<std::size_t>(std::max(steps, 0)) + (init == init_kind::zero ? 1 : 2);
  }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator& gen) const {
    using T = typename Ctx::tensor_type;
    if (steps < 0) throw std::invalid_argument("ptp::embedding::pgd: steps = " + std::to_string(steps) + " < 0");
    const auto& e = ctx.embeddings();
    const double start = norm == norm_type::linf && epsilon > 0 ? epsilon : init_magnitude;
    T delta = init == init_kind::zero ? ops::zeros_like(e) : random_start(e, ctx.mask(), gen, start, norm);
    if (init == init_kind::random) ops::project(delta, epsilon, norm, granularity::example);
    const auto rule = norm == norm_type::l2 ? step_rule::l2 : step_rule::sign;
    T g = ops::zeros_like(e);
    for (int k = 0; k < steps; ++k) {
      if (k == 0 && init == init_kind::zero) {
        ops::ascent_step(delta, ctx.clean_gradient(), step_size, rule, granularity::example, epsilon, norm);
      } else {
        ctx.task_gradient(delta, 0.0, g, "ascent step " + std::to_string(k));
        ops::ascent_step(delta, g, step_size, rule, granularity::example, epsilon, norm);
      }
    }
    return one_point(std::move(delta));
  }
};

}  // namespace ptp::embedding
