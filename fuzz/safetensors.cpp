// Fuzz target: the safetensors reader (adapters/torch/include/ptp/adapters/torch/safetensors.hpp).
// The header parser lives inside safetensors_file, which includes LibTorch, so this target
// links LibTorch (PTP_FUZZ_TORCH=1 tools/fuzz.sh safetensors <seconds>).
// The input is written as model.safetensors and opened; it either validates — then every
// tensor is copied out (tensor()) and into a matching destination (read_into), which must
// stay inside the mapping — or throws ptp::torch::safetensors_error naming the file.
// Nothing else may escape.
#include <ptp/adapters/torch/safetensors.hpp>

#include "common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = ptp_fuzz::scratch_dir::get().write("model.safetensors", ptp_fuzz::text(data, size));
  try {
    const ptp::torch::safetensors_file f(path);
    for (const auto& e : f.entries()) {
      if (e.begin > e.end || e.end > size) ptp_fuzz::finding("entry outside the file");
      if (e.bytes() > (1u << 20)) continue;  // keep executions fast; bounds were checked above
      auto t = f.tensor(e.name);
      if (static_cast<std::uint64_t>(t.numel()) * t.element_size() != e.bytes()) ptp_fuzz::finding("tensor size");
      f.read_into(e.name, ::torch::empty_like(t));
      try {
        f.read_into(e.name, ::torch::empty({static_cast<std::int64_t>(t.numel()) + 1}));
      } catch (const ptp::torch::safetensors_error& x) {  // shape mismatch: documented
        ptp_fuzz::expected(x);
      }
    }
    (void)f.metadata();
    (void)f.names();
  } catch (const ptp::torch::safetensors_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
