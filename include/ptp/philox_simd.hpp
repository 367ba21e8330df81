// ptp/philox_simd.hpp — Philox4x32-10 for many consecutive counters at once.
//
// Why: text-space masking spends one Philox block per 4 tokens, and one block at a time
// costs more than the masking itself (BENCHMARKS.md, "Text perturbations"). Eight counters
// per AVX-512 register (four per AVX2 register) make a block cost about a cycle per round.
// The instruction set is picked at run time (GCC/Clang target attributes + cpuid), so a
// header compiled without -march flags still uses it; anything else takes the scalar path.
// Every path returns the bits of ptp::philox4x32 exactly (tests/core/test_random_ops.cpp,
// tests/core/test_philox_random123.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ptp/simd.hpp"
#if defined(PTP_X86_SIMD) && defined(__GNUC__) && !defined(__clang__)
// GCC 12's own AVX-512 intrinsics trip -Wuninitialized when inlined into a target("avx512f")
// function (their `__Y = __Y` placeholder operand; GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace ptp {

[[nodiscard]] constexpr std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> ctr,
                                                               std::array<std::uint32_t, 2> key) noexcept;

namespace detail {

/// Philox counter layout used by ptp::generator: (index lo, index hi, stream lo, stream hi).
using philox_words = std::array<std::uint32_t, 2>;

/// Scalar reference path: out[i] = philox4x32(block first + i/4)[i%4].
inline void philox_bits_scalar(std::uint64_t first, philox_words stream, philox_words key,
                               std::span<std::uint32_t> out) noexcept {
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; i += 4) {
    const std::uint64_t idx = first + i / 4;
    const auto b = philox4x32({static_cast<std::uint32_t>(idx), static_cast<std::uint32_t>(idx >> 32), stream[0],
                               stream[1]},
                              key);
    for (std::size_t lane = 0; lane < 4 && i + lane < n; ++lane) out[i + lane] = b[lane];
  }
}

#ifdef PTP_X86_SIMD

// Both vector paths keep each 32-bit Philox word in the low half of a 64-bit lane, where
// mul_epu32 reads it; the high halves collect garbage that no later step reads.

// A kernel runs G independent register groups: four hide the multiplier's latency (one
// group alone waits on it every round: measured 2.6 vs 1.7 ns per block); short sequences
// (most texts are 20–60 tokens) take fewer groups rather than computing blocks they discard.

/// Writes 8·G blocks (32·G words, position order) starting at `idx` with AVX-512.
template <int G>
__attribute__((target("avx512f,avx512vl,avx2"))) inline void philox_avx512(std::uint64_t idx, philox_words stream,
                                                                          philox_words key,
                                                                          std::uint32_t* out) noexcept {
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i m0 = _mm512_set1_epi64(0xD2511F53u), m1 = _mm512_set1_epi64(0xCD9E8D57u);
  __m512i c0[G], c1[G], c2[G], c3[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const __m512i ctr = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(idx + 8 * g)), lane);
    c0[g] = ctr, c1[g] = _mm512_srli_epi64(ctr, 32);
    c2[g] = _mm512_set1_epi64(stream[0]), c3[g] = _mm512_set1_epi64(stream[1]);
  }
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const __m512i key0 = _mm512_set1_epi64(k0), key1 = _mm512_set1_epi64(k1);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m512i p0 = _mm512_mul_epu32(c0[g], m0), p1 = _mm512_mul_epu32(c2[g], m1);
      c0[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[g], key0, 0x96);  // a ^ b ^ c
      c2[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[g], key1, 0x96);
      c1[g] = p1, c3[g] = p0;
    }
    k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
  }
  // Per group, 4 × 8 words → 8 blocks of 4: a 4×4 transpose per 128-bit half, then the
  // halves put in block order.
  for (int g = 0; g < G; ++g) {
    const __m256i a = _mm512_cvtepi64_epi32(c0[g]), b = _mm512_cvtepi64_epi32(c1[g]);
    const __m256i c = _mm512_cvtepi64_epi32(c2[g]), d = _mm512_cvtepi64_epi32(c3[g]);
    const __m256i ab_lo = _mm256_unpacklo_epi32(a, b), ab_hi = _mm256_unpackhi_epi32(a, b);
    const __m256i cd_lo = _mm256_unpacklo_epi32(c, d), cd_hi = _mm256_unpackhi_epi32(c, d);
    const __m256i r0 = _mm256_unpacklo_epi64(ab_lo, cd_lo), r1 = _mm256_unpackhi_epi64(ab_lo, cd_lo);
    const __m256i r2 = _mm256_unpacklo_epi64(ab_hi, cd_hi), r3 = _mm256_unpackhi_epi64(ab_hi, cd_hi);
    auto* o = reinterpret_cast<__m256i*>(out + 32 * g);
    _mm256_storeu_si256(o + 0, _mm256_permute2x128_si256(r0, r1, 0x20));
    _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(r2, r3, 0x20));
    _mm256_storeu_si256(o + 2, _mm256_permute2x128_si256(r0, r1, 0x31));
    _mm256_storeu_si256(o + 3, _mm256_permute2x128_si256(r2, r3, 0x31));
  }
}

