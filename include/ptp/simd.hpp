// ptp/simd.hpp — which x86 vector path this CPU takes, decided at run time.
//
// Why at run time: a header-only library is compiled with the user's flags, usually without
// -march, so the kernels that profit from AVX2/AVX-512 (Philox blocks, mask selection) carry
// GCC/Clang target attributes and are picked by cpuid here. PTP_NO_SIMD turns them all off.
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__CUDACC__) && !defined(PTP_NO_SIMD)
#define PTP_X86_SIMD 1
#include <immintrin.h>
#endif

namespace ptp::detail {

/// The widest vector path this CPU has: 2 = AVX-512 (F+VL), 1 = AVX2, 0 = scalar only.
#ifdef PTP_X86_SIMD
[[nodiscard]] inline int simd_level() noexcept {
  static const int level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? 2
                           : __builtin_cpu_supports("avx2")                                          ? 1
                                                                                                      : 0;
  return level;
}
#else
[[nodiscard]] inline int simd_level() noexcept { return 0; }
#endif

}  // namespace ptp::detail
