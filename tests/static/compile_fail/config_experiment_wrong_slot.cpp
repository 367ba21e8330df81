// expect: wrong_stage_kind<ptp::opt::embedding_t, ptp::objective::perturbed_only>
// needs: boost
// An objective in the embedding slot is refused, naming the slot and the stage.
#include <ptp/config.hpp>

namespace hana = boost::hana;
using namespace ptp::opt;

auto make() {
#if PTP_COMPILE_FAIL
  return ptp::config::experiment(hana::make_map(embedding(ptp::objective::perturbed_only{})));
#else
  return ptp::config::experiment(hana::make_map(objective(ptp::objective::perturbed_only{})));
#endif
}