/// Writes 4·G blocks (16·G words, position order) starting at `idx` with AVX2.
template <int G>
__attribute__((target("avx2"))) inline void philox_avx2(std::uint64_t idx, philox_words stream, philox_words key,
                                                        std::uint32_t* out) noexcept {
  const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u), m1 = _mm256_set1_epi64x(0xCD9E8D57u);
  __m256i c0[G], c1[G], c2[G], c3[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const __m256i ctr = _mm256_add_epi64(_mm256_set1_epi64x(static_cast<long long>(idx + 4 * g)), lane);
    c0[g] = ctr, c1[g] = _mm256_srli_epi64(ctr, 32);
    c2[g] = _mm256_set1_epi64x(stream[0]), c3[g] = _mm256_set1_epi64x(stream[1]);
  }
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi64x(k0), key1 = _mm256_set1_epi64x(k1);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m256i p0 = _mm256_mul_epu32(c0[g], m0), p1 = _mm256_mul_epu32(c2[g], m1);
      c0[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[g]), key0);
      c2[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[g]), key1);
      c1[g] = p1, c3[g] = p0;
    }
    k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
  }
  // Low words of each 64-bit lane: ab = a0 b0 a1 b1 | a2 b2 a3 b3, cd likewise; then
  // block j = (a_j b_j c_j d_j).
  const __m256i low = _mm256_set1_epi64x(0xFFFFFFFF);
  for (int g = 0; g < G; ++g) {
    const __m256i ab = _mm256_or_si256(_mm256_and_si256(c0[g], low), _mm256_slli_epi64(c1[g], 32));
    const __m256i cd = _mm256_or_si256(_mm256_and_si256(c2[g], low), _mm256_slli_epi64(c3[g], 32));
    const __m256i lo = _mm256_unpacklo_epi64(ab, cd), hi = _mm256_unpackhi_epi64(ab, cd);  // blocks 0,2 | 1,3
    auto* o = reinterpret_cast<__m256i*>(out + 16 * g);
    _mm256_storeu_si256(o + 0, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
}

// Whole batches of four groups, then the rest with as few groups as cover it (the last
// partial batch through a scratch buffer).
template <int BlocksPerGroup, template <int> class Kernel>
inline void philox_bits_vector(std::uint64_t first, philox_words stream, philox_words key,
                               std::span<std::uint32_t> out) noexcept {
  constexpr std::size_t group_words = 4 * BlocksPerGroup, batch_words = 4 * group_words;
  const std::size_t n = out.size();
  std::size_t i = 0;
  for (; i + batch_words <= n; i += batch_words) Kernel<4>::run(first + i / 4, stream, key, out.data() + i);
  const std::size_t rest = n - i;
  if (rest == 0) return;
  std::uint32_t scratch[batch_words];
  const std::size_t groups = (rest + group_words - 1) / group_words;
  switch (groups) {
    case 1: Kernel<1>::run(first + i / 4, stream, key, scratch); break;
    case 2: Kernel<2>::run(first + i / 4, stream, key, scratch); break;
    case 3: Kernel<3>::run(first + i / 4, stream, key, scratch); break;
    default: Kernel<4>::run(first + i / 4, stream, key, scratch); break;
  }
  for (std::size_t j = 0; j < rest; ++j) out[i + j] = scratch[j];
}

template <int G>
struct avx512_kernel {
  static void run(std::uint64_t idx, philox_words stream, philox_words key, std::uint32_t* out) noexcept {
    philox_avx512<G>(idx, stream, key, out);
  }
};
template <int G>
struct avx2_kernel {
  static void run(std::uint64_t idx, philox_words stream, philox_words key, std::uint32_t* out) noexcept {
    philox_avx2<G>(idx, stream, key, out);
  }
};

#endif

/// out[i] = philox4x32 block (first + i/4), word i%4 — on the widest path this CPU has.
/// `level` (tests) forces a path no wider than the CPU's.
inline void philox_bits(std::uint64_t first, philox_words stream, philox_words key, std::span<std::uint32_t> out,
                        int level = 2) noexcept {
#ifdef PTP_X86_SIMD
  const int use = std::min(level, simd_level());
  // One block or less: the scalar function is as fast as a vector call.
  if (out.size() > 4 && use == 2) return philox_bits_vector<8, avx512_kernel>(first, stream, key, out);
  if (out.size() > 4 && use == 1) return philox_bits_vector<4, avx2_kernel>(first, stream, key, out);
#else
  (void)level;
#endif
  philox_bits_scalar(first, stream, key, out);
}

}  // namespace detail
}  // namespace ptp

#if defined(PTP_X86_SIMD) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
