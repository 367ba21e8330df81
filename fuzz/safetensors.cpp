// Fuzz target: the safetensors reader (include/ptp/data/safetensors.hpp: header, tensor table,
// tiling of the data buffer), without any tensor library.
// The input is written as model.safetensors and opened; it either validates — then every
// entry's byte span must lie inside the file, match dtype × shape, and the spans must tile
// the data buffer in order (each byte is read, so ASan checks the mapping) — or it throws
// ptp::data::safetensors_error naming the file. Nothing else may escape.
#include <ptp/data/safetensors.hpp>

#include "common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = ptp_fuzz::scratch_dir::get().write("model.safetensors", ptp_fuzz::text(data, size));
  try {
    const ptp::data::safetensors_table f(path);
    std::uint64_t next = f.entries().empty() ? size : f.entries().front().begin;
    unsigned sum = 0;
    for (const auto& e : f.entries()) {
      if (e.begin > e.end || e.end > size) ptp_fuzz::finding("entry outside the file");
      if (e.begin != next) ptp_fuzz::finding("entries do not tile the buffer");
      next = e.end;
      std::uint64_t numel = 1;
      for (auto s : e.shape) numel *= static_cast<std::uint64_t>(s);
      if (numel * ptp::data::detail::st_dtype_size(e.dtype) != e.bytes()) ptp_fuzz::finding("bytes != dtype x shape");
      const auto b = f.bytes(e);
      if (b.size() != e.bytes()) ptp_fuzz::finding("span size");
      for (auto x : b) sum += static_cast<unsigned>(x);  // every byte readable
      if (&f.at(e.name) != &e) ptp_fuzz::finding("index");
    }
    if (next != size) ptp_fuzz::finding("trailing bytes accepted");
    (void)sum;
    (void)f.metadata();
    (void)f.names();
    try {
      (void)f.at("\x01 no such tensor");
    } catch (const ptp::data::safetensors_error& x) {  // a missing tensor: documented
      ptp_fuzz::expected(x);
    }
  } catch (const ptp::data::safetensors_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
