// ptp/backend.hpp — the one door between ptp's algorithms and a tensor library.
//
// Core code never names Eigen, xtensor or torch. It calls the operations in ptp::ops,
// which dispatch to ptp::backend<T>:
//  * an adapter that can hand out contiguous row-major host memory provides only
//    `shape`, `zeros_like` and `data` — every operation then runs as one fused host loop
//    (defined here), identical bit for bit across such backends;
//  * an adapter for device tensors (LibTorch) provides the operations themselves, named
//    as below, and the dispatch picks them over the host loops.
//
// Shapes: embeddings and perturbations are B×L×d (batch, tokens, width); masks are B×L with
// 1 for positions that may be perturbed and 0 for padding/special/prompt positions.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "ptp/random.hpp"

namespace ptp {

/// Specialised by each adapter; the primary template is deliberately undefined so a
/// missing adapter is a compile error naming `ptp::backend<YourType>`.
template <class T>
struct backend;

/// A tensor's extents, outermost first.
using shape_type = std::vector<std::size_t>;

/// Which norm a step or projection uses.
enum class norm_type { l2, linf };

/// Over which block a norm is taken: one per token (last axis), one per example (L×d),
/// or one for the whole tensor.
enum class granularity { token, example, global };

/// How an ascent step turns a gradient g into a direction.
enum class step_rule {
  l2,        ///< g / ‖g‖₂ over the block (FGM, PGD-L2, FreeLB-L2)
  sign,      ///< sign(g) (FGSM, PGD-L∞)
  linf,      ///< g / ‖g‖∞ over the block (FreeLB-L∞, SMART)
};

/// Thrown when shapes disagree; the message names both shapes.
class shape_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when a gradient or loss is not finite; the message says which one.
class non_finite_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Norms are clamped from below by this before dividing (docs/algorithms.md §3: zero
/// gradient → no NaN).
inline constexpr double min_norm = 1e-12;

[[nodiscard]] inline std::string to_string(const shape_type& s) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < s.size(); ++i) os << (i ? "×" : "") << s[i];
  os << ']';
  return os.str();
}

namespace detail {

template <class T>
concept has_backend = requires { sizeof(backend<std::remove_cvref_t<T>>); };

// The three members every backend has (the `Tensor` concept in concepts.hpp restates them
// with documentation).
template <class T>
concept backend_basics = has_backend<T> && requires(const T& c) {
  { backend<T>::shape(c) } -> std::convertible_to<shape_type>;
  { backend<T>::zeros_like(c) } -> std::same_as<T>;
};

// Host-contiguous backends: row-major memory we may loop over directly.
template <class T>
concept host_contiguous = backend_basics<T> && requires(T& t, const T& c) {
  { backend<T>::data(t) } -> std::convertible_to<typename backend<T>::value_type*>;
  { backend<T>::data(c) } -> std::convertible_to<const typename backend<T>::value_type*>;
};

inline std::size_t numel(const shape_type& s) {
  std::size_t n = 1;
  for (auto e : s) n *= e;
  return n;
}

// Splits a B×L×d shape into (blocks, block size) for a granularity.
inline std::pair<std::size_t, std::size_t> blocks_of(const shape_type& s, granularity g) {
  const std::size_t n = numel(s);
  if (n == 0) return {0, 0};
  switch (g) {
    case granularity::token: return {n / s.back(), s.back()};
    case granularity::example: return {s.front(), n / s.front()};
    case granularity::global: return {1, n};
  }
  return {1, n};
}

}  // namespace detail

