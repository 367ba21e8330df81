// ptp/adapters/torch/safetensors.hpp — safetensors files as torch tensors: the checked
// reader of ptp/data/safetensors.hpp (every byte the header names is validated first; see
// there) plus tensor()/read_into(), and a writer.
//
// Tensor data is copied straight from the file's mapping into the destination tensor's
// storage (read_into), so loading frozen weights into a model's parameters costs one copy and
// no intermediate tensor when dtypes agree.
#pragma once

#include <ptp/data/safetensors.hpp>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ptp::torch {

using ptp::data::safetensors_entry;
using ptp::data::safetensors_error;
using ptp::data::st_dtype;

namespace detail {
using ptp::data::detail::st_dtype_name;
inline c10::ScalarType st_to_torch(st_dtype d) noexcept {
  switch (d) {
    case st_dtype::f64: return c10::kDouble;
    case st_dtype::f32: return c10::kFloat;
    case st_dtype::f16: return c10::kHalf;
    case st_dtype::bf16: return c10::kBFloat16;
    case st_dtype::i64: return c10::kLong;
    case st_dtype::i32: return c10::kInt;
  }
  return c10::kFloat;
}
inline bool st_from_torch(c10::ScalarType t, st_dtype& out) noexcept {
  switch (t) {
    case c10::kDouble: out = st_dtype::f64; return true;
    case c10::kFloat: out = st_dtype::f32; return true;
    case c10::kHalf: out = st_dtype::f16; return true;
    case c10::kBFloat16: out = st_dtype::bf16; return true;
    case c10::kLong: out = st_dtype::i64; return true;
    case c10::kInt: out = st_dtype::i32; return true;
    default: return false;
  }
}

}  // namespace detail

/// A validated, memory-mapped safetensors file whose tensors come out as torch tensors.
///
/// @code
/// ptp::torch::safetensors_file f("model.safetensors");
/// for (auto& e : f.entries()) std::cout << e.name << '\n';
/// torch::Tensor w = f.tensor("embeddings.word_embeddings.weight");  // an owned copy
/// f.read_into("pooler.dense.bias", model->pooler->bias);            // straight into a parameter
/// @endcode
class safetensors_file : public ptp::data::safetensors_table {
 public:
  using ptp::data::safetensors_table::safetensors_table;

  /// An owned CPU tensor with the file's dtype and shape (copied out of the mapping).
  ::torch::Tensor tensor(std::string_view name) const {
    const auto& e = at(name);
    auto t = ::torch::empty(e.shape, ::torch::TensorOptions().dtype(detail::st_to_torch(e.dtype)));
    if (e.bytes() > 0) std::memcpy(t.data_ptr(), bytes(e).data(), e.bytes());
    return t;
  }

  /// Copies tensor `name` into `dst` (any device and floating dtype; integer files only into
  /// integer tensors). The shapes must agree exactly; otherwise safetensors_error names the
  /// file, tensor and both shapes. When `dst` is a contiguous CPU tensor of the file's dtype
  /// the bytes go straight from the mapping into its storage. Works on parameters that
  /// require grad (the copy is not recorded by autograd).
  void read_into(std::string_view name, ::torch::Tensor dst) const {
    const auto& e = at(name);
    if (dst.sizes().vec() != e.shape)
      throw error("tensor '" + e.name + "' has shape " + shape_string(e.shape) +
                  " but the destination expects " + shape_string(dst.sizes().vec()));
    const auto src_type = detail::st_to_torch(e.dtype);
    if (c10::isFloatingType(src_type) != c10::isFloatingType(dst.scalar_type()))
      throw error("tensor '" + e.name + "' has dtype " + detail::st_dtype_name(e.dtype) +
                  " which cannot be loaded into a " + std::string(c10::toString(dst.scalar_type())) +
                  " tensor");
    ::torch::NoGradGuard no_grad;
    if (dst.device().is_cpu() && dst.is_contiguous() && dst.scalar_type() == src_type) {
      if (e.bytes() > 0) std::memcpy(dst.data_ptr(), bytes(e).data(), e.bytes());
    } else {
      dst.copy_(tensor(name));
    }
  }

};

/// Writes `tensors` (name → tensor; any device, dtypes F64/F32/F16/BF16/I64/I32) to `path`
/// in the safetensors format, tensors laid out in name order, header padded with spaces to a
/// multiple of 8 bytes. Used to save trained prompts and to build test files.
/// @throws safetensors_error for an unsupported dtype or an I/O failure.
inline void save_safetensors(const std::filesystem::path& path,
                             const std::map<std::string, ::torch::Tensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<::torch::Tensor> blobs;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    st_dtype d{};
    if (!detail::st_from_torch(t.scalar_type(), d))
      throw safetensors_error("safetensors file '" + path.string() + "': tensor '" + name +
                              "' has unsupported dtype " + std::string(c10::toString(t.scalar_type())));
    auto c = t.detach().to(::torch::kCPU).contiguous();
    const std::uint64_t bytes = static_cast<std::uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", detail::st_dtype_name(d)},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(c);
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw safetensors_error("safetensors file '" + path.string() + "': cannot open for writing");
  const std::uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& c : blobs)
    out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
  if (!out) throw safetensors_error("safetensors file '" + path.string() + "': write failed");
}

}  // namespace ptp::torch
