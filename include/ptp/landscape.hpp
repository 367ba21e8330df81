// ptp/landscape.hpp — the paper's loss-landscape picture (docs/algorithms.md §6) and sharpness
// numbers.
//
// Around a point x0 (the input embeddings of a batch — the paper's framing: "a small change
// of the input" — or the prompt parameters), evaluate L(x0 + a·d1 + b·d2) on a 2-D grid:
//   d1 = the gradient direction ∇L(x0),
//   d2 = a random Gaussian direction,
// both normalised per filter (Li et al., "Visualizing the Loss Landscape of Neural Nets",
// NeurIPS 2018: each row — a token's embedding, a prompt vector — rescaled to the norm of
// the same row of x0), then d2 made orthogonal to d1 by Gram–Schmidt and rescaled back to
// its filter-normalised length (so the axes stay comparable and exactly orthogonal).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/concepts.hpp"
#include "ptp/differentiable.hpp"
#include "ptp/random.hpp"

namespace ptp::landscape {

/// Grid and normalisation settings.
struct options {
  std::size_t points = 21;          ///< grid points per axis (odd keeps x0 on the grid)
  double radius = 1.0;              ///< the grid spans [−radius, radius] on both axes
  bool filter_normalize = true;     ///< Li et al. per-row normalisation (false: unit global norm)
  double sharpness_radius = 0.5;    ///< r for the "largest increase within r" number
};

/// The surface and its summary numbers.
struct surface {
  std::vector<double> axis;         ///< coordinates along both axes (same for a and b)
  std::vector<double> loss;         ///< loss[i·n + j] at (a = axis[i], b = axis[j])
  double center_loss = 0;           ///< L(x0)
  double max_increase = 0;          ///< max over grid points with √(a²+b²) ≤ r of L − L(x0)
  double mean_increase = 0;         ///< mean over the whole grid of L − L(x0)
  double direction_cosine = 0;      ///< cos(d1, d2) after orthogonalisation (≈ 0)
  [[nodiscard]] double at(std::size_t i, std::size_t j) const { return loss[i * axis.size() + j]; }
};

namespace detail {

// Rescales every row of d to the norm of the same row of x0 (rows = last axis).
template <class T>
void filter_normalize(T& d, const T& x0) {
  const auto nd = ops::norms(d, norm_type::l2, granularity::token);
  const auto nx = ops::norms(x0, norm_type::l2, granularity::token);
  std::vector<double> f(nd.size());
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = nd[i] > min_norm ? nx[i] / nd[i] : 0.0;
  ops::scale_blocks(d, f, granularity::token);
}

template <class T>
void unit_normalize(T& d) {
  const double n = std::sqrt(ops::dot(d, d));
  ops::scale(d, n > min_norm ? 1.0 / n : 0.0);
}

}  // namespace detail

/// The two directions (d1 along the gradient, d2 random and orthogonal to d1).
template <class T>
struct directions {
  T d1, d2;
};

/// Builds the directions at x0 for the loss f (a Differentiable in x). `mask`, when given
/// (B×L for embeddings), zeroes positions that must not move (padding, special tokens).
template <class F, class T, class M = T>
directions<T> make_directions(F& f, const T& x0, generator& gen, const options& opt, const M* mask = nullptr) {
  differentiable_ref<F, T> fd(f);
  T g = ops::zeros_like(x0);
  fd.gradient(x0, &g, 0.0);
  if (!ops::all_finite(g)) throw non_finite_error("ptp::landscape: non-finite gradient at the centre point");
  T r = ops::zeros_like(x0);
  ops::fill_normal(r, gen, 1.0);
  if (mask) {
    ops::mask_and_scale(g, *mask);
    ops::mask_and_scale(r, *mask);
  }
  auto norm_one = [&](T& d) {
    if (opt.filter_normalize) detail::filter_normalize(d, x0);
    else detail::unit_normalize(d);
  };
  norm_one(g);
  norm_one(r);
  const double len_r = std::sqrt(ops::dot(r, r));
  const double gg = ops::dot(g, g);
  if (gg > min_norm) ops::axpy(r, -ops::dot(r, g) / gg, g);
  const double len_after = std::sqrt(ops::dot(r, r));
  if (len_after > min_norm) ops::scale(r, len_r / len_after);
  return {std::move(g), std::move(r)};
}

/// Evaluates the loss surface around x0 along the given directions.
template <class F, class T>
surface evaluate(F& f, const T& x0, const directions<T>& dir, const options& opt) {
  if (opt.points < 2) throw std::invalid_argument("ptp::landscape: points must be ≥ 2, got " + std::to_string(opt.points));
  differentiable_ref<F, T> fd(f);
  surface s;
  const std::size_t n = opt.points;
  s.axis.resize(n);
  for (std::size_t i = 0; i < n; ++i) s.axis[i] = -opt.radius + 2.0 * opt.radius * static_cast<double>(i) / static_cast<double>(n - 1);
  s.center_loss = fd.evaluate(x0);
  s.loss.resize(n * n);
  double sum = 0;
  s.max_increase = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      T x = ops::copy(x0);
      ops::axpy(x, s.axis[i], dir.d1);
      ops::axpy(x, s.axis[j], dir.d2);
      const double l = fd.evaluate(x);
      s.loss[i * n + j] = l;
      sum += l - s.center_loss;
      if (std::hypot(s.axis[i], s.axis[j]) <= opt.sharpness_radius + 1e-12)
        s.max_increase = std::max(s.max_increase, l - s.center_loss);
    }
  }
  s.mean_increase = sum / static_cast<double>(n * n);
  const double n1 = std::sqrt(ops::dot(dir.d1, dir.d1)), n2 = std::sqrt(ops::dot(dir.d2, dir.d2));
  s.direction_cosine = (n1 > min_norm && n2 > min_norm) ? ops::dot(dir.d1, dir.d2) / (n1 * n2) : 0.0;
  return s;
}

/// Directions + surface in one call.
/// @code
///   ptp::generator gen{.seed = 7};
///   auto s = ptp::landscape::loss_surface(f, embeddings, gen, {.points = 31, .radius = 1.0}, &mask);
///   std::cout << "sharpness " << s.max_increase << '\n';
/// @endcode
template <class F, class T, class M = T>
surface loss_surface(F& f, const T& x0, generator& gen, const options& opt = {}, const M* mask = nullptr) {
  const auto dir = make_directions(f, x0, gen, opt, mask);
  return evaluate(f, x0, dir, opt);
}

}  // namespace ptp::landscape
