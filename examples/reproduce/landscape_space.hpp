// examples/reproduce/landscape_space.hpp — a trainable parameter (the deep prefix's table) as
// the x of a ptp Differentiable, for ptp::landscape in prompt space (docs/algorithms.md §6).
//
//   ptp::repro::parameter_space f(prefix->embedding->weight, [&] { return loss_of_batch(); }, {psl, 2 * layers, hidden});
//   auto x0 = f.point();                         // psl × (2·layers) × hidden: one row per key/value vector
//   auto s = ptp::landscape::loss_surface(f, x0, gen, opt);
//   f.restore();                                 // (also done by the destructor)
//
// evaluate(x) writes x into the parameter under NoGradGuard and returns loss(); the gradient
// is autograd's ∂loss/∂parameter, reshaped like x. The parameter *is* x here, so the `w·∇θ`
// part of the Differentiable contract has nothing else to accumulate into and is ignored.
#pragma once

#include <ptp/adapters/eigen.hpp>
#include <ptp/adapters/torch.hpp>
#include <ptp/differentiable.hpp>
#include <torch/torch.h>

#include <cstring>

#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace ptp::repro {

class parameter_space {
 public:
  /// `param`: the tensor to move (a leaf; its value is restored by restore() / the
  /// destructor). `loss`: the scalar loss at the parameter's current value (a graph to
  /// `param` when grad mode is on). `shape`: the view x has (empty: the parameter's own).
  parameter_space(at::Tensor param, std::function<at::Tensor()> loss, std::vector<std::int64_t> shape = {})
      : param_(std::move(param)), loss_(std::move(loss)), shape_(std::move(shape)) {
    if (!param_.defined()) throw std::invalid_argument("ptp::repro::parameter_space: undefined parameter");
    if (!loss_) throw std::invalid_argument("ptp::repro::parameter_space: empty loss function");
    if (shape_.empty()) shape_ = param_.sizes().vec();
    original_ = param_.detach().clone();
    (void)original_.view(shape_);  // throws on a shape that does not fit
  }
  ~parameter_space() {
    try {
      restore();
    } catch (...) {
    }
  }
  parameter_space(const parameter_space&) = delete;
  parameter_space& operator=(const parameter_space&) = delete;

  /// The parameter's value at construction, in x's shape.
  [[nodiscard]] at::Tensor point() const { return original_.view(shape_).clone(); }
  /// Puts the construction-time value back.
  void restore() { set(original_.view(shape_)); }

  double evaluate(const at::Tensor& x) {
    ::torch::NoGradGuard ng;
    set(x);
    return loss_().item<double>();
  }

  double evaluate_with_gradient(const at::Tensor& x, at::Tensor* g, double /*w: θ is x*/) {
    set(x);
    if (!g) {
      ::torch::NoGradGuard ng;
      return loss_().item<double>();
    }
    const bool had = param_.requires_grad();
    if (!had) param_.set_requires_grad(true);
    at::Tensor l, d;
    {
      ::torch::AutoGradMode on(true);
      l = loss_();
      d = ::torch::autograd::grad({l}, {param_}, {}, /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true)[0];
    }
    if (!had) param_.set_requires_grad(false);
    *g = d.defined() ? d.detach().reshape(x.sizes()).to(x.scalar_type()).clone() : at::zeros_like(x);
    return l.item<double>();
  }

 private:
  void set(const at::Tensor& x) {
    ::torch::NoGradGuard ng;
    param_.copy_(x.reshape(param_.sizes()));
  }

  at::Tensor param_, original_;
  std::function<at::Tensor()> loss_;
  std::vector<std::int64_t> shape_;
};

// ptp::landscape normalises directions per row with ops::scale_blocks, which the LibTorch
// backend does not provide; the surface is therefore computed on host copies (Eigen row-major
// float tensors, a few hundred thousand numbers) and every evaluation goes back to the model
// as a tensor on its device. `on_host` is that bridge for any Differentiable in at::Tensor.

template <int N>
using host_tensor = Eigen::Tensor<float, N, Eigen::RowMajor>;

template <int N>
host_tensor<N> to_host(const at::Tensor& t) {
  auto c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  if (c.dim() != N) throw std::invalid_argument("ptp::repro::to_host: rank mismatch");
  Eigen::array<Eigen::Index, N> dims;
  for (int i = 0; i < N; ++i) dims[i] = c.size(i);
  host_tensor<N> h(dims);
  if (c.numel()) std::memcpy(h.data(), c.data_ptr<float>(), sizeof(float) * static_cast<std::size_t>(c.numel()));
  return h;
}

template <int N>
at::Tensor to_device(const host_tensor<N>& h, const at::TensorOptions& like) {
  std::vector<std::int64_t> dims(h.dimensions().begin(), h.dimensions().end());
  return at::from_blob(const_cast<float*>(h.data()), dims, at::kFloat).clone().to(like);
}

/// A Differentiable in at::Tensor seen as one in host_tensor<N>.
template <class F, int N>
class on_host {
 public:
  on_host(F& f, at::TensorOptions like) : f_(f), like_(like) {}
  double evaluate(const host_tensor<N>& x) { return ptp::differentiable_ref<F, at::Tensor>(f_).evaluate(to_device(x, like_)); }
  double evaluate_with_gradient(const host_tensor<N>& x, host_tensor<N>* g, double w) {
    at::Tensor gt;
    const double v = ptp::differentiable_ref<F, at::Tensor>(f_).evaluate_with_gradient(to_device(x, like_), g ? &gt : nullptr, w);
    if (g) *g = to_host<N>(gt);
    return v;
  }

 private:
  F& f_;
  at::TensorOptions like_;
};

}  // namespace ptp::repro
