// ptp/embedding/r3f.hpp — R3F (Aghajanyan et al., ICLR 2021): tiny noise + symmetric KL.
#pragma once

#include <vector>

#include "ptp/backend.hpp"
#include "ptp/embedding/common.hpp"
#include "ptp/objective.hpp"

namespace ptp::embedding {

/// R3F's noise: δ ~ U(−ε, ε) (or N(0, ε²)), ε = 1e-5 (fairseq rxf default), masked. Its
/// regulariser is the objective: λ·symKL(p(e) ‖ p(e + δ)) with gradient through both sides
/// (objective::consistency, the default pairing). Needs a LogitModel.
struct r3f {
  using embedding_stage_tag = void;
  using default_objective = objective::consistency;
  static constexpr losses::kl_gradient consistency_gradient = losses::kl_gradient::full;  // fairseq: no detach
  enum class noise_kind { uniform, normal };
  double epsilon = 1e-5;
  noise_kind noise = noise_kind::uniform;
  static constexpr bool needs_clean_gradient = false;
  static constexpr bool batchable = true;  // δ is drawn without the clean logits: one stacked pass
  static constexpr bool needs_logits = true;
  [[nodiscard]] constexpr std::size_t passes() const { return 2; }

  template <class Ctx>
  auto perturb(Ctx& ctx, generator& gen) const {
    using T = typename Ctx::tensor_type;
    T delta = ops::zeros_like(ctx.embeddings());
    if (epsilon != 0) {
      if (noise == noise_kind::uniform) ops::fill_uniform(delta, gen, -epsilon, epsilon);
      else ops::fill_normal(delta, gen, epsilon);
      ops::mask_and_scale(delta, ctx.mask());
    }
    return one_point(std::move(delta));
  }
};

}  // namespace ptp::embedding
