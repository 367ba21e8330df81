// The counter-based generator, the backend ops (norms, projections, ascent steps, masks)
// and the two losses, against known answers and direct double-precision computations.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "catch.hpp"
#include "test_models.hpp"

using namespace ptp_test;

// ---- generator ------------------------------------------------------------------------

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[core][random]") {
  using A4 = std::array<std::uint32_t, 4>;
  // Salmon et al. (SC'11), Random123 kat_vectors, philox4x32 with 10 rounds.
  CHECK(ptp::philox4x32({0, 0, 0, 0}, {0, 0}) == A4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(ptp::philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
        A4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(ptp::philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
        A4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
  // constexpr: the block function is usable at compile time.
  static_assert(ptp::philox4x32({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5u);
}

TEST_CASE("generator blocks map (seed, stream, index) onto the Philox counter and key", "[core][random]") {
  const ptp::generator g{.seed = 0x299f31d0a4093822ull, .stream = 0x0370734413198a2eull};
  // index → counter words 0,1; stream → counter words 2,3; seed → key.
  const auto b = g.block(0x85a308d3243f6a88ull);
  CHECK(b == std::array<std::uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
  ptp::generator z{};
  CHECK(z.next_u32() == 0x6627e8d5u);
  CHECK(z.offset == 1);
}

TEST_CASE("generator: same seed, same bits; different seeds or streams differ", "[core][random]") {
  ptp::generator a{.seed = 42}, b{.seed = 42}, c{.seed = 43}, s{.seed = 42, .stream = 1};
  std::vector<double> va(1001), vb(1001), vc(1001), vs(1001);
  a.fill_normal(std::span{va}, 0.0, 1.0);
  b.fill_normal(std::span{vb}, 0.0, 1.0);
  c.fill_normal(std::span{vc}, 0.0, 1.0);
  s.fill_normal(std::span{vs}, 0.0, 1.0);
  CHECK(va == vb);
  CHECK(va != vc);
  CHECK(va != vs);
  CHECK(a.offset == (1001 + 3) / 4);  // one block per 4 elements, rounded up
  // Copying a generator copies its position.
  ptp::generator a2 = a;
  CHECK(a.uniform() == a2.uniform());
}

TEST_CASE("generator: element i depends only on block offset + i/4", "[core][random]") {
  for (int kind = 0; kind < 2; ++kind) {
    ptp::generator g{.seed = 7, .stream = 3, .offset = 5};
    std::vector<float> full(37), prefix(13), tail(37 - 12);
    auto fill = [&](ptp::generator& gen, std::vector<float>& v) {
      if (kind == 0) gen.fill_uniform(std::span{v}, -2.0, 3.0);
      else gen.fill_normal(std::span{v}, 1.0, 2.0);
    };
    ptp::generator g1 = g, g2 = g;
    fill(g1, full);
    fill(g2, prefix);
    CHECK(std::equal(prefix.begin(), prefix.end(), full.begin()));  // prefix of a fill == fill of a prefix
    CHECK(g2.offset == 5 + 4);                                      // ceil(13/4) blocks consumed
    ptp::generator g3{.seed = 7, .stream = 3, .offset = 5 + 3};     // starting 3 blocks later …
    fill(g3, tail);
    CHECK(std::equal(tail.begin(), tail.end(), full.begin() + 12));  // … gives elements 12, 13, …
  }
  // float and double fills draw the same numbers (float = rounded double).
  ptp::generator gf{.seed = 9}, gd{.seed = 9};
  std::vector<float> vf(64);
  std::vector<double> vd(64);
  gf.fill_normal(std::span{vf}, 0.0, 1.0);
  gd.fill_normal(std::span{vd}, 0.0, 1.0);
  for (std::size_t i = 0; i < vf.size(); ++i) CHECK(vf[i] == static_cast<float>(vd[i]));
}

TEST_CASE("generator: bits_at equals block() on every SIMD path, at any offset and length", "[core][random]") {
  // The vector kernels (AVX-512: 32 blocks per call, AVX2: 16) must reproduce the scalar
  // Philox word for word, including tails and counters that carry into the high word.
  const ptp::generator g{.seed = 0x9E3779B97F4A7C15ull, .stream = 0x0123456789ABCDEFull};
  const int cpu = ptp::detail::simd_level();
  INFO("this CPU's SIMD level: " << cpu << " (2 = AVX-512, 1 = AVX2, 0 = scalar only)");
#if defined(__x86_64__)
  REQUIRE(cpu >= 1);  // every x86-64 machine this project runs on (CI included) has AVX2
#endif
  for (int level = 0; level <= cpu; ++level)
    for (std::uint64_t first : {0ull, 3ull, 0xFFFFFFF0ull, 0xFFFFFFFFFFFFFFF8ull})
      for (std::size_t n : {0, 1, 5, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 1031}) {
        std::vector<std::uint32_t> out(n, 0xDEADBEEFu);
        ptp::detail::philox_bits(first, {static_cast<std::uint32_t>(g.stream), static_cast<std::uint32_t>(g.stream >> 32)},
                                 {static_cast<std::uint32_t>(g.seed), static_cast<std::uint32_t>(g.seed >> 32)}, out,
                                 level);
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < n; ++i) wrong += out[i] != g.block(first + i / 4)[i % 4];
        INFO("level " << level << ", first block " << first << ", n " << n);
        CHECK(wrong == 0);
      }
  std::vector<std::uint32_t> via_generator(77);
  g.bits_at(12, via_generator);
  for (std::size_t i = 0; i < via_generator.size(); ++i) CHECK(via_generator[i] == g.block(12 + i / 4)[i % 4]);
}

TEST_CASE("open01_threshold: bits < threshold exactly when uniform_open01(bits) < p", "[core][random]") {
  const std::uint32_t edges[] = {0u, 1u, 2u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu};
  for (double p : {0.0, 1e-300, 0x1p-33, 0x1p-32, 1e-9, 0.05, 0.15, 0.1 + 1e-17, 1.0 / 3.0, 0.5, 0.999999999, 1.0}) {
    const std::uint64_t t = ptp::open01_threshold(p);
    INFO("p = " << p << ", threshold " << t);
    REQUIRE(t <= (std::uint64_t{1} << 32));
    // around the threshold, and at the ends of the 32-bit range
    for (std::int64_t d = -2; d <= 2; ++d) {
      const std::int64_t b = static_cast<std::int64_t>(t) + d;
      if (b < 0 || b > 0xFFFFFFFFll) continue;
      const auto bits = static_cast<std::uint32_t>(b);
      CHECK((bits < t) == (ptp::uniform_open01(bits) < p));
    }
    for (std::uint32_t bits : edges) CHECK((bits < t) == (ptp::uniform_open01(bits) < p));
  }
  CHECK(ptp::open01_threshold(0.5) == 0x80000000u);  // (b + ½)/2^32 < ½ ⇔ b < 2^31
  CHECK(ptp::open01_threshold(1.0) == (std::uint64_t{1} << 32));
  CHECK(ptp::open01_threshold(0.0) == 0);
}

TEST_CASE("generator: split gives independent streams and leaves the parent alone", "[core][random]") {
  ptp::generator g{.seed = 1234, .offset = 17};
  const ptp::generator g0 = g.split(0), g1 = g.split(1), again = g.split(0);
  CHECK(g.offset == 17);
  CHECK(g0.offset == 0);
  CHECK(g0.seed == again.seed);
  CHECK(g0.seed != g1.seed);
  CHECK(g0.seed != g.seed);
  constexpr std::size_t n = 100000;
  std::vector<double> a(n), b(n), p(n);
  ptp::generator x = g0, y = g1, z = g;
  x.fill_uniform(std::span{a}, -1.0, 1.0);
  y.fill_uniform(std::span{b}, -1.0, 1.0);
  z.fill_uniform(std::span{p}, -1.0, 1.0);
  auto corr = [&](const std::vector<double>& u, const std::vector<double>& v) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += u[i] * v[i];
    return (s / n) / (1.0 / 3.0);  // Var U(−1,1) = 1/3
  };
  const double se = 1.0 / std::sqrt(double(n));
  CHECK(std::abs(corr(a, b)) < 5 * se);
  CHECK(std::abs(corr(a, p)) < 5 * se);
  CHECK(std::abs(corr(b, p)) < 5 * se);
}

TEST_CASE("generator: moments of fill_normal and fill_uniform (n = 1e6, 5 standard errors)", "[core][random]") {
  constexpr std::size_t n = 1000000;
  const double sn = std::sqrt(double(n));
  SECTION("normal") {
    ptp::generator g{.seed = 2023};
    std::vector<double> v(n);
    const double mu = 0.5, sd = 2.0;
    g.fill_normal(std::span{v}, mu, sd);
    double m1 = 0, m2 = 0, m4 = 0;
    for (double x : v) m1 += x;
    m1 /= n;
    for (double x : v) {
      const double z = (x - mu) / sd;
      m2 += z * z;
      m4 += z * z * z * z;
    }
    m2 /= n;
    m4 /= n;
    CHECK(std::abs(m1 - mu) < 5 * sd / sn);
    CHECK(std::abs(m2 - 1.0) < 5 * std::sqrt(2.0) / sn);   // Var(z²) = 2
    CHECK(std::abs(m4 - 3.0) < 5 * std::sqrt(96.0) / sn);  // Var(z⁴) = 105 − 9
    // Lanes are independent: the two halves of a Box–Muller pair, and neighbouring pairs.
    for (std::size_t lag : {1, 2}) {
      double c = 0;
      for (std::size_t i = 0; i + lag < n; i += 2) c += (v[i] - mu) * (v[i + lag] - mu) / (sd * sd);
      CHECK(std::abs(c / (n / 2)) < 5 / std::sqrt(n / 2.0));
    }
    CHECK(std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); }));
  }
  SECTION("uniform") {
    ptp::generator g{.seed = 2024};
    std::vector<float> v(n);
    const double lo = -0.25, hi = 0.75;
    g.fill_uniform(std::span{v}, lo, hi);
    double m1 = 0, m2 = 0;
    for (float x : v) m1 += x;
    m1 /= n;
    for (float x : v) m2 += (x - 0.25) * (x - 0.25);
    m2 /= n;
    const double var = (hi - lo) * (hi - lo) / 12;
    CHECK(std::abs(m1 - 0.25) < 5 * std::sqrt(var) / sn);
    CHECK(std::abs(m2 - var) < 5 * var * std::sqrt(0.8) / sn);  // Var((x−μ)²) = 0.8σ⁴ for uniform
    CHECK(*std::min_element(v.begin(), v.end()) >= lo);
    CHECK(*std::max_element(v.begin(), v.end()) <= hi);
  }
  SECTION("scalars") {
    ptp::generator g{.seed = 5};
    double s = 0;
    std::vector<std::size_t> hist(7, 0);
    for (int i = 0; i < 70000; ++i) {
      const double u = g.uniform();
      REQUIRE(u > 0.0);
      REQUIRE(u < 1.0);
      s += u;
      const auto k = g.below(7);
      REQUIRE(k < 7);
      ++hist[k];
    }
    CHECK(std::abs(s / 70000 - 0.5) < 5 * std::sqrt(1.0 / 12 / 70000));
    for (auto h : hist) CHECK(std::abs(double(h) - 10000) < 5 * std::sqrt(10000 * 6.0 / 7));
  }
}

