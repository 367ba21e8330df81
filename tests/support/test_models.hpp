// tests/support/test_models.hpp — shared fixtures for the core and embedding tests: backend tags, tensor
// helpers, and small models with ANALYTIC gradients, generic over the Eigen and xtensor
// adapters (raw row-major loops through ptp::backend<T>::data, so both backends compute
// bit-identical results).
//
//   linear_prompt_model  logits = W · mean_l [prompt; e]_l          (linear in e and θ)
//   tanh_prompt_model    logits = V · mean_l tanh(U^T [prompt; e]_l + c)  (non-linear)
//   linear_loss          L = Σ G·e  (Differentiable with a constant gradient G)
//   recording<F>         forwards to F and records every input it was called with
//   faulty<F>            forwards to F and injects a NaN/Inf loss or gradient at call k
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <tuple>
#include <type_traits>
#include <vector>

#include <ptp/adapters/eigen.hpp>
#include <ptp/adapters/xtensor.hpp>
#include <ptp/ptp.hpp>

namespace ptp_test {

// ---- backends -------------------------------------------------------------------------
template <class S>
struct eigen_backend {
  using value_type = S;
  using T3 = Eigen::Tensor<S, 3, Eigen::RowMajor>;
  using T2 = Eigen::Tensor<S, 2, Eigen::RowMajor>;
};
template <class S>
struct xtensor_backend {
  using value_type = S;
  using T3 = xt::xtensor<S, 3>;
  using T2 = xt::xtensor<S, 2>;
};

using all_backends =
    std::tuple<eigen_backend<float>, xtensor_backend<float>, eigen_backend<double>, xtensor_backend<double>>;
using double_backends = std::tuple<eigen_backend<double>, xtensor_backend<double>>;

/// Relative tolerance for results computed in S (a few ulps of accumulated rounding).
template <class S>
inline constexpr double rel_tol = std::is_same_v<S, float> ? 2e-5 : 1e-12;

// ---- tensor helpers -------------------------------------------------------------------
template <class T>
using value_t = typename ptp::backend<T>::value_type;

template <class T>
value_t<T>* raw(T& t) {
  return ptp::backend<T>::data(t);
}
template <class T>
const value_t<T>* raw(const T& t) {
  return ptp::backend<T>::data(t);
}
template <class T>
std::size_t numel(const T& t) {
  std::size_t n = 1;
  for (auto s : ptp::ops::shape(t)) n *= s;
  return n;
}
template <class T>
T zeros(const ptp::shape_type& s) {
  return ptp::backend<T>::zeros(s);
}
/// U(lo, hi) entries from a private stream (independent of the generators under test).
template <class T>
T uniform_tensor(const ptp::shape_type& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  T t = zeros<T>(s);
  ptp::generator g{.seed = seed, .stream = 0xC0FFEE};
  g.fill_uniform(std::span<value_t<T>>(raw(t), numel(t)), lo, hi);
  return t;
}
/// A B×L mask whose row b has its first len[b] entries set.
template <class M>
M length_mask(std::size_t L, const std::vector<std::size_t>& len) {
  M m = zeros<M>({len.size(), L});
  for (std::size_t b = 0; b < len.size(); ++b)
    for (std::size_t l = 0; l < len[b]; ++l) raw(m)[b * L + l] = 1;
  return m;
}
template <class T>
std::vector<double> to_vector(const T& t) {
  return std::vector<double>(raw(t), raw(t) + numel(t));
}
/// Same shape and the same bits (works across backends).
template <class A, class B>
bool bit_equal(const A& a, const B& b) {
  if (ptp::ops::shape(a) != ptp::ops::shape(b)) return false;
  static_assert(std::is_same_v<value_t<A>, value_t<B>>);
  return std::memcmp(raw(a), raw(b), numel(a) * sizeof(value_t<A>)) == 0;
}
/// Copies the values of `from` into a tensor of another backend with the same shape.
template <class To, class From>
To convert(const From& from) {
  To t = zeros<To>(ptp::ops::shape(from));
  std::copy_n(raw(from), numel(from), raw(t));
  return t;
}
template <class T>
double max_abs(const T& t) {
  double m = 0;
  for (std::size_t i = 0; i < numel(t); ++i) m = std::max(m, std::abs(static_cast<double>(raw(t)[i])));
  return m;
}

// ---- models ---------------------------------------------------------------------------

/// logits[b,c] = (1/(P+L)) Σ_{l,j} W[c,j] x[b,l,j] with x = [prompt; e_b]. θ = the prompt.
template <class Bk>
struct linear_prompt_model {
  using S = typename Bk::value_type;
  using T3 = typename Bk::T3;
  using T2 = typename Bk::T2;

