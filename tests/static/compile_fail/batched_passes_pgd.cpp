// expect: static.assert(ion)? failed.*ptp::batched_passes: this embedding stage is not .batchable.
// PGD ascends from the clean pass's gradient, so its clean and perturbed passes cannot run as
// one stacked pass: ptp::batched_passes with it is refused at compile time (regularizer.hpp).
#include <ptp/embedding/gaussian.hpp>
#include <ptp/embedding/pgd.hpp>
#include <ptp/regularizer.hpp>

auto make() {
#if PTP_COMPILE_FAIL
  return ptp::regularizer(ptp::batched_passes{}, ptp::embedding::pgd{});
#else
  return ptp::regularizer(ptp::batched_passes{}, ptp::embedding::gaussian{});  // the control: batchable
#endif
}