// ---- norms, projections, ascent -------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("norms per token / example / global match direct computation", "[core][norm]", all_backends) {
  using T3 = typename TestType::T3;
  const std::size_t B = 3, L = 4, d = 5;
  const T3 t = uniform_tensor<T3>({B, L, d}, 3, -2.0, 2.0);
  const auto v = to_vector(t);
  auto direct = [&](std::size_t nb, std::size_t bs, bool l2) {
    std::vector<double> out(nb, 0.0);
    for (std::size_t b = 0; b < nb; ++b) {
      for (std::size_t i = 0; i < bs; ++i) {
        const double x = v[b * bs + i];
        out[b] = l2 ? out[b] + x * x : std::max(out[b], std::abs(x));
      }
      if (l2) out[b] = std::sqrt(out[b]);
    }
    return out;
  };
  const std::tuple<ptp::granularity, std::size_t, std::size_t> cases[] = {
      {ptp::granularity::token, B * L, d}, {ptp::granularity::example, B, L * d}, {ptp::granularity::global, 1, B * L * d}};
  for (auto [g, nb, bs] : cases) {
    const auto n2 = ptp::ops::norms(t, ptp::norm_type::l2, g);
    const auto ni = ptp::ops::norms(t, ptp::norm_type::linf, g);
    const auto d2 = direct(nb, bs, true), di = direct(nb, bs, false);
    REQUIRE(n2.size() == nb);
    REQUIRE(ni.size() == nb);
    for (std::size_t b = 0; b < nb; ++b) {
      CHECK(n2[b] == Approx(d2[b]).epsilon(1e-12));
      CHECK(ni[b] == di[b]);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("project: L2 onto the ε-ball per example, clamp for L∞, ε = 0 no-op", "[core][norm]",
                        all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  const std::size_t B = 4, L = 3, d = 6;
  T3 t = uniform_tensor<T3>({B, L, d}, 8, -1.0, 1.0);
  // Example norms spread around ε: scale example b by (b + 1)/2.
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t i = 0; i < L * d; ++i) raw(t)[b * L * d + i] *= static_cast<S>((b + 1) * 0.5);
  const auto before = ptp::ops::norms(t, ptp::norm_type::l2, ptp::granularity::example);
  const double eps = (before[1] + before[2]) / 2;  // examples 0, 1 inside; 2, 3 outside
  REQUIRE(before[1] < eps);
  REQUIRE(before[2] > eps);

  SECTION("L2") {
    T3 p = ptp::ops::copy(t);
    ptp::ops::project(p, eps, ptp::norm_type::l2, ptp::granularity::example);
    const auto after = ptp::ops::norms(p, ptp::norm_type::l2, ptp::granularity::example);
    for (std::size_t b = 0; b < B; ++b) {
      if (before[b] > eps) {
        CHECK(after[b] == Approx(eps).epsilon(rel_tol<S>));
        // direction preserved: p_b = (ε/‖t_b‖)·t_b
        for (std::size_t i = 0; i < L * d; ++i)
          CHECK(raw(p)[b * L * d + i] == Approx(raw(t)[b * L * d + i] * eps / before[b]).epsilon(rel_tol<S>).margin(1e-7));
      } else {
        for (std::size_t i = 0; i < L * d; ++i) CHECK(raw(p)[b * L * d + i] == raw(t)[b * L * d + i]);
      }
    }
  }
  SECTION("L2 per token and global") {
    T3 p = ptp::ops::copy(t);
    ptp::ops::project(p, 0.5, ptp::norm_type::l2, ptp::granularity::token);
    const auto bt = ptp::ops::norms(t, ptp::norm_type::l2, ptp::granularity::token);
    const auto at = ptp::ops::norms(p, ptp::norm_type::l2, ptp::granularity::token);
    for (std::size_t k = 0; k < at.size(); ++k) CHECK(at[k] == Approx(std::min(bt[k], 0.5)).epsilon(rel_tol<S>));
    T3 q = ptp::ops::copy(t);
    ptp::ops::project(q, 1.0, ptp::norm_type::l2, ptp::granularity::global);
    CHECK(ptp::ops::norms(q, ptp::norm_type::l2, ptp::granularity::global)[0] == Approx(1.0).epsilon(rel_tol<S>));
  }
  SECTION("L-inf clamps") {
    T3 p = ptp::ops::copy(t);
    const double e = 0.3;
    ptp::ops::project(p, e, ptp::norm_type::linf, ptp::granularity::example);
    for (std::size_t i = 0; i < numel(p); ++i)
      CHECK(raw(p)[i] == std::clamp(raw(t)[i], static_cast<S>(-e), static_cast<S>(e)));
    CHECK(max_abs(p) == Approx(e).epsilon(rel_tol<S>));
  }
  SECTION("epsilon = 0 is a no-op") {
    T3 p = ptp::ops::copy(t);
    ptp::ops::project(p, 0.0, ptp::norm_type::l2, ptp::granularity::example);
    ptp::ops::project(p, 0.0, ptp::norm_type::linf, ptp::granularity::token);
    CHECK(bit_equal(p, t));
  }
}

TEMPLATE_LIST_TEST_CASE("ascent_step: direction, projection, zero gradient, shape check", "[core][norm]",
                        all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  const std::size_t B = 3, L = 2, d = 4, n = L * d;
  T3 g = uniform_tensor<T3>({B, L, d}, 21, -1.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) raw(g)[2 * n + i] = 0;  // example 2: zero gradient
  const auto gn2 = ptp::ops::norms(g, ptp::norm_type::l2, ptp::granularity::example);
  const auto gni = ptp::ops::norms(g, ptp::norm_type::linf, ptp::granularity::example);

  T3 d2 = ptp::ops::zeros_like(g), di = ptp::ops::zeros_like(g), ds = ptp::ops::zeros_like(g);
  ptp::ops::ascent_step(d2, g, 0.3, ptp::step_rule::l2, ptp::granularity::example, 0.0, ptp::norm_type::l2);
  ptp::ops::ascent_step(di, g, 0.3, ptp::step_rule::linf, ptp::granularity::example, 0.0, ptp::norm_type::linf);
  ptp::ops::ascent_step(ds, g, 0.3, ptp::step_rule::sign, ptp::granularity::example, 0.0, ptp::norm_type::linf);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t i = 0; i < n; ++i) {
      const double gi = raw(g)[b * n + i];
      const double e2 = b == 2 ? 0.0 : 0.3 * gi / gn2[b], ei = b == 2 ? 0.0 : 0.3 * gi / gni[b];
      CHECK(raw(d2)[b * n + i] == Approx(e2).epsilon(rel_tol<S>).margin(1e-7));
      CHECK(raw(di)[b * n + i] == Approx(ei).epsilon(rel_tol<S>).margin(1e-7));
      CHECK(raw(ds)[b * n + i] == static_cast<S>(0.3 * ((gi > 0) - (gi < 0))));
    }
  CHECK(ptp::ops::all_finite(d2));
  CHECK(ptp::ops::all_finite(di));

  // A bounded step: from δ with norm 0.2, a step of 0.5 along g lands outside ε = 0.4 → ‖δ‖ = ε.
  T3 dd = ptp::ops::copy(g);
  ptp::ops::project(dd, 0.2, ptp::norm_type::l2, ptp::granularity::example);
  ptp::ops::ascent_step(dd, g, 0.5, ptp::step_rule::l2, ptp::granularity::example, 0.4, ptp::norm_type::l2);
  const auto dn = ptp::ops::norms(dd, ptp::norm_type::l2, ptp::granularity::example);
  CHECK(dn[0] == Approx(0.4).epsilon(rel_tol<S>));
  CHECK(dn[1] == Approx(0.4).epsilon(rel_tol<S>));
  CHECK(dn[2] == 0.0);

  T3 wrong = zeros<T3>({B, L + 1, d});
  REQUIRE_THROWS_AS(
      ptp::ops::ascent_step(dd, wrong, 0.1, ptp::step_rule::l2, ptp::granularity::example, 0.0, ptp::norm_type::l2),
      ptp::shape_error);
  REQUIRE_THROWS_WITH(
      ptp::ops::ascent_step(dd, wrong, 0.1, ptp::step_rule::l2, ptp::granularity::example, 0.0, ptp::norm_type::l2),
      Catch::Contains("3×2×4") && Catch::Contains("3×3×4") && Catch::Contains("δ vs gradient"));
}

