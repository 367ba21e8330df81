// expect: duplicate_option<ptp::opt::steps_t>
// expect: static.assert(ion)? failed.*ptp::config: duplicate option
// needs: boost
// A map built with hana::make_map directly (Hana itself does not refuse duplicate keys) is
// checked when lowered; ptp::opt::steps and hana::type_c<steps_t> are the same key.
#include <ptp/config.hpp>

namespace hana = boost::hana;
using namespace ptp::opt;

auto make() {
  return ptp::config::make<ptp::embedding::freelb>(hana::make_map(steps(2)
#if PTP_COMPILE_FAIL
                                                                   , hana::make_pair(hana::type_c<steps_t>, 4)
#endif
                                                                   ));
}
