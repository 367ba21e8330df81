// ptp/mode.hpp — training vs evaluation, passed explicitly to every stochastic stage.
#pragma once

namespace ptp {

/// Perturbations act in training mode only; in evaluation every stage is the identity
/// (docs/algorithms.md §2: "evaluation is never perturbed").
enum class mode { train, eval };

}  // namespace ptp
