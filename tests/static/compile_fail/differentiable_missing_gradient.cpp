// expect: static.assert(ion)? failed.*ptp::Differentiable: missing `void gradient\(const T& e, T\* grad_e, double w\)`
// A model with a loss but no gradient is no Differentiable; the check names `gradient`.
#include <ptp/concepts.hpp>

#include "toy_tensor.hpp"

struct evaluate_only {
  double evaluate(const toy::tensor&) { return 0.0; }
#if !PTP_COMPILE_FAIL
  void gradient(const toy::tensor&, toy::tensor*, double) {}
#endif
};

void use() { ptp::check::differentiable<evaluate_only, toy::tensor>(); }
