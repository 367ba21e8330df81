/// @file vocabulary.hpp
/// Token ↔ id maps shared by the sub-word models, with string_view lookups (no allocation
/// per probe: WordPiece probes many substrings per word).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ptp::text {

namespace detail {
/// Transparent hash so unordered_map<std::string, …>::find accepts std::string_view.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
}  // namespace detail

/// A vocabulary: token → id and id → token. Ids need not be dense (tokenizer.json may
/// skip some); id_to_token of a gap is std::nullopt.
class vocabulary {
 public:
  vocabulary() = default;

  /// The largest id accepted. Ids index dense tables (id → token here, embedding rows
  /// downstream), so an id read from a file must not size them at will: 2^22 − 1 is 16×
  /// the largest vocabularies in use (~262k).
  static constexpr std::uint32_t max_id = (1u << 22) - 1;

  /// Sets `token` ↔ `id`; a repeated token keeps the last id (as HF does). Throws
  /// std::length_error for an id above max_id (the file loaders report it first, by field).
  void insert(std::string token, std::uint32_t id) {
    if (id > max_id) throw std::length_error("token id " + std::to_string(id) + " exceeds vocabulary::max_id");
    if (id >= tokens_.size()) {
      tokens_.resize(id + 1);
      present_.resize(id + 1, false);
    }
    tokens_[id] = token;
    present_[id] = true;
    max_token_bytes_ = std::max(max_token_bytes_, token.size());
    map_.insert_or_assign(std::move(token), id);
  }
  /// Id of `token`, if present.
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view token) const {
    const auto it = map_.find(token);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  /// Id of `token` or `fallback`.
  [[nodiscard]] std::int64_t find_or(std::string_view token, std::int64_t fallback) const noexcept {
    const auto it = map_.find(token);
    return it == map_.end() ? fallback : static_cast<std::int64_t>(it->second);
  }
  /// Token of `id`, if present.
  [[nodiscard]] std::optional<std::string> token(std::uint32_t id) const {
    if (id >= tokens_.size() || !present_[id]) return std::nullopt;
    return tokens_[id];
  }
  /// Token of an id known to be present (no copy).
  [[nodiscard]] const std::string& token_ref(std::uint32_t id) const { return tokens_.at(id); }
  /// One past the largest id.
  [[nodiscard]] std::size_t size() const noexcept { return tokens_.size(); }
  /// Number of distinct tokens.
  [[nodiscard]] std::size_t distinct() const noexcept { return map_.size(); }
  /// Length in bytes of the longest token (bounds WordPiece's longest-match search).
  [[nodiscard]] std::size_t max_token_bytes() const noexcept { return max_token_bytes_; }

 private:
  std::unordered_map<std::string, std::uint32_t, detail::string_hash, std::equal_to<>> map_;
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
  std::size_t max_token_bytes_ = 0;
};

}  // namespace ptp::text