  ptp::soft_prompt<T2, T3> prompt;
  T2 W;  // C×d, frozen

  linear_prompt_model(std::size_t P, std::size_t d, std::size_t C, std::uint64_t seed)
      : prompt(uniform_tensor<T2>({P, d}, seed, -0.5, 0.5)), W(uniform_tensor<T2>({C, d}, seed + 1)) {}

  T2 logits(const T3& e) const {
    const T3 x = prompt.join(e);
    const auto s = ptp::ops::shape(x);
    const std::size_t B = s[0], Lx = s[1], d = s[2], C = ptp::ops::shape(W)[0];
    T2 z = zeros<T2>({B, C});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t c = 0; c < C; ++c) {
        double acc = 0;
        for (std::size_t l = 0; l < Lx; ++l)
          for (std::size_t j = 0; j < d; ++j) acc += double(raw(W)[c * d + j]) * raw(x)[(b * Lx + l) * d + j];
        raw(z)[b * C + c] = static_cast<S>(acc / double(Lx));
      }
    return z;
  }
  void logits_backward(const T3& e, const T2& dz, T3* grad_e, double w) {
    const auto s = ptp::ops::shape(e);
    const std::size_t B = s[0], Lx = s[1] + prompt.length(), d = s[2], C = ptp::ops::shape(W)[0];
    T3 gx = zeros<T3>({B, Lx, d});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < d; ++j) {
        double acc = 0;
        for (std::size_t c = 0; c < C; ++c) acc += double(raw(dz)[b * C + c]) * raw(W)[c * d + j];
        for (std::size_t l = 0; l < Lx; ++l) raw(gx)[(b * Lx + l) * d + j] = static_cast<S>(acc / double(Lx));
      }
    prompt.split_gradient(gx, grad_e, w);
  }
};

/// logits[b,:] = V · (1/(P+L)) Σ_l tanh(U^T x[b,l,:] + c), x = [prompt; e_b]; θ = the prompt.
template <class Bk>
struct tanh_prompt_model {
  using S = typename Bk::value_type;
  using T3 = typename Bk::T3;
  using T2 = typename Bk::T2;

  ptp::soft_prompt<T2, T3> prompt;
  T2 U;  // d×H
  T2 c;  // 1×H
  T2 V;  // C×H

  tanh_prompt_model(std::size_t P, std::size_t d, std::size_t H, std::size_t C, std::uint64_t seed)
      : prompt(uniform_tensor<T2>({P, d}, seed, -0.5, 0.5)),
        U(uniform_tensor<T2>({d, H}, seed + 1)),
        c(uniform_tensor<T2>({1, H}, seed + 2, -0.3, 0.3)),
        V(uniform_tensor<T2>({C, H}, seed + 3, -2.0, 2.0)) {}

  std::size_t hidden() const { return ptp::ops::shape(U)[1]; }
  std::size_t classes() const { return ptp::ops::shape(V)[0]; }

  // h[k] = tanh(U^T x + c) for one token.
  void hidden_of(const S* x, std::size_t d, double* h) const {
    for (std::size_t k = 0; k < hidden(); ++k) {
      double a = raw(c)[k];
      for (std::size_t j = 0; j < d; ++j) a += double(x[j]) * raw(U)[j * hidden() + k];
      h[k] = std::tanh(a);
    }
  }

