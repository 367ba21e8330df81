// tests/static/toy_tensor.hpp — the smallest host tensor ptp accepts, so the static tests
// check the core concepts without any adapter: a shape and a row-major buffer, with the
// three members a host backend needs (shape, zeros_like, data). Also the smallest models.
#pragma once

#include <cstddef>
#include <vector>

#include <ptp/backend.hpp>

namespace toy {

struct tensor {
  ptp::shape_type shape;
  std::vector<float> values;
};

/// A loss in the ensmallen form: evaluate + gradient.
struct split_model {
  double evaluate(const tensor&) { return 0.0; }
  void gradient(const tensor&, tensor*, double) {}
};

/// A loss in the fused form: evaluate_with_gradient only.
struct fused_model {
  double evaluate_with_gradient(const tensor&, tensor*, double) { return 0.0; }
};

/// A classifier: logits and their vector–Jacobian product.
struct logit_model {
  tensor logits(const tensor&) { return {}; }
  void logits_backward(const tensor&, const tensor&, tensor*, double) {}
};

}  // namespace toy

template <>
struct ptp::backend<toy::tensor> {
  using value_type = float;
  static shape_type shape(const toy::tensor& t) { return t.shape; }
  static toy::tensor zeros_like(const toy::tensor& t) { return {t.shape, std::vector<float>(t.values.size())}; }
  static toy::tensor zeros(const shape_type& s) {
    std::size_t n = 1;
    for (auto e : s) n *= e;
    return {s, std::vector<float>(n)};
  }
  static float* data(toy::tensor& t) { return t.values.data(); }
  static const float* data(const toy::tensor& t) { return t.values.data(); }
};
