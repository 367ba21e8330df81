// ptp/ptp.hpp — the umbrella header: everything backend-independent.
// Adapters come separately: <ptp/adapters/eigen.hpp>, <ptp/adapters/xtensor.hpp>,
// <ptp/adapters/torch.hpp>.
#pragma once

#include "ptp/backend.hpp"
#include "ptp/concepts.hpp"
#include "ptp/differentiable.hpp"
#include "ptp/embedding/fgm.hpp"
#include "ptp/embedding/freelb.hpp"
#include "ptp/embedding/gaussian.hpp"
#include "ptp/embedding/neftune.hpp"
#include "ptp/embedding/pgd.hpp"
#include "ptp/embedding/r3f.hpp"
#include "ptp/embedding/smart.hpp"
#include "ptp/embedding/uniform.hpp"
#include "ptp/landscape.hpp"
#include "ptp/losses.hpp"
#include "ptp/mode.hpp"
#include "ptp/objective.hpp"
#include "ptp/prompt.hpp"
#include "ptp/random.hpp"
#include "ptp/regularizer.hpp"