namespace ops {

/// The shape of any tensor.
template <class T>
[[nodiscard]] shape_type shape(const T& t) {
  return backend<T>::shape(t);
}

/// A zero tensor of t's shape (and device/dtype).
template <class T>
[[nodiscard]] T zeros_like(const T& t) {
  return backend<T>::zeros_like(t);
}

/// Throws shape_error unless a and b have the same shape.
template <class A, class B>
void require_same_shape(const A& a, const B& b, const char* what) {
  const auto sa = shape(a), sb = shape(b);
  if (sa != sb)
    throw shape_error(std::string(what) + ": shapes differ, " + to_string(sa) + " vs " + to_string(sb));
}

/// Throws shape_error unless e is B×L×d and mask is B×L.
template <class T, class M>
void require_embedding_and_mask(const T& e, const M& mask, const char* what) {
  const auto se = shape(e), sm = shape(mask);
  if (se.size() != 3)
    throw shape_error(std::string(what) + ": embeddings must be B×L×d, got " + to_string(se));
  if (sm.size() != 2 || sm[0] != se[0] || sm[1] != se[1])
    throw shape_error(std::string(what) + ": mask must be B×L = " + to_string({se[0], se[1]}) + ", got " +
                      to_string(sm));
}

/// A deep copy.
template <class T>
[[nodiscard]] T copy(const T& t) {
  if constexpr (requires { backend<T>::copy(t); }) {
    return backend<T>::copy(t);
  } else {
    static_assert(detail::host_contiguous<T>, "ptp::backend<T> needs `copy` or `data`");
    T out = backend<T>::zeros_like(t);
    const auto n = detail::numel(shape(t));
    std::copy_n(backend<T>::data(t), n, backend<T>::data(out));
    return out;
  }
}

/// t's values in row-major order on the host, as V (float or double): host backends read
/// `data`, device backends provide `to_host(t, std::span<V>)`. For code that must read a
/// gradient on the CPU (A2T's word importance).
template <class V, class T>
[[nodiscard]] std::vector<V> to_host(const T& t) {
  std::vector<V> out(detail::numel(backend<T>::shape(t)));
  if constexpr (requires(std::span<V> o) { backend<T>::to_host(t, o); }) {
    backend<T>::to_host(t, std::span<V>(out));
  } else {
    static_assert(detail::host_contiguous<T>, "ptp::backend<T> needs `to_host(const T&, std::span<V>)` or `data`");
    const auto* p = backend<T>::data(t);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<V>(p[i]);
  }
  return out;
}

/// y ← y + a·x (the triad every fused update is measured against).
template <class T>
void axpy(T& y, double a, const T& x) {
  if constexpr (requires { backend<T>::axpy(y, a, x); }) {
    backend<T>::axpy(y, a, x);
  } else {
    require_same_shape(y, x, "ptp::ops::axpy");
    using V = typename backend<T>::value_type;
    V* __restrict py = backend<T>::data(y);
    const V* __restrict px = backend<T>::data(x);
    const auto n = detail::numel(shape(y));
    const V av = static_cast<V>(a);
    for (std::size_t i = 0; i < n; ++i) py[i] += av * px[i];
  }
}

/// x + y as a new tensor.
template <class T>
[[nodiscard]] T add(const T& x, const T& y) {
  if constexpr (requires { backend<T>::add(x, y); }) {
    return backend<T>::add(x, y);
  } else {
    T out = copy(x);
    axpy(out, 1.0, y);
    return out;
  }
}

/// t ← s·t.
template <class T>
void scale(T& t, double s) {
  if constexpr (requires { backend<T>::scale(t, s); }) {
    backend<T>::scale(t, s);
  } else {
    using V = typename backend<T>::value_type;
    V* p = backend<T>::data(t);
    const auto n = detail::numel(shape(t));
    for (std::size_t i = 0; i < n; ++i) p[i] *= static_cast<V>(s);
  }
}

/// Σ a·b over all elements (double accumulation).
template <class T>
[[nodiscard]] double dot(const T& a, const T& b) {
  if constexpr (requires { backend<T>::dot(a, b); }) {
    return backend<T>::dot(a, b);
  } else {
    require_same_shape(a, b, "ptp::ops::dot");
    const auto* pa = backend<T>::data(a);
    const auto* pb = backend<T>::data(b);
    const auto n = detail::numel(shape(a));
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(pa[i]) * static_cast<double>(pb[i]);
    return s;
  }
}

/// True when every element is finite.
template <class T>
[[nodiscard]] bool all_finite(const T& t) {
  if constexpr (requires { backend<T>::all_finite(t); }) {
    return backend<T>::all_finite(t);
  } else {
    const auto* p = backend<T>::data(t);
    const auto n = detail::numel(shape(t));
    bool ok = true;
    for (std::size_t i = 0; i < n; ++i) ok &= std::isfinite(p[i]);
    return ok;
  }
}

/// Fills t with N(0, σ²) from ptp's generator (same bits on every host backend).
template <class T>
void fill_normal(T& t, generator& gen, double stddev) {
  if constexpr (requires { backend<T>::fill_normal(t, gen, stddev); }) {
    backend<T>::fill_normal(t, gen, stddev);
  } else {
    using V = typename backend<T>::value_type;
    gen.fill_normal(std::span<V>(backend<T>::data(t), detail::numel(shape(t))), 0.0, stddev);
  }
}

/// Fills t with U(lo, hi) from ptp's generator.
template <class T>
void fill_uniform(T& t, generator& gen, double lo, double hi) {
  if constexpr (requires { backend<T>::fill_uniform(t, gen, lo, hi); }) {
    backend<T>::fill_uniform(t, gen, lo, hi);
  } else {
    using V = typename backend<T>::value_type;
    gen.fill_uniform(std::span<V>(backend<T>::data(t), detail::numel(shape(t))), lo, hi);
  }
}

/// Per-example count of unmasked positions (the real length L_b; docs/algorithms.md §3 NEFTune).
template <class M>
[[nodiscard]] std::vector<double> mask_lengths(const M& mask) {
  if constexpr (requires { backend<M>::mask_lengths(mask); }) {
    return backend<M>::mask_lengths(mask);
  } else {
    const auto s = shape(mask);
    std::vector<double> len(s.at(0), 0.0);
    const auto* p = backend<M>::data(mask);
    for (std::size_t b = 0; b < s[0]; ++b)
      for (std::size_t l = 0; l < s[1]; ++l) len[b] += p[b * s[1] + l] != 0 ? 1.0 : 0.0;
    return len;
  }
}

/// δ ← δ·mask (zero every masked-out token) and, with per-example factors, δ_b ← f_b·δ_b.
/// One pass; `factors` may be empty (then only the mask applies).
template <class T, class M>
void mask_and_scale(T& t, const M& mask, std::span<const double> factors = {}) {
  if constexpr (requires { backend<T>::mask_and_scale(t, mask, factors); }) {
    backend<T>::mask_and_scale(t, mask, factors);
  } else {
    require_embedding_and_mask(t, mask, "ptp::ops::mask_and_scale");
    const auto s = shape(t);
    if (!factors.empty() && factors.size() != s[0])
      throw shape_error("ptp::ops::mask_and_scale: " + std::to_string(factors.size()) + " factors for batch " +
                        std::to_string(s[0]));
    using V = typename backend<T>::value_type;
    V* p = backend<T>::data(t);
    const auto* m = backend<M>::data(mask);
    const std::size_t L = s[1], d = s[2];
    for (std::size_t b = 0; b < s[0]; ++b) {
      const V f = factors.empty() ? V(1) : static_cast<V>(factors[b]);
      for (std::size_t l = 0; l < L; ++l) {
        V* row = p + (b * L + l) * d;
        const V k = m[b * L + l] != 0 ? f : V(0);
        for (std::size_t j = 0; j < d; ++j) row[j] *= k;
      }
    }
  }
}

/// Norms of t per block (token, example or global), as doubles, in block order.
template <class T>
[[nodiscard]] std::vector<double> norms(const T& t, norm_type n, granularity g) {
  if constexpr (requires { backend<T>::norms(t, n, g); }) {
    return backend<T>::norms(t, n, g);
  } else {
    const auto [nb, bs] = detail::blocks_of(shape(t), g);
    const auto* p = backend<T>::data(t);
    std::vector<double> out(nb, 0.0);
    for (std::size_t b = 0; b < nb; ++b) {
      const auto* q = p + b * bs;
      double acc = 0;
      if (n == norm_type::l2) {
        for (std::size_t i = 0; i < bs; ++i) acc += static_cast<double>(q[i]) * q[i];
        acc = std::sqrt(acc);
      } else {
        for (std::size_t i = 0; i < bs; ++i) acc = std::max(acc, std::abs(static_cast<double>(q[i])));
      }
      out[b] = acc;
    }
    return out;
  }
}

namespace detail_host {

// Reductions keep 8 independent double partial sums (a fixed order, so every host backend
// gets the same bits) which the compiler can keep in vector registers.
template <class V>
double sum_squares(const V* __restrict x, std::size_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[i + k]) * static_cast<double>(x[i + k]);
  for (; i < n; ++i) acc[i % 8] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}
template <class V>
double max_abs(const V* __restrict x, std::size_t n) {
  V acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) {
      const V a = x[i + k] < V(0) ? -x[i + k] : x[i + k];
      acc[k] = acc[k] < a ? a : acc[k];
    }
  for (; i < n; ++i) {
    const V a = x[i] < V(0) ? -x[i] : x[i];
    acc[i % 8] = acc[i % 8] < a ? a : acc[i % 8];
  }
  V m = acc[0];
  for (std::size_t k = 1; k < 8; ++k) m = m < acc[k] ? acc[k] : m;
  if (m != m) return m;  // NaN propagates
  return static_cast<double>(m);
}

