// expect: static.assert(ion)? failed.*ptp::Tensor: no ptp::backend<T> specialisation
// A type no adapter knows is no Tensor; the check says to include the adapter header.
#include <ptp/concepts.hpp>

#include "toy_tensor.hpp"

struct unknown_tensor {};

#if PTP_COMPILE_FAIL
void use() { ptp::check::differentiable<toy::fused_model, unknown_tensor>(); }
#else
void use() { ptp::check::differentiable<toy::fused_model, toy::tensor>(); }
#endif
