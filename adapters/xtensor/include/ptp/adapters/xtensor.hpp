// ptp/adapters/xtensor.hpp — xtensor backend: xt::xtensor<S, N> (row-major) and
// xt::xarray<S>. Like Eigen, the user supplies gradients and ptp's fused host loops run
// over contiguous storage — bit-identical results to the Eigen adapter.
#pragma once

#include <cstddef>
#include <tuple>

// xtensor ≥ 0.26 moved its headers under xtensor/containers/ etc.
#if __has_include(<xtensor/containers/xtensor.hpp>)
#include <xtensor/containers/xarray.hpp>
#include <xtensor/containers/xtensor.hpp>
#else
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
#endif

#include "ptp/backend.hpp"

namespace ptp {

namespace detail {
template <class X>
struct xtensor_backend {
  using value_type = typename X::value_type;
  static shape_type shape(const X& t) { return shape_type(t.shape().begin(), t.shape().end()); }
  static X zeros(const shape_type& s) {
    X t;
    // Fixed rank (xt::xtensor: std::array shape). xt::xarray also has a `rank` member, equal
    // to SIZE_MAX for its dynamic rank, so test the shape type instead.
    if constexpr (requires { std::tuple_size<typename X::shape_type>::value; }) {
      if (s.size() != X::rank)
        throw shape_error("ptp::backend<xt::xtensor>: rank " + std::to_string(X::rank) + " tensor cannot take shape " + to_string(s));
      typename X::shape_type sh{};
      for (std::size_t i = 0; i < s.size(); ++i) sh[i] = s[i];
      t.resize(sh);
    } else {
      t.resize(typename X::shape_type(s.begin(), s.end()));
    }
    t.fill(value_type(0));
    return t;
  }
  static X zeros_like(const X& t) {
    X z(t.shape());
    z.fill(value_type(0));
    return z;
  }
  static value_type* data(X& t) { return t.data(); }
  static const value_type* data(const X& t) { return t.data(); }
};
}  // namespace detail

template <class S, std::size_t N>
struct backend<xt::xtensor<S, N>> : detail::xtensor_backend<xt::xtensor<S, N>> {};
template <class S>
struct backend<xt::xarray<S>> : detail::xtensor_backend<xt::xarray<S>> {};

}  // namespace ptp
