// ptp/normal_simd.hpp — Box–Muller in float, 16 (AVX-512) or 8 (AVX2) pairs at a time.
//
// Why: ptp::generator::fill_normal used to spend ~22 ns per normal in double-precision
// std::log/sqrt/cos/sin (BENCHMARKS.md). Here the transcendental functions are short
// polynomials evaluated with the same sequence of IEEE-754 float operations on every path:
// +, −, ×, ÷, sqrt (all correctly rounded), int↔float conversions (round to nearest even),
// bit operations, and *explicit* fused multiply-adds (std::fma on the scalar path,
// vfmadd on the vector paths; both correctly rounded). No a·b + c is ever written as a
// separate product and sum, so a compiler's FMA contraction cannot make the paths differ.
// The scalar path is therefore the reference the vector paths equal bit for bit
// (tests/core/test_normal.cpp), and every result is independent of thread count and of how
// a fill is split.
//
// The stream. Block j (4 Philox words w0..w3) gives 4 normals: the pairs (w0, w1) and
// (w2, w3) each feed one Box–Muller transform, z_even = r·cos θ, z_odd = r·sin θ, with
//   r = sqrt(−2 ln u),  u = (⌊w_even / 2⌋ rounded to float + ½) · 2^−31 ∈ (0, 1],
//   θ = 2π · w_odd / 2^32   (the top 2 bits pick the quadrant, the rest the angle in it).
//   ln u    = e·ln 2 + ln m with u·2^31 = m·2^e, m ∈ [√½, √2); ln m = 2·atanh(f),
//             f = (m − 1)/(m + 1), |f| ≤ 0.1716, by its Taylor series to f^9 (truncation
//             < 4e-10 relative).
//   sin, cos on |φ| ≤ π/4 by Taylor polynomials to φ^9 and φ^10 (truncation < 2e-9).
// Measured max error of the float result against double-precision Box–Muller of the same
// (u, θ): |Δz| ≤ 7.0e-7 and |Δz|/r ≤ 2.1e-7 over 2^26 draws plus the 2048 smallest and
// largest radii (≈ 2 float ulps at |z| ≈ 6; tests/core/test_normal.cpp bounds it at 1e-6 on
// 2^20 draws). The largest |z| is sqrt(64 ln 2) ≈ 6.66 (u = 2^−32), as in the old double
// stream. float(u) has 24 significant bits, so r near 0 (u near 1) is quantised at ≈ 3.5e-4,
// which moves P(|z| < x) by < 1e-7.
// Values changed in issue 21: the previous stream (double std::log/sqrt/cos/sin of
// (w + ½)·2^−32) gave other numbers at the same seed; the pairing of lanes is the same.
// Compiling with -ffast-math (or -Ofast) voids the bit-identity guarantee (it lets the
// compiler reassociate); -ffp-contract=fast does not (checked with GCC 12 and Clang,
// -O3 -march=native).
//
// Throughput (BENCHMARKS.md, "Random numbers"): ≈ 1.0 G normals/s per core with AVX-512,
// 0.73 G/s with AVX2, 69 M/s scalar, against 60 M/s for the old double stream.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <type_traits>

#include "ptp/philox_simd.hpp"
#include "ptp/simd.hpp"

#if defined(PTP_X86_SIMD) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ptp::detail::normal {

// ---- constants shared by every path (same float values everywhere) ----
inline constexpr std::int32_t sqrt_half_bits = 0x3f3504f3;  // float √½
inline constexpr float ln2 = 0.693147180559945309f;
inline constexpr float a3 = 1.0f / 3.0f, a5 = 1.0f / 5.0f, a7 = 1.0f / 7.0f, a9 = 1.0f / 9.0f;
inline constexpr float s3 = -1.0f / 6.0f, s5 = 1.0f / 120.0f, s7 = -1.0f / 5040.0f, s9 = 1.0f / 362880.0f;
inline constexpr float c2 = -0.5f, c4 = 1.0f / 24.0f, c6 = -1.0f / 720.0f, c8 = 1.0f / 40320.0f,
                       c10 = -1.0f / 3628800.0f;