TEMPLATE_LIST_TEST_CASE("mask_and_scale, mask_lengths, normalize_per_token_linf", "[core][norm]", all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  const std::size_t L = 4, d = 3;
  const T2 mask = length_mask<T2>(L, {4, 1, 0});
  CHECK(ptp::ops::mask_lengths(mask) == std::vector<double>{4, 1, 0});
  const T3 t = uniform_tensor<T3>({3, L, d}, 4, 0.5, 1.0);
  T3 m = ptp::ops::copy(t);
  const std::vector<double> f{2.0, -3.0, 5.0};
  ptp::ops::mask_and_scale(m, mask, std::span<const double>(f));
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t j = 0; j < d; ++j) {
        const std::size_t i = (b * L + l) * d + j;
        const bool on = raw(mask)[b * L + l] != 0;
        CHECK(raw(m)[i] == (on ? static_cast<S>(f[b]) * raw(t)[i] : S(0)));
      }
  const std::vector<double> two{1.0, 2.0};
  REQUIRE_THROWS_AS(ptp::ops::mask_and_scale(m, mask, std::span<const double>(two)), ptp::shape_error);

  T3 nrm = ptp::ops::copy(t);
  ptp::ops::normalize_per_token_linf(nrm, 1e-6);
  const auto tok = ptp::ops::norms(t, ptp::norm_type::linf, ptp::granularity::token);
  for (std::size_t k = 0; k < tok.size(); ++k)
    for (std::size_t j = 0; j < d; ++j)
      CHECK(raw(nrm)[k * d + j] == Approx(raw(t)[k * d + j] / (tok[k] + 1e-6)).epsilon(rel_tol<S>));
  T3 z = ptp::ops::zeros_like(t);
  ptp::ops::normalize_per_token_linf(z, 1e-6);
  CHECK(max_abs(z) == 0.0);
}

