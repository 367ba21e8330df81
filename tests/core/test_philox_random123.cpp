// ptp's hand-written Philox4x32-10 (scalar, AVX2, AVX-512 paths) against the reference
// implementation, Random123's r123::Philox4x32 (<Random123/philox.h>, Debian's
// librandom123-dev, which ./ptp setup installs): on Random123's known-answer vectors and on
// random keys and counters. Where the two differ, Random123 is right.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "catch.hpp"
#include "ptp/random.hpp"

#if __has_include(<Random123/philox.h>)
#include <Random123/philox.h>  // defines a macro philox4x32(c, k): ptp's is called as (ptp::philox4x32)(…)

namespace {

using A4 = std::array<std::uint32_t, 4>;

A4 reference(A4 ctr, std::array<std::uint32_t, 2> key) {
  r123::Philox4x32 rng;  // 10 rounds
  const r123::Philox4x32::ctr_type c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  const r123::Philox4x32::key_type k = {{key[0], key[1]}};
  const auto r = rng(c, k);
  return {r.v[0], r.v[1], r.v[2], r.v[3]};
}

}  // namespace

TEST_CASE("Philox4x32-10: Random123's known-answer vectors, through Random123 and through ptp", "[core][random][random123]") {
  // Random123's kat_vectors, "philox4x32 10" lines: counter, key → output.
  struct kat {
    A4 ctr;
    std::array<std::uint32_t, 2> key;
    A4 out;
  };
  const kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const auto& k : kats) {
    CHECK(reference(k.ctr, k.key) == k.out);  // the reference reproduces its own vectors
    CHECK((ptp::philox4x32)(k.ctr, k.key) == k.out);
  }
}

TEST_CASE("Philox4x32-10: every ptp path equals Random123 on random keys and counters", "[core][random][random123]") {
  ptp::generator meta{.seed = 0x5eed, .stream = 123};
  const auto u64 = [&] { return (std::uint64_t{meta.next_u32()} << 32) | meta.next_u32(); };
  for (int trial = 0; trial < 200; ++trial) {
    // random key, stream and first counter; the counter's high word crosses a carry sometimes
    const std::uint64_t seed = u64(), stream = u64();
    std::uint64_t first = u64();
    if (trial % 4 == 0) first = 0xffffffffull - (first % 5);  // low word about to wrap
    const ptp::generator g{.seed = seed, .stream = stream};
    const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
    const std::size_t words = 1 + static_cast<std::size_t>(meta.below(200));
    std::vector<A4> want(words / 4 + 1);
    for (std::size_t b = 0; b < want.size(); ++b) {
      const std::uint64_t idx = first + b;
      const A4 ctr{static_cast<std::uint32_t>(idx), static_cast<std::uint32_t>(idx >> 32), static_cast<std::uint32_t>(stream),
                   static_cast<std::uint32_t>(stream >> 32)};
      want[b] = reference(ctr, key);
      REQUIRE((ptp::philox4x32)(ctr, key) == want[b]);  // the scalar block function
      REQUIRE(g.block(idx) == want[b]);
    }
    // the bulk paths: scalar (0), AVX2 (1) and AVX-512 (2), each as far as this CPU goes
    for (int level : {0, 1, 2}) {
      std::vector<std::uint32_t> out(words);
      ptp::detail::philox_bits(first, {static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)}, key,
                               std::span<std::uint32_t>(out), level);
      for (std::size_t i = 0; i < words; ++i) {
        INFO("trial " << trial << ", level " << level << ", word " << i);
        REQUIRE(out[i] == want[i / 4][i % 4]);
      }
    }
  }
  INFO("SIMD level of this CPU: " << ptp::detail::simd_level());
  CHECK(ptp::detail::simd_level() >= 0);
}

#else
TEST_CASE("Philox4x32-10 against Random123", "[core][random][random123]") {
  FAIL("<Random123/philox.h> not found: install librandom123-dev (./ptp setup does)");
}
#endif