inline constexpr float quarter_turn = static_cast<float>(std::numbers::pi / 2 / 1073741824.0);  // (π/2)·2^−30

/// The reference: one Box–Muller pair from two Philox words.
inline void pair_scalar(std::uint32_t a, std::uint32_t b, float& z0, float& z1) noexcept {
  // r = sqrt(−2 ln u)
  const float x = static_cast<float>(static_cast<std::int32_t>(a >> 1)) + 0.5f;  // u·2^31
  const std::int32_t xi = std::bit_cast<std::int32_t>(x) - sqrt_half_bits;
  const std::int32_t e = xi >> 23;
  const float m = std::bit_cast<float>((xi & 0x7fffff) + sqrt_half_bits);
  const float f = (m - 1.0f) / (m + 1.0f);
  const float f2 = f * f;
  float p = std::fma(a9, f2, a7);
  p = std::fma(p, f2, a5);
  p = std::fma(p, f2, a3);
  p = std::fma(p, f2, 1.0f);
  const float lnm = (f + f) * p;
  const float l = std::fma(static_cast<float>(e - 31), ln2, lnm);
  const float w = l * -2.0f;
  const float r = std::sqrt(w > 0.0f ? w : 0.0f);  // maxps(w, 0): +0 when w is ±0
  // θ = quadrant k·π/2 + φ, |φ| ≤ π/4
  const std::uint32_t k = (b + 0x20000000u) >> 30;
  const auto y = static_cast<std::int32_t>(b - (k << 30));
  const float phi = static_cast<float>(y) * quarter_turn;
  const float p2 = phi * phi;
  float ps = std::fma(s9, p2, s7);
  ps = std::fma(ps, p2, s5);
  ps = std::fma(ps, p2, s3);
  const float sn = std::fma(phi * p2, ps, phi);
  float pc = std::fma(c10, p2, c8);
  pc = std::fma(pc, p2, c6);
  pc = std::fma(pc, p2, c4);
  pc = std::fma(pc, p2, c2);
  const float cs = std::fma(p2, pc, 1.0f);
  const bool swap = (k & 1u) != 0;
  const std::uint32_t cos_sign = ((k + 1u) & 2u) << 30, sin_sign = (k & 2u) << 30;
  const float ct = std::bit_cast<float>(std::bit_cast<std::uint32_t>(swap ? sn : cs) ^ cos_sign);
  const float st = std::bit_cast<float>(std::bit_cast<std::uint32_t>(swap ? cs : sn) ^ sin_sign);
  z0 = r * ct;
  z1 = r * st;
}

/// words (a multiple of 2) → z, position for position.
inline void transform_scalar(const std::uint32_t* w, float* z, std::size_t n) noexcept {
  for (std::size_t i = 0; i + 1 < n; i += 2) pair_scalar(w[i], w[i + 1], z[i], z[i + 1]);
}

#ifdef PTP_X86_SIMD

#define PTP_NORMAL_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define PTP_NORMAL_AVX2 __attribute__((target("avx2,fma")))

