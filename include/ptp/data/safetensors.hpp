// ptp/data/safetensors.hpp — a checked reader of the safetensors format, without any tensor
// library: the validated header table and each tensor's raw bytes. ptp::torch::safetensors_file
// (adapters/torch/…/safetensors.hpp) builds torch tensors on it; the fuzz target tests it alone.
//
// The format (https://huggingface.co/docs/safetensors): an 8-byte little-endian unsigned
// header length N, then N bytes of UTF-8 JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the byte buffer that
// follows the header) plus an optional "__metadata__" object of string → string, then the
// byte buffer.  Our own code, written from the format description.
//
// Everything a file says is checked before a byte of tensor data is touched:
//   * the file holds the 8-byte length and the whole header (no read past the end);
//   * the header is a JSON object; every entry names a known dtype, a shape of non-negative
//     integers and two offsets; no key appears twice;
//   * end − begin equals numel × element size (overflow-checked) and end ≤ buffer size;
//   * sorted by begin, the ranges tile the buffer exactly: the first starts at 0, each starts
//     where the previous one ended, the last ends at the end of the file (so overlapping,
//     out-of-order-with-holes or trailing-garbage files are rejected, as the format requires).
// Every error is a ptp::data::safetensors_error (also spelled ptp::torch::safetensors_error)
// whose message names the file and, where there is one, the tensor.
//
// The file is memory-mapped read-only (POSIX mmap); bytes() hands out a tensor's bytes as a
// span into the mapping, so a tensor library can copy them straight into its own storage.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ptp::data {

/// Thrown for every malformed, truncated or inconsistent safetensors file (and for requests
/// the file cannot satisfy: a missing tensor, a shape mismatch). The message names the file.
class safetensors_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The element types this reader understands (the safetensors dtype strings in brackets).
enum class st_dtype { f64, f32, f16, bf16, i64, i32 };

