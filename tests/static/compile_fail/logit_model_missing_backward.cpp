// expect: static.assert(ion)? failed.*ptp::LogitModel: missing `logits_backward
// SMART/R3F/consistency need the logits' vector–Jacobian product; wrapping a model without
// it in ptp::supervised names `logits_backward`.
#include <cstdint>
#include <vector>

#include <ptp/differentiable.hpp>

#include "toy_tensor.hpp"

struct forward_only {
  toy::tensor logits(const toy::tensor&) { return {}; }
#if !PTP_COMPILE_FAIL
  void logits_backward(const toy::tensor&, const toy::tensor&, toy::tensor*, double) {}
#endif
};

void use() {
  forward_only m;
  std::vector<std::int64_t> labels{0, 1};
  ptp::supervised<forward_only, toy::tensor> f(m, labels);
  (void)f;
}
