// ptp/embedding/fgm.hpp — one-step adversarial perturbation at δ = 0.
#pragma once

#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"

namespace ptp::embedding {

/// FGM (L2: δ = ε·g/‖g‖ per example) or FGSM (L∞: δ = ε·sign(g)), with g = ∇_e L at
/// δ = 0 — the clean pass's own gradient, so FGM costs 2 passes (docs/algorithms.md §3).
/// A zero gradient gives δ = 0 (norm clamped at 1e-12).
struct fgm {
  using embedding_stage_tag = void;
  double epsilon = 1e-2;          ///< step length
  norm_type norm = norm_type::l2;  ///< l2 → FGM, linf → FGSM
  static constexpr bool needs_clean_gradient = true;
  static constexpr bool batchable = false;  // δ is built from the clean pass's gradient
  [[nodiscard]] constexpr std::size_t passes() const { return 2; }

  /// δ from a gradient already masked.
  template <class T>
  T from_gradient(const T& g) const {
    T delta = ops::zeros_like(g);
    ops::ascent_step(delta, g, epsilon, norm == norm_type::l2 ? step_rule::l2 : step_rule::sign,
                     granularity::example, 0.0, norm);
    return delta;
  }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator&) const {
    return one_point(from_gradient(ctx.clean_gradient()));
  }
};

}  // namespace ptp::embedding
