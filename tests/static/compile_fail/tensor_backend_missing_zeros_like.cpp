// expect: static.assert(ion)? failed.*ptp::Tensor: backend<T> lacks `zeros_like\(const T&\)`
// An adapter that forgets `zeros_like` is named by the Tensor check.
#include <ptp/concepts.hpp>

#include "toy_tensor.hpp"

struct half_tensor {
  std::vector<float> v;
};
template <>
struct ptp::backend<half_tensor> {
  using value_type = float;
  static shape_type shape(const half_tensor& t) { return {t.v.size()}; }
#if !PTP_COMPILE_FAIL
  static half_tensor zeros_like(const half_tensor& t) { return {std::vector<float>(t.v.size())}; }
#endif
  static float* data(half_tensor& t) { return t.v.data(); }
  static const float* data(const half_tensor& t) { return t.v.data(); }
};

void use() { ptp::check::tensor<half_tensor>(); }
