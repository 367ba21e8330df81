// ptp/embedding/smart.hpp — SMART / VAT (Jiang et al., ACL 2020): virtual adversarial δ.
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"
#include "ptp/losses.hpp"
#include "ptp/objective.hpp"

namespace ptp::embedding {

/// SMART's perturbation (mt-dnn SmartPerturbation.forward, perturbation.py): δ0 ~ N(0, σ²) on
/// masked positions; K times
///   g = ∇_δ D(p(e + δ), p(e).detach());  δ ← (δ + η·g) / (‖δ + η·g‖∞,token + 1e-6)
/// i.e. mt-dnn's per-token L∞ normalisation (its default; its L2 branch is broken upstream
/// and is not reproduced). D is, by default, mt-dnn's `stable_kl(adv, clean.detach(),
/// reduce=False)`: summed over the batch, so η·g does not shrink with B.
/// Options that are ours: `ascent = sym_kl` ascends the mean-free symmetric KL instead
/// (docs/algorithms.md §3's earlier form), `ascent_mean = true` divides D by B (ptp ≤ c3d0c11 used
/// both: symKL, batch mean).
/// Paired by default with objective::consistency, whose symKL gradient for SMART detaches
/// each direction's target (mt-dnn SymKlCriterion; losses::kl_gradient::detached_targets).
/// Needs a LogitModel.
struct smart {
  using embedding_stage_tag = void;
  using default_objective = objective::consistency;
  static constexpr losses::kl_gradient consistency_gradient = losses::kl_gradient::detached_targets;
  enum class ascent_loss { stable_kl, sym_kl };
  int steps = 1;             ///< K
  double step_size = 1e-3;   ///< η (mt-dnn's class default; its train.py CLI default is 1e-5)
  double sigma = 1e-5;       ///< std of δ0 (mt-dnn's noise_var)
  double floor = 1e-6;       ///< added to the per-token max before dividing
  ascent_loss ascent = ascent_loss::stable_kl;  ///< D (mt-dnn: stable_kl)
  bool ascent_mean = false;  ///< D averaged over the batch instead of summed (mt-dnn: summed)
  static constexpr bool needs_clean_gradient = false;
  static constexpr bool batchable = false;  // the ascent needs the clean logits
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
    const auto divergence = [this](const auto& zq, const auto& zc, auto& dzq) {
      if (ascent == ascent_loss::stable_kl) return losses::stable_kl(zq, zc, &dzq, ascent_mean);
      // sym_kl is a batch mean; the sum is B times it.
      const double b = ascent_mean ? 1.0 : static_cast<double>(ops::shape(zq)[0]);
      const double v = losses::sym_kl(zq, zc, &dzq, static_cast<std::remove_cvref_t<decltype(zq)>*>(nullptr));
      ops::scale(dzq, b);
      return b * v;
    };
    for (int k = 0; k < steps; ++k) {
      ctx.divergence_gradient(delta, g, "SMART ascent step " + std::to_string(k), divergence);
      ops::axpy(delta, step_size, g);
      ops::normalize_per_token_linf(delta, floor);
      ops::mask_and_scale(delta, ctx.mask());
    }
    return one_point(std::move(delta));
  }
};

}  // namespace ptp::embedding
