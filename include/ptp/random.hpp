// ptp/random.hpp — a counter-based generator (Philox4x32-10).
//
// Why counter-based: element i of a noise tensor is a pure function of (seed, stream,
// offset + i/4), so every backend — Eigen, xtensor, LibTorch on any device — that fills a
// tensor through this generator gets the same bits for the same seed, independent of
// threading or of how the fill is split. Reference: Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3" (SC'11); constants from that paper.
//
// Normals (fill_normal) are Box–Muller in float with polynomial log/sin/cos, vectorised
// with AVX-512/AVX2 and bit-identical to the scalar fallback; ptp/normal_simd.hpp
// documents the stream and its error. Since issue 21 they differ from the earlier
// double-precision std::log/cos/sin stream: the same seed gives other (equally
// distributed) noise than before.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>

#include "ptp/normal_simd.hpp"
#include "ptp/philox_simd.hpp"

namespace ptp {

/// Philox4x32-10 block function: 128-bit counter × 64-bit key → 128 random bits.
[[nodiscard]] constexpr std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> ctr,
                                                               std::array<std::uint32_t, 2> key) noexcept {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t{m0} * ctr[0];
    const std::uint64_t p1 = std::uint64_t{m1} * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key[0] += w0;
    key[1] += w1;
  }
  return ctr;
}

/// Maps 32 random bits to a uniform double in the open interval (0, 1).
[[nodiscard]] constexpr double uniform_open01(std::uint32_t bits) noexcept {
  return (static_cast<double>(bits) + 0.5) * 0x1p-32;
}

/// The integer form of `uniform_open01(bits) < p`: it holds exactly when bits < threshold,
/// with threshold = ⌈p·2^32 − 1/2⌉ clamped to [0, 2^32] (p·2^32 and the subtraction are
/// exact in double). Lets a hot loop compare integers and still draw the same events.
[[nodiscard]] inline std::uint64_t open01_threshold(double p) noexcept {
  if (!(p > 0.0)) return 0;
  if (p >= 1.0) return std::uint64_t{1} << 32;
  return static_cast<std::uint64_t>(std::ceil(p * 0x1p32 - 0.5));
}

/// A seeded stream of random numbers: (seed, stream) name the sequence, offset is the
/// position in it, counted in 128-bit blocks. Copying a generator copies its position.
///
/// Every stochastic call in ptp takes a generator by reference and advances it; two
/// generators with the same (seed, stream, offset) produce the same numbers everywhere.
/// @code
///   ptp::generator gen{.seed = 42};
///   std::vector<float> noise(1024);
///   gen.fill_normal(std::span{noise}, 0.0, 0.01);
/// @endcode
struct generator {
  std::uint64_t seed = 0;    ///< the experiment's seed
  std::uint64_t stream = 0;  ///< independent sub-sequence (e.g. one per worker or per stage)
  std::uint64_t offset = 0;  ///< blocks of 4×32 bits consumed so far

  /// The 4×32 bits at block `index` of this stream (does not advance).
  [[nodiscard]] constexpr std::array<std::uint32_t, 4> block(std::uint64_t index) const noexcept {
    return philox4x32({static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
                       static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)},
                      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  }

  /// The raw draws of `out.size()` consecutive positions starting at block `first`:
  /// out[i] = block(first + i/4)[i%4]. Bit-identical to calling block() per position, but
  /// 8 blocks at a time in SIMD registers where the CPU has AVX-512 or AVX2 (checked at run
  /// time; ~10× faster than one block at a time). Does not advance.
  void bits_at(std::uint64_t first, std::span<std::uint32_t> out) const noexcept {
    detail::philox_bits(first, {static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)},
                        {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}, out);
  }

  /// The next 32 random bits (uses one whole block, so scalar draws stay counter-aligned).
  constexpr std::uint32_t next_u32() noexcept { return block(offset++)[0]; }

  /// A uniform double in (0, 1).
  constexpr double uniform() noexcept { return uniform_open01(next_u32()); }

  /// A uniform integer in [0, n) (n > 0), by 64-bit multiply-shift (bias < 2^-32).
  constexpr std::uint64_t below(std::uint64_t n) noexcept {
    const auto b = block(offset++);
    const std::uint64_t bits = (std::uint64_t{b[0]} << 32) | b[1];
    // high 64 bits of bits·n, portably (no __int128)
    const std::uint64_t a_lo = bits & 0xFFFFFFFFu, a_hi = bits >> 32, n_lo = n & 0xFFFFFFFFu, n_hi = n >> 32;
    const std::uint64_t lo_lo = a_lo * n_lo, hi_lo = a_hi * n_lo, lo_hi = a_lo * n_hi, hi_hi = a_hi * n_hi;
    const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFu) + lo_hi;
    return hi_hi + (hi_lo >> 32) + (cross >> 32);
  }

  /// Fills `out` with U(lo, hi); element i comes from block offset + i/4, lane i%4.
  template <class T>
  void fill_uniform(std::span<T> out, double lo, double hi) noexcept {
    const std::size_t n = out.size();
    for (std::size_t i = 0; i < n; i += 4) {
      const auto b = block(offset + i / 4);
      for (std::size_t lane = 0; lane < 4 && i + lane < n; ++lane)
        out[i + lane] = static_cast<T>(lo + (hi - lo) * uniform_open01(b[lane]));
    }
    offset += (n + 3) / 4;
  }

  /// Fills `out` with N(mean, stddev²) by Box–Muller in float; lanes (0,1) and (2,3) of
  /// each block form the two pairs (z = r·cos θ from the even lane's radius, r·sin θ next to
  /// it), so element i depends on block offset + i/4 only, and out[i] =
  /// T(fma(stddev, double(z_i), mean)): a float fill is the double fill rounded.
  /// The log/sin/cos are float polynomials (ptp/normal_simd.hpp documents them: |Δz| ≤ 7e-7
  /// against double Box–Muller of the same uniforms), evaluated 16 pairs per AVX-512 step
  /// (8 per AVX2+FMA step) where the CPU has it, bit-identical to the scalar path.
  /// Changed in issue 21: the values differ from the earlier double-precision stream
  /// (same seed → different noise than before; same distribution).
  template <class T>
  void fill_normal(std::span<T> out, double mean, double stddev) noexcept {
    detail::normal::fill(offset, {static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)},
                         {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}, out, mean,
                         stddev);
    offset += (out.size() + 3) / 4;
  }

  /// A generator for an independent sub-stream (e.g. per stage), leaving this one as is.
  [[nodiscard]] constexpr generator split(std::uint64_t sub) const noexcept {
    return generator{.seed = seed ^ (0x9E3779B97F4A7C15ull * (sub + 1)), .stream = stream, .offset = 0};
  }
};

}  // namespace ptp
