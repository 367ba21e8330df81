// expect: unknown_option<ptp::opt::steps_t, ptp::config::experiment_slots>
// needs: boost
// An experiment map holds stages (text, embedding, objective), not loose options.
#include <ptp/config.hpp>

namespace hana = boost::hana;
using namespace ptp::opt;

auto make() {
  return ptp::config::experiment(hana::make_map(embedding(ptp::config::stage<ptp::embedding::pgd>(epsilon(0.3)))
#if PTP_COMPILE_FAIL
                                                , steps(3)
#endif
                                                ));
}