// One block of the fused ascent + projection; the block (≤ L×d) stays in cache between
// its sweeps, so main-memory traffic is that of the triad: read g, read δ, write δ.
template <class V>
void ascent_block(V* __restrict d, const V* __restrict g, std::size_t n, double alpha, step_rule rule,
                  double eps, norm_type proj) {
  double gn = 0;
  if (rule == step_rule::l2) gn = std::sqrt(sum_squares(g, n));
  else if (rule == step_rule::linf) gn = max_abs(g, n);
  const V a = static_cast<V>(rule == step_rule::sign ? alpha : alpha / std::max(gn, min_norm));
  if (rule == step_rule::sign) {
    for (std::size_t i = 0; i < n; ++i) d[i] += a * static_cast<V>((g[i] > V(0)) - (g[i] < V(0)));
  } else {
    for (std::size_t i = 0; i < n; ++i) d[i] += a * g[i];
  }
  if (eps <= 0) return;  // ε = 0: unbounded
  if (proj == norm_type::linf) {
    const V e = static_cast<V>(eps);
    for (std::size_t i = 0; i < n; ++i) d[i] = d[i] < -e ? -e : (d[i] > e ? e : d[i]);
  } else {
    const double dn = std::sqrt(sum_squares(d, n));
    if (dn > eps) {
      const V f = static_cast<V>(eps / dn);
      for (std::size_t i = 0; i < n; ++i) d[i] *= f;
    }
  }
}

}  // namespace detail_host

