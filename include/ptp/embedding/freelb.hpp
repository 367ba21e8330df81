// ptp/embedding/freelb.hpp — FreeLB (Zhu et al., ICLR 2020): K "free" adversarial passes.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"

namespace ptp::embedding {

/// FreeLB: K passes at δ0 … δ(K−1); each adds (λ/K)·∇_θ L(e + δ_k) to θ's gradient, so θ
/// sees the average over the K perturbed points; between passes (K − 1 updates)
///   δ ← Π_ε(δ + α·g/‖g‖)  with the per-example L2 norm, or g/‖g‖∞ and a clamp for L∞
/// (FreeLB's run_glue_freelb.py semantics: the L∞ variant divides by ‖g‖∞, not sign).
/// The original script has no clean term; ptp's default objective adds it
/// (objective::perturbed_only reproduces the original). K = 0 adds no perturbed term.
/// The K passes see one dropout mask (`shared_dropout`, the reference's `dp_masks`, drawn in
/// the first pass and fed back into the others): the model's random state is restored before
/// each later pass (step_context::random_state; a model without one is deterministic).
struct freelb {
  using embedding_stage_tag = void;
  int steps = 2;                      ///< K
  double step_size = 0.1;             ///< α (adv-lr)
  double epsilon = 0.0;               ///< ε (adv-max-norm; 0: unbounded)
  init_kind init = init_kind::random;  ///< δ0
  double init_magnitude = 0.2;        ///< adv-init-mag
  norm_type norm = norm_type::l2;
  bool shared_dropout = true;         ///< one dropout mask for the K passes (false: a fresh one each)
  static constexpr bool needs_clean_gradient = false;
  static constexpr bool batchable = false;  // each δ_k comes from the previous pass's gradient
  [[nodiscard]] std::size_t passes() const { return static_cast<std::size_t>(std::max(steps, 0)) + 1; }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator& gen) const {
    using T = typename Ctx::tensor_type;
    if (steps < 0) throw std::invalid_argument("ptp::embedding::freelb: steps = " + std::to_string(steps) + " < 0");
    std::vector<perturbed_point<T>> out;
    if (steps == 0) return out;
    const auto& e = ctx.embeddings();
    T delta = init == init_kind::zero ? ops::zeros_like(e) : random_start(e, ctx.mask(), gen, init_magnitude, norm);
    if (init == init_kind::random) ops::project(delta, epsilon, norm, granularity::example);
    const auto rule = norm == norm_type::l2 ? step_rule::l2 : step_rule::linf;
    const double w = 1.0 / steps;
    T g = ops::zeros_like(e);
    const auto masks = shared_dropout ? ctx.random_state() : decltype(ctx.random_state()){};
    for (int k = 0; k < steps; ++k) {
      if (k > 0) ctx.restore_random_state(masks);
      const double loss = ctx.task_gradient(delta, ctx.perturbed_weight() * w, g, "FreeLB pass " + std::to_string(k));
      out.push_back({std::nullopt, w, loss});
      if (k + 1 < steps) ops::ascent_step(delta, g, step_size, rule, granularity::example, epsilon, norm);
    }
    return out;
  }
};

}  // namespace ptp::embedding