// ---- losses ---------------------------------------------------------------------------

namespace {
std::vector<double> softmax(const double* z, std::size_t C) {
  std::vector<double> p(C);
  double s = 0;
  for (std::size_t j = 0; j < C; ++j) s += (p[j] = std::exp(z[j]));
  for (auto& x : p) x /= s;
  return p;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("cross_entropy and sym_kl match direct double computation", "[core][losses]", all_backends) {
  using S = typename TestType::value_type;
  using T2 = typename TestType::T2;
  const std::size_t B = 4, C = 5;
  const T2 zp = uniform_tensor<T2>({B, C}, 31, -3.0, 3.0), zq = uniform_tensor<T2>({B, C}, 32, -3.0, 3.0);
  const std::vector<std::int64_t> y{0, 4, 2, 2};
  const auto vp = to_vector(zp), vq = to_vector(zq);

  double ce = 0, kl = 0;
  for (std::size_t b = 0; b < B; ++b) {
    const auto p = softmax(&vp[b * C], C), q = softmax(&vq[b * C], C);
    ce -= std::log(p[static_cast<std::size_t>(y[b])]);
    for (std::size_t j = 0; j < C; ++j) kl += p[j] * std::log(p[j] / q[j]) + q[j] * std::log(q[j] / p[j]);
  }
  ce /= B;
  kl /= B;
  T2 dce, dp, dq;
  CHECK(ptp::losses::cross_entropy(zp, y, &dce) == Approx(ce).epsilon(1e-12));
  CHECK(ptp::losses::sym_kl(zp, zq, &dp, &dq) == Approx(kl).epsilon(1e-12));
  CHECK(ptp::losses::sym_kl(zp, zp) == Approx(0.0).margin(1e-15));
  CHECK(ptp::losses::sym_kl(zq, zp) == Approx(kl).epsilon(1e-12));  // symmetric

  // Closed-form gradient of CE: (softmax − onehot)/B.
  for (std::size_t b = 0; b < B; ++b) {
    const auto p = softmax(&vp[b * C], C);
    for (std::size_t j = 0; j < C; ++j)
      CHECK(raw(dce)[b * C + j] ==
            Approx((p[j] - (std::int64_t(j) == y[b] ? 1.0 : 0.0)) / B).epsilon(rel_tol<S>).margin(1e-7));
  }
  // Each row's logit gradient sums to zero (softmax is shift-invariant).
  for (std::size_t b = 0; b < B; ++b) {
    double s1 = 0, s2 = 0;
    for (std::size_t j = 0; j < C; ++j) s1 += raw(dp)[b * C + j], s2 += raw(dq)[b * C + j];
    CHECK(s1 == Approx(0.0).margin(1e-6));
    CHECK(s2 == Approx(0.0).margin(1e-6));
  }

  const std::vector<std::int64_t> bad{0, 5, 1, 1}, few{0, 1};
  CHECK_THROWS_AS(ptp::losses::cross_entropy(zp, bad), std::out_of_range);
  CHECK_THROWS_AS(ptp::losses::cross_entropy(zp, few), ptp::shape_error);
  const T2 other = zeros<T2>({B, C + 1});
  CHECK_THROWS_WITH(ptp::losses::sym_kl(zp, other), Catch::Contains("4×5") && Catch::Contains("4×6"));
}

TEMPLATE_LIST_TEST_CASE("cross_entropy and sym_kl gradients match finite differences", "[core][losses][fd]",
                        double_backends) {
  using T2 = typename TestType::T2;
  const std::size_t B = 3, C = 4;
  T2 zp = uniform_tensor<T2>({B, C}, 41, -2.0, 2.0), zq = uniform_tensor<T2>({B, C}, 42, -2.0, 2.0);
  const std::vector<std::int64_t> y{3, 0, 1};
  T2 dce, dp, dq, dp_only;
  (void)ptp::losses::cross_entropy(zp, y, &dce);
  (void)ptp::losses::sym_kl(zp, zq, &dp, &dq);
  (void)ptp::losses::sym_kl(zp, zq, &dp_only, static_cast<T2*>(nullptr));
  CHECK(bit_equal(dp, dp_only));  // one side alone gives the same gradient (the other detached)
  const double h = 1e-6;
  for (std::size_t i = 0; i < B * C; ++i) {
    auto fd = [&](T2& z, auto&& loss) {
      const double z0 = raw(z)[i];
      raw(z)[i] = z0 + h;
      const double up = loss();
      raw(z)[i] = z0 - h;
      const double dn = loss();
      raw(z)[i] = z0;
      return (up - dn) / (2 * h);
    };
    CHECK(raw(dce)[i] == Approx(fd(zp, [&] { return ptp::losses::cross_entropy(zp, y); })).margin(1e-8));
    CHECK(raw(dp)[i] == Approx(fd(zp, [&] { return ptp::losses::sym_kl(zp, zq); })).margin(1e-8));
    CHECK(raw(dq)[i] == Approx(fd(zq, [&] { return ptp::losses::sym_kl(zp, zq); })).margin(1e-8));
  }
}