/// The fused ascent step of FGM/PGD/FreeLB/SMART:
///   δ ← Π_ε(δ + α·dir(g)),  dir by `rule` over each `block`, Π onto the ε-ball of `proj`
///   (rescale for L2, clamp for L∞) over the same block; ε = 0 leaves δ unbounded.
/// Gradient norms are clamped at 1e-12 so a zero gradient gives a zero step, never NaN.
/// Masking is the caller's: pass a gradient that is already zero at masked positions.
template <class T>
void ascent_step(T& delta, const T& grad, double alpha, step_rule rule, granularity block, double eps,
                 norm_type proj) {
  if constexpr (requires { backend<T>::ascent_step(delta, grad, alpha, rule, block, eps, proj); }) {
    backend<T>::ascent_step(delta, grad, alpha, rule, block, eps, proj);
  } else {
    require_same_shape(delta, grad, "ptp::ops::ascent_step (δ vs gradient)");
    const auto [nb, bs] = detail::blocks_of(shape(delta), block);
    auto* d = backend<T>::data(delta);
    const auto* g = backend<T>::data(grad);
    for (std::size_t b = 0; b < nb; ++b) detail_host::ascent_block(d + b * bs, g + b * bs, bs, alpha, rule, eps, proj);
  }
}

/// Projection alone: δ ← Π_ε(δ) per block (rescale for L2, clamp for L∞); ε = 0 is a no-op.
template <class T>
void project(T& delta, double eps, norm_type proj, granularity block) {
  if (eps <= 0) return;
  if constexpr (requires { backend<T>::project(delta, eps, proj, block); }) {
    backend<T>::project(delta, eps, proj, block);
  } else {
    const auto [nb, bs] = detail::blocks_of(shape(delta), block);
    auto* d = backend<T>::data(delta);
    using V = typename backend<T>::value_type;
    for (std::size_t b = 0; b < nb; ++b) {
      V* q = d + b * bs;
      if (proj == norm_type::linf) {
        const V e = static_cast<V>(eps);
        for (std::size_t i = 0; i < bs; ++i) q[i] = std::clamp(q[i], -e, e);
      } else {
        double n = 0;
        for (std::size_t i = 0; i < bs; ++i) n += static_cast<double>(q[i]) * q[i];
        n = std::sqrt(n);
        if (n > eps)
          for (std::size_t i = 0; i < bs; ++i) q[i] *= static_cast<V>(eps / n);
      }
    }
  }
}

/// t_b ← f_b·t_b for every block b of a granularity (one factor per block).
template <class T>
void scale_blocks(T& t, std::span<const double> factors, granularity block) {
  if constexpr (requires { backend<T>::scale_blocks(t, factors, block); }) {
    backend<T>::scale_blocks(t, factors, block);
  } else {
    const auto [nb, bs] = detail::blocks_of(shape(t), block);
    if (factors.size() != nb)
      throw shape_error("ptp::ops::scale_blocks: " + std::to_string(factors.size()) + " factors for " +
                        std::to_string(nb) + " blocks of " + to_string(shape(t)));
    auto* p = backend<T>::data(t);
    using V = typename backend<T>::value_type;
    for (std::size_t b = 0; b < nb; ++b) {
      const V f = static_cast<V>(factors[b]);
      for (std::size_t i = 0; i < bs; ++i) p[b * bs + i] *= f;
    }
  }
}

/// δ ← δ / (‖δ‖∞ per token + floor): SMART's per-token normalisation (mt-dnn's default).
template <class T>
void normalize_per_token_linf(T& delta, double floor = 1e-6) {
  if constexpr (requires { backend<T>::normalize_per_token_linf(delta, floor); }) {
    backend<T>::normalize_per_token_linf(delta, floor);
  } else {
    const auto [nb, bs] = detail::blocks_of(shape(delta), granularity::token);
    auto* d = backend<T>::data(delta);
    using V = typename backend<T>::value_type;
    for (std::size_t b = 0; b < nb; ++b) {
      V* q = d + b * bs;
      double m = 0;
      for (std::size_t i = 0; i < bs; ++i) m = std::max(m, std::abs(static_cast<double>(q[i])));
      const V f = static_cast<V>(1.0 / (m + floor));
      for (std::size_t i = 0; i < bs; ++i) q[i] *= f;
    }
  }
}

}  // namespace ops
}  // namespace ptp
