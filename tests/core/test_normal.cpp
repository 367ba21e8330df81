// fill_normal's float Box–Muller stream (ptp/normal_simd.hpp): the SIMD paths equal the
// scalar reference bit for bit, counter addressing, determinism, accuracy against double
// Box–Muller of the same uniforms, and the distribution (moments, KS, tails).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "catch.hpp"
#include "ptp/random.hpp"

namespace {

ptp::detail::philox_words words(std::uint64_t v) {
  return {static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(v >> 32)};
}

std::vector<float> standard(const ptp::generator& g, std::uint64_t first, std::size_t n, int level) {
  std::vector<float> z(n, -1234.5f);
  ptp::detail::normal::standard(first, words(g.stream), words(g.seed), std::span{z}, level);
  return z;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) return false;
  return true;
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

}  // namespace

TEST_CASE("normal: every SIMD path equals the scalar path bit for bit", "[core][random][normal]") {
  const ptp::generator g{.seed = 0x9E3779B97F4A7C15ull, .stream = 0x0123456789ABCDEFull};
  const int cpu = ptp::detail::normal::level(2);
  INFO("normal fill level on this CPU: " << cpu << " (2 = AVX-512, 1 = AVX2+FMA, 0 = scalar)");
#if defined(__x86_64__)
  REQUIRE(cpu >= 1);
#endif
  for (std::uint64_t first : {0ull, 3ull, 0xFFFFFFF0ull, 0xFFFFFFFFFFFFFFF8ull})
    for (std::size_t n : {0, 1, 2, 3, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 1031, 5000}) {
      const auto ref = standard(g, first, n, 0);
      for (int level = 1; level <= cpu; ++level) {
        INFO("level " << level << ", first block " << first << ", n " << n);
        CHECK(bit_equal(standard(g, first, n, level), ref));
      }
    }
  // The affine step too (float and double outputs, mean and σ not 0/1), and 2^20 draws
  // for the polynomial paths' every branch (quadrants, exponents).
  const std::size_t n = std::size_t{1} << 20;
  const auto ref = standard(g, 7, n, 0);
  for (int level = 1; level <= cpu; ++level) CHECK(bit_equal(standard(g, 7, n, level), ref));
  for (int level = 0; level <= cpu; ++level) {
    std::vector<float> f(1001);
    std::vector<double> d(1001);
    ptp::detail::normal::fill(5, words(g.stream), words(g.seed), std::span{f}, 0.25, 3.0, level);
    ptp::detail::normal::fill(5, words(g.stream), words(g.seed), std::span{d}, 0.25, 3.0, level);
    const auto z = standard(g, 5, 1001, 0);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double want = std::fma(3.0, static_cast<double>(z[i]), 0.25);
      wrong += d[i] != want || f[i] != static_cast<float>(want);
    }
    INFO("level " << level);
    CHECK(wrong == 0);
  }
}

TEST_CASE("normal: determinism, split fills and counter addressing", "[core][random][normal]") {
  const ptp::generator g{.seed = 42, .stream = 3, .offset = 11};
  std::vector<float> one(4099), again(4099), split(4099);
  ptp::generator a = g, b = g;
  a.fill_normal(std::span{one}, 0.0, 1.0);
  b.fill_normal(std::span{again}, 0.0, 1.0);
  CHECK(bit_equal(one, again));
  CHECK(a.offset == g.offset + (4099 + 3) / 4);
  // two calls split at a multiple of 4 elements == one call
  for (std::size_t cut : {0, 4, 1024, 2052, 4096}) {
    ptp::generator s = g;
    s.fill_normal(std::span{split}.first(cut), 0.0, 1.0);
    s.fill_normal(std::span{split}.subspan(cut), 0.0, 1.0);
    INFO("cut at " << cut);
    CHECK(bit_equal(split, one));
    CHECK(s.offset == a.offset);
  }
  // element i depends only on block offset + i/4
  for (std::uint64_t skip : {1, 5, 64, 257}) {
    ptp::generator later = g;
    later.offset += skip;
    std::vector<float> tail(100);
    later.fill_normal(std::span{tail}, 0.0, 1.0);
    INFO("skip " << skip << " blocks");
    CHECK(std::equal(tail.begin(), tail.end(), one.begin() + 4 * skip));
  }
  // different seeds and streams give different values
  ptp::generator d{.seed = 43, .stream = 3, .offset = 11}, e{.seed = 42, .stream = 4, .offset = 11};
  std::vector<float> vd(64), ve(64);
  d.fill_normal(std::span{vd}, 0.0, 1.0);
  e.fill_normal(std::span{ve}, 0.0, 1.0);
  CHECK(!std::equal(vd.begin(), vd.end(), one.begin()));
  CHECK(!std::equal(ve.begin(), ve.end(), one.begin()));
}

