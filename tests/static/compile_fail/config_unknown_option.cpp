// expect: unknown_option<ptp::opt::sigma_t, ptp::embedding::pgd>
// expect: static.assert(ion)? failed.*ptp::config: unknown option
// needs: boost
// PGD has no σ: the diagnostic names the option (sigma_t) and the aggregate (pgd).
#include <ptp/config.hpp>

using namespace ptp::opt;

auto make() {
  return ptp::config::make<ptp::embedding::pgd>(ptp::config::options(steps(3), epsilon(0.3)
#if PTP_COMPILE_FAIL
                                                                         , sigma(0.1)
#endif
                                                                         ));
}
