// expect: static.assert(ion)? failed.*ptp::Differentiable: missing `double evaluate\(const T& e\)`
// A model with a gradient but no loss is no Differentiable; the check names `evaluate`.
#include <ptp/concepts.hpp>

#include "toy_tensor.hpp"

struct gradient_only {
#if !PTP_COMPILE_FAIL
  double evaluate(const toy::tensor&) { return 0.0; }
#endif
  void gradient(const toy::tensor&, toy::tensor*, double) {}
};

void use() { ptp::check::differentiable<gradient_only, toy::tensor>(); }