TEST_CASE("normal: within 1e-6 of double-precision Box–Muller of the same uniforms", "[core][random][normal]") {
  const ptp::generator g{.seed = 2026};
  const std::size_t n = std::size_t{1} << 20;
  const auto z = standard(g, 0, n, 2);
  std::vector<std::uint32_t> w(n);
  g.bits_at(0, w);
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < n; i += 2) {
    const float x = static_cast<float>(static_cast<std::int32_t>(w[i] >> 1)) + 0.5f;  // the stream's u·2^31
    const double r = std::sqrt(-2.0 * std::log(static_cast<double>(x) * 0x1p-31));
    const double t = 2.0 * std::numbers::pi * (static_cast<double>(w[i + 1]) * 0x1p-32);
    worst = std::max({worst, std::abs(z[i] - r * std::cos(t)), std::abs(z[i + 1] - r * std::sin(t))});
    largest = std::max({largest, std::abs(double(z[i])), std::abs(double(z[i + 1]))});
  }
  INFO("max |Δz| = " << worst << ", max |z| = " << largest);
  CHECK(worst < 1e-6);
  CHECK(largest < 6.67);  // sqrt(64 ln 2): u ≥ 2^−32
}

TEST_CASE("normal: moments, KS against Φ and 4σ tails (n = 2^20)", "[core][random][normal]") {
  const std::size_t n = std::size_t{1} << 20;
  const double dn = static_cast<double>(n);
  ptp::generator g{.seed = 20261205};
  std::vector<float> v(n);
  g.fill_normal(std::span{v}, 0.0, 1.0);
  double m1 = 0;
  for (float x : v) m1 += x;
  m1 /= dn;
  double m2 = 0, m3 = 0, m4 = 0;
  for (float xf : v) {
    const double x = xf - m1, x2 = x * x;
    m2 += x2, m3 += x2 * x, m4 += x2 * x2;
  }
  m2 /= dn, m3 /= dn, m4 /= dn;
  const double skew = m3 / std::pow(m2, 1.5), kurt = m4 / (m2 * m2) - 3.0;
  INFO("mean " << m1 << ", variance " << m2 << ", skewness " << skew << ", excess kurtosis " << kurt);
  // 5 standard errors: SE(mean) = 1/√n, SE(var) = √(2/n), SE(skew) ≈ √(6/n), SE(kurt) ≈ √(24/n)
  CHECK(std::abs(m1) < 5 / std::sqrt(dn));
  CHECK(std::abs(m2 - 1) < 5 * std::sqrt(2 / dn));
  CHECK(std::abs(skew) < 5 * std::sqrt(6 / dn));
  CHECK(std::abs(kurt) < 5 * std::sqrt(24 / dn));
  // Neighbouring lanes uncorrelated (the two halves of a pair, and neighbouring pairs).
  for (std::size_t lag : {1, 2}) {
    double c = 0;
    for (std::size_t i = 0; i + lag < n; i += 2) c += double(v[i]) * v[i + lag];
    CHECK(std::abs(c / (dn / 2)) < 5 / std::sqrt(dn / 2));
  }
  // Kolmogorov–Smirnov: √n·D < 1.95 (the asymptotic 0.1 % critical value is 1.949).
  std::vector<float> s = v;
  std::sort(s.begin(), s.end());
  double d = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double F = normal_cdf(s[i]);
    d = std::max({d, F - double(i) / dn, double(i + 1) / dn - F});
  }
  INFO("KS √n·D = " << std::sqrt(dn) * d);
  CHECK(std::sqrt(dn) * d < 1.95);
  // Tails, on 2^22 draws: P(|z| > 4) = 6.334e-5 → 265.7 expected; within 5 binomial SDs.
  std::vector<float> big(std::size_t{1} << 22);
  g.fill_normal(std::span{big}, 0.0, 1.0);
  const double expected = std::erfc(4.0 / std::numbers::sqrt2) * static_cast<double>(big.size());
  const auto beyond = static_cast<double>(std::count_if(big.begin(), big.end(), [](float x) { return std::abs(x) > 4.0f; }));
  INFO("beyond 4σ: " << beyond << ", expected " << expected);
  CHECK(std::abs(beyond - expected) < 5 * std::sqrt(expected));
  CHECK(std::all_of(big.begin(), big.end(), [](float x) { return std::isfinite(x); }));
}