  T2 logits(const T3& e) const {
    const T3 x = prompt.join(e);
    const auto s = ptp::ops::shape(x);
    const std::size_t B = s[0], Lx = s[1], d = s[2], H = hidden(), C = classes();
    T2 z = zeros<T2>({B, C});
    std::vector<double> h(H), pool(H);
    for (std::size_t b = 0; b < B; ++b) {
      std::fill(pool.begin(), pool.end(), 0.0);
      for (std::size_t l = 0; l < Lx; ++l) {
        hidden_of(raw(x) + (b * Lx + l) * d, d, h.data());
        for (std::size_t k = 0; k < H; ++k) pool[k] += h[k] / double(Lx);
      }
      for (std::size_t cc = 0; cc < C; ++cc) {
        double acc = 0;
        for (std::size_t k = 0; k < H; ++k) acc += double(raw(V)[cc * H + k]) * pool[k];
        raw(z)[b * C + cc] = static_cast<S>(acc);
      }
    }
    return z;
  }

  void logits_backward(const T3& e, const T2& dz, T3* grad_e, double w) {
    const T3 x = prompt.join(e);
    const auto s = ptp::ops::shape(x);
    const std::size_t B = s[0], Lx = s[1], d = s[2], H = hidden(), C = classes();
    T3 gx = zeros<T3>({B, Lx, d});
    std::vector<double> h(H), dpool(H);
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t k = 0; k < H; ++k) {
        double acc = 0;
        for (std::size_t cc = 0; cc < C; ++cc) acc += double(raw(dz)[b * C + cc]) * raw(V)[cc * H + k];
        dpool[k] = acc / double(Lx);
      }
      for (std::size_t l = 0; l < Lx; ++l) {
        hidden_of(raw(x) + (b * Lx + l) * d, d, h.data());
        for (std::size_t j = 0; j < d; ++j) {
          double acc = 0;
          for (std::size_t k = 0; k < H; ++k) acc += dpool[k] * (1.0 - h[k] * h[k]) * raw(U)[j * H + k];
          raw(gx)[(b * Lx + l) * d + j] = static_cast<S>(acc);
        }
      }
    }
    prompt.split_gradient(gx, grad_e, w);
  }
};

/// L(e) = Σ G·e: a Differentiable (evaluate + gradient form) with constant gradient G and no
/// parameters — the closed-form target for FGM/PGD.
template <class T>
struct linear_loss {
  T G;
  double evaluate(const T& e) { return ptp::ops::dot(G, e); }
  void gradient(const T&, T* g, double) {
    if (g) *g = ptp::ops::copy(G);
  }
};

// ---- wrappers -------------------------------------------------------------------------

/// Forwards to F and records each call: its input, whether ∇_e was requested, its θ-weight.
template <class F, class T>
class recording {
 public:
  enum class kind { evaluate, with_gradient, logits, logits_backward };
  struct call {
    kind k;
    T x;
    bool grad_e;  // a ∇_e was requested (ascent / clean gradient)
    double w;     // weight of ∇_θ
  };
  std::vector<call> calls;

  explicit recording(F& f) : f_(f) {}

  double evaluate(const T& e) {
    calls.push_back({kind::evaluate, ptp::ops::copy(e), false, 0.0});
    return ptp::differentiable_ref<F, T>(f_).evaluate(e);
  }
  double evaluate_with_gradient(const T& e, T* g, double w) {
    calls.push_back({kind::with_gradient, ptp::ops::copy(e), g != nullptr, w});
    return ptp::differentiable_ref<F, T>(f_).evaluate_with_gradient(e, g, w);
  }
  auto logits(const T& e)
    requires ptp::detail::has_logits<F, T>
  {
    calls.push_back({kind::logits, ptp::ops::copy(e), false, 0.0});
    return f_.logits(e);
  }
  template <class Z>
  void logits_backward(const T& e, const Z& dz, T* g, double w)
    requires ptp::detail::has_logits<F, T>
  {
    calls.push_back({kind::logits_backward, ptp::ops::copy(e), g != nullptr, w});
    f_.logits_backward(e, dz, g, w);
  }
  auto labels() const
    requires requires(F& f) { f.labels(); }
  {
    return f_.labels();
  }

  /// Inputs of the calls of one kind, in order.
  std::vector<T> inputs(kind k) const {
    std::vector<T> out;
    for (const auto& c : calls)
      if (c.k == k) out.push_back(ptp::ops::copy(c.x));
    return out;
  }

 private:
  F& f_;
};

/// Forwards to F; at evaluate_with_gradient call number `bad_call` (0-based) it returns a NaN
/// loss (bad_gradient = false) or writes +Inf into the gradient (bad_gradient = true).
template <class F, class T>
struct faulty {
  F& f;
  int bad_call;
  bool bad_gradient;
  int calls = 0;