/// 32 words → 32 normals (16 pairs) with AVX-512; the same operations as pair_scalar.
PTP_NORMAL_AVX512 inline void block32_avx512(const std::uint32_t* w, float* z) noexcept {
  const __m512i lo = _mm512_loadu_si512(w), hi = _mm512_loadu_si512(w + 16);
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const __m512i a = _mm512_permutex2var_epi32(lo, even, hi), b = _mm512_permutex2var_epi32(lo, odd, hi);
  const __m512 one = _mm512_set1_ps(1.0f);
  // radius
  const __m512 x = _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(a, 1)), _mm512_set1_ps(0.5f));
  const __m512i xi = _mm512_sub_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(sqrt_half_bits));
  const __m512i e = _mm512_srai_epi32(xi, 23);
  const __m512 m = _mm512_castsi512_ps(
      _mm512_add_epi32(_mm512_and_si512(xi, _mm512_set1_epi32(0x7fffff)), _mm512_set1_epi32(sqrt_half_bits)));
  const __m512 f = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
  const __m512 f2 = _mm512_mul_ps(f, f);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(a9), f2, _mm512_set1_ps(a7));
  p = _mm512_fmadd_ps(p, f2, _mm512_set1_ps(a5));
  p = _mm512_fmadd_ps(p, f2, _mm512_set1_ps(a3));
  p = _mm512_fmadd_ps(p, f2, one);
  const __m512 lnm = _mm512_mul_ps(_mm512_add_ps(f, f), p);
  const __m512 l =
      _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(e, _mm512_set1_epi32(31))), _mm512_set1_ps(ln2), lnm);
  const __m512 r = _mm512_sqrt_ps(_mm512_max_ps(_mm512_mul_ps(l, _mm512_set1_ps(-2.0f)), _mm512_setzero_ps()));
  // angle
  const __m512i k = _mm512_srli_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x20000000)), 30);
  const __m512i y = _mm512_sub_epi32(b, _mm512_slli_epi32(k, 30));
  const __m512 phi = _mm512_mul_ps(_mm512_cvtepi32_ps(y), _mm512_set1_ps(quarter_turn));
  const __m512 p2 = _mm512_mul_ps(phi, phi);
  __m512 ps = _mm512_fmadd_ps(_mm512_set1_ps(s9), p2, _mm512_set1_ps(s7));
  ps = _mm512_fmadd_ps(ps, p2, _mm512_set1_ps(s5));
  ps = _mm512_fmadd_ps(ps, p2, _mm512_set1_ps(s3));
  const __m512 sn = _mm512_fmadd_ps(_mm512_mul_ps(phi, p2), ps, phi);
  __m512 pc = _mm512_fmadd_ps(_mm512_set1_ps(c10), p2, _mm512_set1_ps(c8));
  pc = _mm512_fmadd_ps(pc, p2, _mm512_set1_ps(c6));
  pc = _mm512_fmadd_ps(pc, p2, _mm512_set1_ps(c4));
  pc = _mm512_fmadd_ps(pc, p2, _mm512_set1_ps(c2));
  const __m512 cs = _mm512_fmadd_ps(p2, pc, one);
  const __mmask16 swap = _mm512_test_epi32_mask(k, _mm512_set1_epi32(1));
  const __m512i two = _mm512_set1_epi32(2);
  const __m512i cos_sign = _mm512_slli_epi32(_mm512_and_si512(_mm512_add_epi32(k, _mm512_set1_epi32(1)), two), 30);
  const __m512i sin_sign = _mm512_slli_epi32(_mm512_and_si512(k, two), 30);
  const __m512 ct = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mask_blend_ps(swap, cs, sn)), cos_sign));
  const __m512 st = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mask_blend_ps(swap, sn, cs)), sin_sign));
  const __m512 z0 = _mm512_mul_ps(r, ct), z1 = _mm512_mul_ps(r, st);
  const __m512i ilo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i ihi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  _mm512_storeu_ps(z, _mm512_permutex2var_ps(z0, ilo, z1));
  _mm512_storeu_ps(z + 16, _mm512_permutex2var_ps(z0, ihi, z1));
}

