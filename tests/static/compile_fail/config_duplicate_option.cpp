// expect: duplicate_option<ptp::opt::steps_t>
// expect: static.assert(ion)? failed.*ptp::config: duplicate option
// needs: boost
// The same option twice is refused where the map is made, naming the option.
#include <ptp/config.hpp>

using namespace ptp::opt;

auto opts() {
  return ptp::config::options(steps(3), epsilon(0.3)
#if PTP_COMPILE_FAIL
                              , steps(5)
#endif
  );
}
