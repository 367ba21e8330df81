// The loss surface against closed forms on a quadratic L(x) = ½ xᵀHx with known H.
#include <ptp/adapters/eigen.hpp>
#include <ptp/landscape.hpp>

#include <cmath>

#include "catch.hpp"

namespace {

using T2 = ptp::eigen::tensor2<double>;  // rows = "filters" (tokens / prompt vectors)

// L(x) = ½ Σ_i h_i x_i² over the flattened x: a diagonal Hessian with known entries.
struct quadratic {
  std::vector<double> h;
  double evaluate(const T2& x) const {
    double s = 0;
    for (long i = 0; i < x.size(); ++i) s += 0.5 * h[static_cast<std::size_t>(i)] * x.data()[i] * x.data()[i];
    return s;
  }
  void gradient(const T2& x, T2* g, double) const {
    if (!g) return;
    *g = T2(x.dimensions());
    for (long i = 0; i < x.size(); ++i) g->data()[i] = h[static_cast<std::size_t>(i)] * x.data()[i];
  }
};

T2 point(long rows, long cols, double base) {
  T2 x(rows, cols);
  for (long i = 0; i < x.size(); ++i) x.data()[i] = base + 0.1 * static_cast<double>(i % 7) - 0.05 * static_cast<double>(i % 3);
  return x;
}

}  // namespace

TEST_CASE("landscape: surface equals the analytic quadratic form", "[landscape]") {
  const long R = 4, C = 6;
  quadratic f;
  for (long i = 0; i < R * C; ++i) f.h.push_back(0.5 + 0.25 * static_cast<double>(i % 5));
  const T2 x0 = point(R, C, 0.3);
  ptp::generator gen{.seed = 11};
  const ptp::landscape::options opt{.points = 9, .radius = 0.8, .filter_normalize = true, .sharpness_radius = 0.4};
  const auto dir = ptp::landscape::make_directions(f, x0, gen, opt);
  const auto s = ptp::landscape::evaluate(f, x0, dir, opt);

  // ½ (x0 + a d1 + b d2)ᵀ H (x0 + a d1 + b d2), expanded exactly.
  auto q = [&](const T2& u, const T2& v) {
    double acc = 0;
    for (long i = 0; i < u.size(); ++i) acc += f.h[static_cast<std::size_t>(i)] * u.data()[i] * v.data()[i];
    return acc;
  };
  const double c00 = q(x0, x0), c01 = q(x0, dir.d1), c02 = q(x0, dir.d2), c11 = q(dir.d1, dir.d1),
               c12 = q(dir.d1, dir.d2), c22 = q(dir.d2, dir.d2);
  double worst = 0;
  for (std::size_t i = 0; i < opt.points; ++i)
    for (std::size_t j = 0; j < opt.points; ++j) {
      const double a = s.axis[i], b = s.axis[j];
      const double exact = 0.5 * (c00 + 2 * a * c01 + 2 * b * c02 + a * a * c11 + 2 * a * b * c12 + b * b * c22);
      worst = std::max(worst, std::abs(exact - s.at(i, j)));
    }
  CHECK(worst < 1e-12);
  CHECK(s.center_loss == Approx(0.5 * c00).epsilon(1e-14));
  CHECK(s.axis.front() == -0.8);
  CHECK(s.axis.back() == 0.8);
}

TEST_CASE("landscape: directions are orthogonal, filter-normalised, and seeded", "[landscape]") {
  quadratic f;
  for (int i = 0; i < 24; ++i) f.h.push_back(1.0 + i % 3);
  const T2 x0 = point(4, 6, 0.2);
  ptp::generator g1{.seed = 5}, g2{.seed = 5}, g3{.seed = 6};
  const ptp::landscape::options opt{.points = 5};
  const auto d = ptp::landscape::make_directions(f, x0, g1, opt);
  const auto e = ptp::landscape::make_directions(f, x0, g2, opt);
  const auto o = ptp::landscape::make_directions(f, x0, g3, opt);
  const double cos12 = ptp::ops::dot(d.d1, d.d2) / std::sqrt(ptp::ops::dot(d.d1, d.d1) * ptp::ops::dot(d.d2, d.d2));
  CHECK(std::abs(cos12) < 1e-12);
  // d1 is filter-normalised: each row has the norm of x0's row.
  const auto n1 = ptp::ops::norms(d.d1, ptp::norm_type::l2, ptp::granularity::token);
  const auto nx = ptp::ops::norms(x0, ptp::norm_type::l2, ptp::granularity::token);
  for (std::size_t r = 0; r < nx.size(); ++r) CHECK(n1[r] == Approx(nx[r]).epsilon(1e-12));
  // d1 points along the gradient within every row (same sign as H x0).
  for (long i = 0; i < x0.size(); ++i) CHECK(d.d1.data()[i] * f.h[static_cast<std::size_t>(i)] * x0.data()[i] >= 0);
  // same seed → same grid; another seed → another d2.
  const auto s1 = ptp::landscape::evaluate(f, x0, d, opt), s2 = ptp::landscape::evaluate(f, x0, e, opt);
  CHECK(s1.loss == s2.loss);
  bool differs = false;
  for (long i = 0; i < x0.size(); ++i) differs |= d.d2.data()[i] != o.d2.data()[i];
  CHECK(differs);
}

TEST_CASE("landscape: sharpness numbers", "[landscape]") {
  // Along d1 only (zero curvature elsewhere is impossible here), check the definitions:
  quadratic flat, sharp;
  for (int i = 0; i < 24; ++i) {
    flat.h.push_back(0.1);
    sharp.h.push_back(10.0);
  }
  const T2 x0 = point(4, 6, 0.0);
  const ptp::landscape::options opt{.points = 11, .radius = 1.0, .filter_normalize = true, .sharpness_radius = 0.5};
  ptp::generator ga{.seed = 1}, gb{.seed = 1};
  const auto sf = ptp::landscape::loss_surface(flat, x0, ga, opt);
  const auto ss = ptp::landscape::loss_surface(sharp, x0, gb, opt);
  // Scaling H by 100 scales every increase by exactly 100 (same directions: d ∝ Hx0 ∝ x0).
  CHECK(ss.max_increase == Approx(100 * sf.max_increase).epsilon(1e-10));
  CHECK(ss.mean_increase == Approx(100 * sf.mean_increase).epsilon(1e-10));
  double manual_max = 0, manual_sum = 0;
  for (std::size_t i = 0; i < 11; ++i)
    for (std::size_t j = 0; j < 11; ++j) {
      const double inc = ss.at(i, j) - ss.center_loss;
      manual_sum += inc;
      if (std::hypot(ss.axis[i], ss.axis[j]) <= 0.5 + 1e-12) manual_max = std::max(manual_max, inc);
    }
  CHECK(ss.max_increase == Approx(manual_max));
  CHECK(ss.mean_increase == Approx(manual_sum / 121));
  CHECK(ss.max_increase > 0);
}

TEST_CASE("landscape: bad options", "[landscape]") {
  quadratic f;
  f.h.assign(4, 1.0);
  const T2 x0 = point(2, 2, 0.1);
  ptp::generator gen{.seed = 1};
  CHECK_THROWS_WITH(ptp::landscape::loss_surface(f, x0, gen, {.points = 1}), Catch::Contains("points"));
}