  double evaluate(const T& e) { return ptp::differentiable_ref<F, T>(f).evaluate(e); }
  double evaluate_with_gradient(const T& e, T* g, double w) {
    const int k = calls++;
    double l = ptp::differentiable_ref<F, T>(f).evaluate_with_gradient(e, g, w);
    if (k == bad_call) {
      if (!bad_gradient) l = std::numeric_limits<double>::quiet_NaN();
      else if (g) raw(*g)[numel(*g) - 1] = std::numeric_limits<value_t<T>>::infinity();
    }
    return l;
  }
};

// ---- a standard problem ---------------------------------------------------------------

/// A small batch for a tanh model: e (B×L×d), a mask with lengths `len` (an all-padding row
/// included by default), labels, and the model wrapped as a supervised Differentiable.
template <class Bk>
struct problem {
  using S = typename Bk::value_type;
  using T3 = typename Bk::T3;
  using T2 = typename Bk::T2;
  static constexpr std::size_t P = 2, d = 5, H = 6, C = 3;

  std::vector<std::size_t> len;
  std::size_t L;
  T3 e;
  T2 mask;
  std::vector<std::int64_t> y;
  tanh_prompt_model<Bk> model;
  ptp::supervised<tanh_prompt_model<Bk>, T3> f;

  explicit problem(std::vector<std::size_t> lengths = {7, 3, 0, 5}, std::size_t L_ = 7, std::uint64_t seed = 11)
      : len(std::move(lengths)),
        L(L_),
        e(uniform_tensor<T3>({len.size(), L, d}, seed)),
        mask(length_mask<T2>(L, len)),
        y(make_labels(len.size())),
        model(P, d, H, C, seed + 100),
        f(model, y) {}

  static std::vector<std::int64_t> make_labels(std::size_t B) {
    std::vector<std::int64_t> y(B);
    for (std::size_t b = 0; b < B; ++b) y[b] = static_cast<std::int64_t>((b * 2 + 1) % C);
    return y;
  }
};

/// One of each embedding stage, with strengths large enough to be visible.
inline auto all_stages() {
  using namespace ptp::embedding;
  return std::tuple{
      gaussian{.sigma = 0.1},
      uniform{.epsilon = 0.1},
      neftune{.alpha = 5.0},
      fgm{.epsilon = 0.5},
      fgm{.epsilon = 0.1, .norm = ptp::norm_type::linf},
      pgd{.steps = 3, .step_size = 0.2, .epsilon = 0.5},
      pgd{.steps = 2, .step_size = 0.05, .epsilon = 0.1, .init = init_kind::random, .init_magnitude = 0.1,
          .norm = ptp::norm_type::linf},
      freelb{.steps = 3, .step_size = 0.1, .epsilon = 0.4},
      freelb{.steps = 2, .step_size = 0.05, .epsilon = 0.1, .norm = ptp::norm_type::linf},
      smart{.steps = 2, .step_size = 1e-2, .sigma = 1e-2},
      r3f{.epsilon = 0.05},
      r3f{.epsilon = 0.05, .noise = r3f::noise_kind::normal},
  };
}

template <class S>
const char* stage_name() {
  using namespace ptp::embedding;
  if constexpr (std::is_same_v<S, gaussian>) return "gaussian";
  else if constexpr (std::is_same_v<S, uniform>) return "uniform";
  else if constexpr (std::is_same_v<S, neftune>) return "neftune";
  else if constexpr (std::is_same_v<S, fgm>) return "fgm";
  else if constexpr (std::is_same_v<S, pgd>) return "pgd";
  else if constexpr (std::is_same_v<S, freelb>) return "freelb";
  else if constexpr (std::is_same_v<S, smart>) return "smart";
  else if constexpr (std::is_same_v<S, r3f>) return "r3f";
  else return "?";
}

/// Calls fn(stage, index) for each stage of all_stages().
template <class Fn>
void for_each_stage(Fn&& fn) {
  auto stages = all_stages();
  std::size_t i = 0;
  std::apply([&](const auto&... s) { (fn(s, i++), ...); }, stages);
}

}  // namespace ptp_test
