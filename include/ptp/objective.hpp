// ptp/objective.hpp — how the clean and perturbed losses combine (docs/algorithms.md §2).
//   clean_plus_perturbed   L = L(e) + λ·Σ_k w_k L(e + δ_k)      (default, λ = 1: our choice)
//   perturbed_only         L = Σ_k w_k L(e + δ_k)               (FreeLB's original script)
//   consistency            L = [L(e)] + λ·symKL(p(e) ‖ p(e + δ)) (SMART/R3F; labels optional)
//                          — the symKL gradient as in the stage's reference (see below)
#pragma once

#include <optional>

#include "ptp/losses.hpp"

namespace ptp::objective {

/// Clean loss plus λ times the perturbed loss. λ = 1 is **our choice** (docs/algorithms.md §2: PTP
/// trains on both versions; FreeLB users report that dropping the clean term hurts).
struct clean_plus_perturbed {
  using objective_tag = void;
  double weight = 1.0;  ///< λ
  [[nodiscard]] constexpr double clean_weight() const { return 1.0; }
  [[nodiscard]] constexpr double perturbed_weight() const { return weight; }
};

/// The perturbed loss alone (the clean pass still runs when a stage needs its gradient,
/// contributing nothing to θ).
struct perturbed_only {
  using objective_tag = void;
  [[nodiscard]] constexpr double clean_weight() const { return 0.0; }
  [[nodiscard]] constexpr double perturbed_weight() const { return 1.0; }
};

/// λ·symKL between the clean and perturbed class distributions (R3F; SMART's final term),
/// plus the clean cross-entropy when `supervised`. Needs a LogitModel; needs no labels when
/// !supervised.
/// The gradient of the symKL term (`gradient`, losses::kl_gradient) follows the reference of
/// the stage that made δ unless set: SMART's is `detached_targets` (mt-dnn SymKlCriterion:
/// each KL direction detaches its target), R3F's and every other stage's is `full` (fairseq's
/// `_get_symm_kl`: through both sides, twice the detached gradient near p = q).
struct consistency {
  using objective_tag = void;
  double weight = 1.0;     ///< λ
  bool supervised = true;  ///< add the clean cross-entropy (needs labels)
  std::optional<losses::kl_gradient> gradient = std::nullopt;  ///< nullopt: the stage's reference
  [[nodiscard]] constexpr double clean_weight() const { return supervised ? 1.0 : 0.0; }
  [[nodiscard]] constexpr double perturbed_weight() const { return weight; }
};

}  // namespace ptp::objective
