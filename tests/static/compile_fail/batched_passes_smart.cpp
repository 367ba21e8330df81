// expect: static.assert(ion)? failed.*ptp::batched_passes: this embedding stage is not .batchable.
// SMART's ascent needs the clean logits before the perturbed pass: not batchable, refused at
// compile time with ptp::batched_passes (regularizer.hpp); R3F, which draws δ blind, is not.
#include <ptp/embedding/r3f.hpp>
#include <ptp/embedding/smart.hpp>
#include <ptp/regularizer.hpp>

auto make() {
#if PTP_COMPILE_FAIL
  return ptp::regularizer(ptp::batched_passes{}, ptp::embedding::smart{});
#else
  return ptp::regularizer(ptp::batched_passes{}, ptp::embedding::r3f{});  // the control: batchable
#endif
}
