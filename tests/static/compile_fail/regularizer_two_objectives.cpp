// expect: static.assert(ion)? failed.*ptp::regularizer: at most one objective
// One objective per regularizer.
#include <ptp/ptp.hpp>

auto make() {
#if PTP_COMPILE_FAIL
  return ptp::regularizer(ptp::embedding::fgm{}, ptp::objective::clean_plus_perturbed{},
                          ptp::objective::perturbed_only{});
#else
  return ptp::regularizer(ptp::embedding::fgm{}, ptp::objective::clean_plus_perturbed{});
#endif
}
auto reg = make();
