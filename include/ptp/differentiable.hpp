// ptp/differentiable.hpp — adapting user models to the Differentiable concept.
//  * ptp::differentiable(f): gives any Differentiable all three members (ensmallen-style
//    synthesis: evaluate_with_gradient from evaluate + gradient, or the reverse).
//  * ptp::supervised(model, labels): a LogitModel plus class labels is a Differentiable
//    with mean cross-entropy.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/concepts.hpp"
#include "ptp/losses.hpp"

namespace ptp {

/// A view of f with evaluate, gradient and evaluate_with_gradient, whichever f provides.
/// @tparam F satisfies Differentiable<F, T> (one of the two forms).
template <class F, class T>
class differentiable_ref {
 public:
  explicit differentiable_ref(F& f) : f_(f) { check::differentiable<F, T>(); }

  /// The loss at e; no gradient is touched.
  double evaluate(const T& e) {
    if constexpr (detail::has_evaluate<F, T>) return f_.evaluate(e);
    else return f_.evaluate_with_gradient(e, static_cast<T*>(nullptr), 0.0);
  }
  /// ∇_e L into *g (if g); w·∇_θ L added to the parameters' gradient.
  void gradient(const T& e, T* g, double w) {
    if constexpr (detail::has_gradient<F, T>) f_.gradient(e, g, w);
    else (void)f_.evaluate_with_gradient(e, g, w);
  }
  /// Both, in one pass where f allows it.
  double evaluate_with_gradient(const T& e, T* g, double w) {
    if constexpr (detail::has_evaluate_with_gradient<F, T>) {
      return f_.evaluate_with_gradient(e, g, w);
    } else {
      const double v = f_.evaluate(e);
      f_.gradient(e, g, w);
      return v;
    }
  }
  F& get() { return f_; }

 private:
  F& f_;
};

/// Wraps a LogitModel with labels as a Differentiable (mean cross-entropy) that stays a
/// LogitModel, so it serves both task-loss and consistency objectives.
/// @code
///   ptp::supervised<MyModel, Tensor3> f(model, labels);
///   double loss = reg.loss(f, e, mask, gen, ptp::mode::train);
/// @endcode
template <class M, class T>
class supervised {
 public:
  supervised(M& model, std::span<const std::int64_t> labels) : m_(model), labels_(labels.begin(), labels.end()) {
    check::logit_model<M, T>();
  }
  using logits_type = detail::logits_t<M, T>;

  double evaluate(const T& e) { return losses::cross_entropy(m_.logits(e), labels()); }
  double evaluate_with_gradient(const T& e, T* g, double w) {
    const auto z = m_.logits(e);
    logits_type dz;
    const double loss = losses::cross_entropy(z, labels(), &dz);
    m_.logits_backward(e, dz, g, w);
    return loss;
  }
  auto logits(const T& e) { return m_.logits(e); }
  void logits_backward(const T& e, const logits_type& dz, T* g, double w) { m_.logits_backward(e, dz, g, w); }
  std::span<const std::int64_t> labels() const { return labels_; }
  M& model() { return m_; }

 private:
  M& m_;
  std::vector<std::int64_t> labels_;
};

}  // namespace ptp
