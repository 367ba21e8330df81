// expect: static.assert(ion)? failed.*ptp::regularizer: at most one embedding-space stage
// One embedding-space stage per regularizer (docs/algorithms.md §2): PGD and FreeLB do not stack.
#include <ptp/ptp.hpp>

auto make() {
#if PTP_COMPILE_FAIL
  return ptp::regularizer(ptp::embedding::pgd{}, ptp::embedding::freelb{});
#else
  return ptp::regularizer(ptp::embedding::pgd{});
#endif
}
auto reg = make();