/// 16 words → 16 normals (8 pairs) with AVX2 + FMA; the same operations as pair_scalar.
PTP_NORMAL_AVX2 inline void block16_avx2(const std::uint32_t* w, float* z) noexcept {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 8));
  // even/odd words of each 128-bit lane, then the 64-bit quarters put in order
  const __m256 lf = _mm256_castsi256_ps(lo), hf = _mm256_castsi256_ps(hi);
  const __m256i a = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(lf, hf, 0x88)), 0xD8);
  const __m256i b = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(lf, hf, 0xDD)), 0xD8);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 x = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(a, 1)), _mm256_set1_ps(0.5f));
  const __m256i xi = _mm256_sub_epi32(_mm256_castps_si256(x), _mm256_set1_epi32(sqrt_half_bits));
  const __m256i e = _mm256_srai_epi32(xi, 23);
  const __m256 m = _mm256_castsi256_ps(
      _mm256_add_epi32(_mm256_and_si256(xi, _mm256_set1_epi32(0x7fffff)), _mm256_set1_epi32(sqrt_half_bits)));
  const __m256 f = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
  const __m256 f2 = _mm256_mul_ps(f, f);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(a9), f2, _mm256_set1_ps(a7));
  p = _mm256_fmadd_ps(p, f2, _mm256_set1_ps(a5));
  p = _mm256_fmadd_ps(p, f2, _mm256_set1_ps(a3));
  p = _mm256_fmadd_ps(p, f2, one);
  const __m256 lnm = _mm256_mul_ps(_mm256_add_ps(f, f), p);
  const __m256 l =
      _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(e, _mm256_set1_epi32(31))), _mm256_set1_ps(ln2), lnm);
  const __m256 r = _mm256_sqrt_ps(_mm256_max_ps(_mm256_mul_ps(l, _mm256_set1_ps(-2.0f)), _mm256_setzero_ps()));
  const __m256i k = _mm256_srli_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(0x20000000)), 30);
  const __m256i y = _mm256_sub_epi32(b, _mm256_slli_epi32(k, 30));
  const __m256 phi = _mm256_mul_ps(_mm256_cvtepi32_ps(y), _mm256_set1_ps(quarter_turn));
  const __m256 p2 = _mm256_mul_ps(phi, phi);
  __m256 ps = _mm256_fmadd_ps(_mm256_set1_ps(s9), p2, _mm256_set1_ps(s7));
  ps = _mm256_fmadd_ps(ps, p2, _mm256_set1_ps(s5));
  ps = _mm256_fmadd_ps(ps, p2, _mm256_set1_ps(s3));
  const __m256 sn = _mm256_fmadd_ps(_mm256_mul_ps(phi, p2), ps, phi);
  __m256 pc = _mm256_fmadd_ps(_mm256_set1_ps(c10), p2, _mm256_set1_ps(c8));
  pc = _mm256_fmadd_ps(pc, p2, _mm256_set1_ps(c6));
  pc = _mm256_fmadd_ps(pc, p2, _mm256_set1_ps(c4));
  pc = _mm256_fmadd_ps(pc, p2, _mm256_set1_ps(c2));
  const __m256 cs = _mm256_fmadd_ps(p2, pc, one);
  const __m256i two = _mm256_set1_epi32(2);
  const __m256 swap = _mm256_castsi256_ps(_mm256_slli_epi32(k, 31));  // blendv reads the sign bit
  const __m256i cos_sign = _mm256_slli_epi32(_mm256_and_si256(_mm256_add_epi32(k, _mm256_set1_epi32(1)), two), 30);
  const __m256i sin_sign = _mm256_slli_epi32(_mm256_and_si256(k, two), 30);
  const __m256 ct = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(_mm256_blendv_ps(cs, sn, swap)), cos_sign));
  const __m256 st = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(_mm256_blendv_ps(sn, cs, swap)), sin_sign));
  const __m256 z0 = _mm256_mul_ps(r, ct), z1 = _mm256_mul_ps(r, st);
  const __m256 u0 = _mm256_unpacklo_ps(z0, z1), u1 = _mm256_unpackhi_ps(z0, z1);  // pairs 0,1,4,5 | 2,3,6,7
  _mm256_storeu_ps(z, _mm256_permute2f128_ps(u0, u1, 0x20));
  _mm256_storeu_ps(z + 8, _mm256_permute2f128_ps(u0, u1, 0x31));
}

PTP_NORMAL_AVX512 inline void transform_avx512(const std::uint32_t* w, float* z, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; i += 32) block32_avx512(w + i, z + i);  // n: a multiple of 32
}
PTP_NORMAL_AVX2 inline void transform_avx2(const std::uint32_t* w, float* z, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; i += 16) block16_avx2(w + i, z + i);  // n: a multiple of 16
}