namespace detail {
inline constexpr std::uint64_t st_max_header_bytes = 100ull << 20;  // 100 MiB, as upstream

inline std::size_t st_dtype_size(st_dtype d) noexcept {
  switch (d) {
    case st_dtype::f64: case st_dtype::i64: return 8;
    case st_dtype::f32: case st_dtype::i32: return 4;
    case st_dtype::f16: case st_dtype::bf16: return 2;
  }
  return 0;
}
inline const char* st_dtype_name(st_dtype d) noexcept {
  switch (d) {
    case st_dtype::f64: return "F64";
    case st_dtype::f32: return "F32";
    case st_dtype::f16: return "F16";
    case st_dtype::bf16: return "BF16";
    case st_dtype::i64: return "I64";
    case st_dtype::i32: return "I32";
  }
  return "?";
}
inline bool st_parse_dtype(std::string_view s, st_dtype& out) noexcept {
  static constexpr std::pair<std::string_view, st_dtype> table[] = {
      {"F64", st_dtype::f64}, {"F32", st_dtype::f32}, {"F16", st_dtype::f16},
      {"BF16", st_dtype::bf16}, {"I64", st_dtype::i64}, {"I32", st_dtype::i32}};
  for (auto [name, d] : table)
    if (s == name) { out = d; return true; }
  return false;
}
/// a·b with overflow detection (returns false on overflow).
inline bool st_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

/// Read-only POSIX memory mapping of a whole file; unmapped on destruction. Move-only.
class st_mapping {
 public:
  st_mapping() = default;
  explicit st_mapping(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw safetensors_error("safetensors: cannot open '" + path.string() +
                              "': " + std::strerror(errno));
    struct ::stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      throw safetensors_error("safetensors: cannot stat '" + path.string() + "': " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw safetensors_error("safetensors: '" + path.string() + "' is not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        throw safetensors_error("safetensors: cannot map '" + path.string() + "': " + std::strerror(e));
      }
      data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
  }
  st_mapping(const st_mapping&) = delete;
  st_mapping& operator=(const st_mapping&) = delete;
  st_mapping(st_mapping&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  st_mapping& operator=(st_mapping&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~st_mapping() { release(); }

  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void release() noexcept {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};
}  // namespace detail

/// One tensor's entry in a safetensors header. `begin`/`end` are absolute file offsets.
struct safetensors_entry {
  std::string name;
  st_dtype dtype = st_dtype::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  ///< absolute offset of the first byte in the file
  std::uint64_t end = 0;    ///< absolute offset one past the last byte

  std::uint64_t bytes() const noexcept { return end - begin; }
  std::int64_t numel() const noexcept {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
};

/// A validated, memory-mapped safetensors file: the header's tensor table and metadata, and
/// each tensor's bytes as a span into the mapping.
///
/// @code
/// ptp::data::safetensors_table f("model.safetensors");
/// for (auto& e : f.entries()) std::cout << e.name << ' ' << f.bytes(e).size() << '\n';
/// @endcode
/// The constructor validates the whole header (see the file comment) and throws
/// safetensors_error on the first problem; afterwards every read is in bounds.
class safetensors_table {
 public:
  explicit safetensors_table(std::filesystem::path path) : path_(std::move(path)), map_(path_) { parse(); }

  const std::filesystem::path& path() const noexcept { return path_; }
  /// Entries sorted by file offset.
  const std::vector<safetensors_entry>& entries() const noexcept { return entries_; }
  /// The "__metadata__" object (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  bool contains(std::string_view name) const { return index_.find(std::string(name)) != index_.end(); }
  /// Names of all tensors, sorted by file offset.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (auto& e : entries_) out.push_back(e.name);
    return out;
  }

  /// The entry for `name`; throws safetensors_error naming the file and tensor if absent.
  const safetensors_entry& at(std::string_view name) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end()) throw error("no tensor named '" + std::string(name) + "'");
    return entries_[it->second];
  }

  /// The bytes of `e` (an entry of this file), inside the mapping.
  std::span<const std::byte> bytes(const safetensors_entry& e) const noexcept {
    return {map_.data() + e.begin, static_cast<std::size_t>(e.bytes())};
  }

 protected:
  safetensors_error error(const std::string& what) const {
    return safetensors_error("safetensors file '" + path_.string() + "': " + what);
  }
  static std::string shape_string(const std::vector<std::int64_t>& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
  }

 private:
  void parse() {
    static_assert(std::endian::native == std::endian::little,
                  "the safetensors reader assumes a little-endian host");
    const std::uint64_t file_size = map_.size();
    if (file_size < 8)
      throw error("truncated: " + std::to_string(file_size) +
                  " bytes, shorter than the 8-byte header length");
    std::uint64_t n = 0;
    std::memcpy(&n, map_.data(), 8);
    if (n > detail::st_max_header_bytes)
      throw error("header length " + std::to_string(n) + " exceeds the 100 MiB limit");
    if (n > file_size - 8)
      throw error("header length " + std::to_string(n) + " runs past the end of the file (" +
                  std::to_string(file_size) + " bytes)");
    const std::uint64_t data_start = 8 + n;
    const std::uint64_t data_size = file_size - data_start;

    // Parse the header; the callback rejects duplicate keys at the top level (nlohmann keeps
    // the last one silently, which would let two entries alias each other unnoticed).
    std::set<std::string> seen;
    std::string duplicate;
    auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
      if (depth == 1 && ev == nlohmann::json::parse_event_t::key && parsed.is_string()) {
        if (!seen.insert(parsed.get<std::string>()).second && duplicate.empty())
          duplicate = parsed.get<std::string>();
      }
      return true;
    };
    const char* hbegin = reinterpret_cast<const char*>(map_.data() + 8);
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(hbegin, hbegin + n, cb);
    } catch (const nlohmann::json::exception& ex) {
      throw error(std::string("the header is not valid JSON: ") + ex.what());
    }
    if (!duplicate.empty()) throw error("the header names '" + duplicate + "' twice");
    if (!header.is_object()) throw error("the header is not a JSON object");

    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const auto& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) throw error("'__metadata__' is not an object");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string()) throw error("metadata value '" + m.key() + "' is not a string");
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      auto bad = [&](const std::string& what) { return error("tensor '" + name + "': " + what); };
      if (!v.is_object()) throw bad("the entry is not an object");
      if (!v.contains("dtype") || !v["dtype"].is_string()) throw bad("missing or non-string 'dtype'");
      if (!v.contains("shape") || !v["shape"].is_array()) throw bad("missing or non-array 'shape'");
      if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
        throw bad("'data_offsets' must be an array of two integers");
      safetensors_entry e;
      e.name = name;
      const auto dtype_name = v["dtype"].get<std::string>();
      if (!detail::st_parse_dtype(dtype_name, e.dtype))
        throw bad("unsupported dtype '" + dtype_name + "' (supported: F64 F32 F16 BF16 I64 I32)");
      std::uint64_t numel = 1;
      for (const auto& d : v["shape"]) {
        if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<std::int64_t>() >= 0))
          throw bad("shape entries must be non-negative integers");
        const auto s = d.get<std::uint64_t>();
        if (s > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) || !detail::st_mul(numel, s, numel))
          throw bad("shape is too large");
        e.shape.push_back(static_cast<std::int64_t>(s));
      }
      std::uint64_t expected = 0;
      if (!detail::st_mul(numel, detail::st_dtype_size(e.dtype), expected)) throw bad("shape is too large");
      const auto& off = v["data_offsets"];
      for (const auto& o : off)
        if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<std::int64_t>() >= 0))
          throw bad("data offsets must be non-negative integers");
      const auto b = off[0].get<std::uint64_t>(), en = off[1].get<std::uint64_t>();
      if (b > en) throw bad("data offsets [" + std::to_string(b) + ", " + std::to_string(en) + "] are reversed");
      if (en > data_size)
        throw bad("data offsets [" + std::to_string(b) + ", " + std::to_string(en) +
                  "] lie outside the data buffer of " + std::to_string(data_size) + " bytes");
      if (en - b != expected)
        throw bad("holds " + std::to_string(en - b) + " bytes but dtype " + dtype_name + " and shape " +
                  shape_string(e.shape) + " need " + std::to_string(expected));
      e.begin = data_start + b;
      e.end = data_start + en;
      entries_.push_back(std::move(e));
    }

    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
    std::uint64_t cursor = data_start;
    for (const auto& e : entries_) {
      if (e.begin < cursor)
        throw error("tensor '" + e.name + "' overlaps the previous tensor's bytes");
      if (e.begin > cursor)
        throw error("tensor '" + e.name + "' leaves a hole of " + std::to_string(e.begin - cursor) +
                    " bytes before it (the buffer must be tiled exactly)");
      cursor = e.end;
    }
    if (cursor != file_size)
      throw error(std::to_string(file_size - cursor) + " trailing bytes after the last tensor");
    for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].name, i);
  }

  std::filesystem::path path_;
  detail::st_mapping map_;
  std::vector<safetensors_entry> entries_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ptp::data
