// ptp/adapters/eigen.hpp — Eigen 3.4 backend: Eigen::Tensor<S, N, RowMajor> (embeddings
// B×L×d, masks B×L, logits B×C, prompts P×d) for any floating S. The user supplies
// gradients (Differentiable); every ptp operation runs as ptp's fused host loop over the
// tensor's contiguous storage, so results are bit-identical to the xtensor adapter.
#pragma once

#include <array>
#include <cstddef>
#include <unsupported/Eigen/CXX11/Tensor>

#include "ptp/backend.hpp"

namespace ptp {

template <class S, int N, typename I>
struct backend<Eigen::Tensor<S, N, Eigen::RowMajor, I>> {
  using tensor = Eigen::Tensor<S, N, Eigen::RowMajor, I>;
  using value_type = S;
  static shape_type shape(const tensor& t) {
    shape_type s(N);
    for (int i = 0; i < N; ++i) s[static_cast<std::size_t>(i)] = static_cast<std::size_t>(t.dimension(i));
    return s;
  }
  static tensor zeros(const shape_type& s) {
    if (s.size() != static_cast<std::size_t>(N))
      throw shape_error("ptp::backend<Eigen::Tensor>: rank " + std::to_string(N) + " tensor cannot take shape " + to_string(s));
    std::array<I, N> dims{};
    for (int i = 0; i < N; ++i) dims[static_cast<std::size_t>(i)] = static_cast<I>(s[static_cast<std::size_t>(i)]);
    tensor t(dims);
    t.setZero();
    return t;
  }
  static tensor zeros_like(const tensor& t) {
    tensor z(t.dimensions());
    z.setZero();
    return z;
  }
  static S* data(tensor& t) { return t.data(); }
  static const S* data(const tensor& t) { return t.data(); }
};

namespace eigen {
/// The tensor types the examples and tests use.
template <class S = float>
using tensor3 = Eigen::Tensor<S, 3, Eigen::RowMajor>;
template <class S = float>
using tensor2 = Eigen::Tensor<S, 2, Eigen::RowMajor>;
}  // namespace eigen

}  // namespace ptp