/// out[i] = T(fma(stddev, double(z[i]), mean)) — the scalar affine step, vectorised.
template <class T>
PTP_NORMAL_AVX2 inline void affine_avx2(const float* z, T* out, std::size_t n, double mean, double stddev) noexcept {
  const __m256d mu = _mm256_set1_pd(mean), sd = _mm256_set1_pd(stddev);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_fmadd_pd(sd, _mm256_cvtps_pd(_mm_loadu_ps(z + i)), mu);
    if constexpr (std::is_same_v<T, float>) _mm_storeu_ps(out + i, _mm256_cvtpd_ps(v));
    else _mm256_storeu_pd(out + i, v);
  }
  for (; i < n; ++i) {
    const __m128d v = _mm_fmadd_sd(_mm_set_sd(stddev), _mm_set_sd(static_cast<double>(z[i])), _mm_set_sd(mean));
    out[i] = static_cast<T>(_mm_cvtsd_f64(v));
  }
}

#undef PTP_NORMAL_AVX512
#undef PTP_NORMAL_AVX2

#endif

/// The level the normal fill takes: philox's, except that AVX2 without FMA runs scalar.
[[nodiscard]] inline int level(int requested) noexcept {
#ifdef PTP_X86_SIMD
  static const bool fma = __builtin_cpu_supports("fma");
  const int use = std::min(requested, simd_level());
  return use >= 1 && !fma ? 0 : use;
#else
  (void)requested;
  return 0;
#endif
}

/// z[i] (float) for positions first·4 + i, i < n: the Box–Muller stream described above.
/// `lvl` (tests) forces a path no wider than the CPU's.
inline void standard(std::uint64_t first, philox_words stream, philox_words key, std::span<float> z,
                     int lvl = 2) noexcept {
  const int use = level(lvl);
  constexpr std::size_t chunk = 256;  // words per Philox call (64 blocks, in L1)
  alignas(64) std::uint32_t w[chunk];
  alignas(64) float buf[chunk];
  const std::size_t n = z.size();
  for (std::size_t i = 0; i < n; i += chunk) {
    const std::size_t len = std::min(chunk, n - i);
    const std::size_t words = (len + 3) / 4 * 4;  // whole blocks: both words of every pair
    philox_bits(first + i / 4, stream, key, std::span<std::uint32_t>(w, words), use);
#ifdef PTP_X86_SIMD
    if (use >= 1) {
      const std::size_t step = use == 2 ? 32 : 16, padded = (words + step - 1) / step * step;
      std::fill(w + words, w + padded, 0u);
      float* dst = len == padded ? z.data() + i : buf;
      if (use == 2) transform_avx512(w, dst, padded);
      else transform_avx2(w, dst, padded);
      if (dst == buf) std::copy(buf, buf + len, z.data() + i);
      continue;
    }
#endif
    float* dst = len == words ? z.data() + i : buf;
    transform_scalar(w, dst, words);
    if (dst == buf) std::copy(buf, buf + len, z.data() + i);
  }
}

/// out[i] = T(fma(stddev, double(z_i), mean)) with z the stream above.
template <class T>
inline void fill(std::uint64_t first, philox_words stream, philox_words key, std::span<T> out, double mean,
                 double stddev, int lvl = 2) noexcept {
  constexpr std::size_t chunk = 1024;
  alignas(64) float z[chunk];
  const int use = level(lvl);
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; i += chunk) {
    const std::size_t len = std::min(chunk, n - i);
    standard(first + i / 4, stream, key, std::span<float>(z, len), use);
#ifdef PTP_X86_SIMD
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      if (use >= 1) {
        affine_avx2(z, out.data() + i, len, mean, stddev);
        continue;
      }
    }
#endif
    for (std::size_t j = 0; j < len; ++j) out[i + j] = static_cast<T>(std::fma(stddev, static_cast<double>(z[j]), mean));
  }
}

}  // namespace ptp::detail::normal

#if defined(PTP_X86_SIMD) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
