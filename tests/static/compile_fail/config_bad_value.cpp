// expect: bad_option_value<ptp::opt::steps_t, ptp::embedding::pgd, double>
// expect: static.assert(ion)? failed.*ptp::config: the value's type does not fit
// needs: boost
// K is an integer: 2.5 steps would be truncated, so the value is refused, naming the option.
#include <ptp/config.hpp>

using namespace ptp::opt;

auto make() {
#if PTP_COMPILE_FAIL
  return ptp::config::make<ptp::embedding::pgd>(ptp::config::options(steps(2.5)));
#else
  return ptp::config::make<ptp::embedding::pgd>(ptp::config::options(steps(2)));
#endif
}
