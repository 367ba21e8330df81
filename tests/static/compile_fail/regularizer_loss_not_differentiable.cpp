// expect: static.assert(ion)? failed.*ptp::Differentiable: missing `double evaluate\(const T& e\)`
// The user-facing call: reg.loss(model, …) with a model that lacks `evaluate` fails at the
// API boundary with the concept's message, not deep inside the step.
#include <ptp/ptp.hpp>

#include "toy_tensor.hpp"

struct no_loss {
#if !PTP_COMPILE_FAIL
  double evaluate(const toy::tensor&) { return 0.0; }
#endif
  void gradient(const toy::tensor&, toy::tensor*, double) {}
};

double use(const toy::tensor& e, const toy::tensor& mask) {
  auto reg = ptp::regularizer(ptp::embedding::pgd{.steps = 1}, ptp::objective::clean_plus_perturbed{});
  no_loss model;
  ptp::generator gen{.seed = 1};
  return reg.loss(model, e, mask, gen);
}
