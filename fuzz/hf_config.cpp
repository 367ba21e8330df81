// Fuzz target: Hugging Face config.json for the encoders
// (adapters/torch/include/ptp/adapters/torch/hf_config.hpp — it does not include LibTorch).
// The input is written as config.json and loaded with load_hf_config; it either gives a
// config that validate() accepts (then the derived sizes are computed) or throws
// ptp::torch::hf_config_error naming the file. Nothing else may escape.
#include <ptp/adapters/torch/hf_config.hpp>

#include "common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = ptp_fuzz::scratch_dir::get().write("config.json", ptp_fuzz::text(data, size));
  try {
    const auto c = ptp::torch::load_hf_config(path);
    c.validate();
    if (c.head_dim() * c.num_attention_heads != c.hidden_size) ptp_fuzz::finding("head_dim inconsistent");
    (void)c.num_attention_applications();
    (void)ptp::torch::to_string(c.family);
  } catch (const ptp::torch::hf_config_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
