// ptp/text/hotflip.hpp — first-order (HotFlip) scores of token swaps (docs/algorithms.md §4).
//
// Ebrahimi et al., "HotFlip: White-Box Adversarial Examples for Text Classification"
// (ACL 2018): replacing the token w at a position by w′ changes the loss, to first order,
// by (E[w′] − E[w]) · g, where g = ∂loss/∂e is the gradient at that position's input
// embedding. Ranking candidates by this score needs no forward pass: one dot product each.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ptp/text/concepts.hpp"

namespace ptp::text {

/// A token id with its HotFlip score.
struct scored_id {
  std::int64_t id = -1;  ///< the replacement token
  double score = 0.0;    ///< (E[id] − E[from]) · g: first-order loss increase
  friend bool operator==(const scored_id&, const scored_id&) = default;
};

namespace detail {
template <class T>
[[nodiscard]] double dot(std::span<const T> a, std::span<const T> b) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return s;
}
template <class T>
void check_hotflip(matrix_view<T> e, std::int64_t id, std::span<const T> g) {
  if (id < 0 || static_cast<std::size_t>(id) >= e.rows)
    throw std::out_of_range("hotflip: token id " + std::to_string(id) + " outside [0, " + std::to_string(e.rows) + ")");
  if (g.size() != e.dim)
    throw std::invalid_argument("hotflip: gradient has " + std::to_string(g.size()) + " values, embedding dim is " +
                                std::to_string(e.dim));
}
}  // namespace detail

/// HotFlip score of swapping `from` → `to` at a position with gradient `g`:
/// (E[to] − E[from]) · g, accumulated in double.
/// @tparam T float or double (embedding and gradient share it)
/// @code
///   double s = ptp::text::hotflip_score(ptp::text::matrix_view<float>{emb, vocab, dim}, 2023, 2003, grad_row);
/// @endcode
template <class T>
[[nodiscard]] double hotflip_score(matrix_view<T> e, std::int64_t from, std::int64_t to, std::span<const T> g) {
  detail::check_hotflip(e, from, g);
  detail::check_hotflip(e, to, g);
  return detail::dot(e.row(static_cast<std::size_t>(to)), g) - detail::dot(e.row(static_cast<std::size_t>(from)), g);
}

/// The candidates ranked by HotFlip score, best (largest first-order loss increase) first;
/// ties by the smaller id. To rank for loss *decrease*, pass −g.
template <class T>
[[nodiscard]] std::vector<scored_id> hotflip_rank(matrix_view<T> e, std::int64_t from,
                                                  std::span<const std::int64_t> candidates, std::span<const T> g) {
  detail::check_hotflip(e, from, g);
  const double base = detail::dot(e.row(static_cast<std::size_t>(from)), g);
  std::vector<scored_id> out;
  out.reserve(candidates.size());
  for (std::int64_t c : candidates) {
    detail::check_hotflip(e, c, g);
    out.push_back({c, detail::dot(e.row(static_cast<std::size_t>(c)), g) - base});
  }
  std::stable_sort(out.begin(), out.end(), [](const scored_id& a, const scored_id& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  });
  return out;
}

/// The best candidate by HotFlip score (see hotflip_rank); throws std::invalid_argument
/// when `candidates` is empty.
template <class T>
[[nodiscard]] scored_id hotflip_best(matrix_view<T> e, std::int64_t from, std::span<const std::int64_t> candidates,
                                     std::span<const T> g) {
  if (candidates.empty()) throw std::invalid_argument("hotflip_best: no candidates");
  return hotflip_rank(e, from, candidates, g).front();
}

/// The k best replacements over the whole vocabulary (k = 0: all), excluding `from` itself
/// and the ids in `excluded` (special tokens): one matrix–vector product.
/// @code
///   auto top = ptp::text::hotflip_top_k(view, token, grad_row, 5, special_ids);
/// @endcode
template <class T>
[[nodiscard]] std::vector<scored_id> hotflip_top_k(matrix_view<T> e, std::int64_t from, std::span<const T> g,
                                                   std::size_t k, std::span<const std::int64_t> excluded = {}) {
  e.validate("hotflip_top_k");
  detail::check_hotflip(e, from, g);
  std::vector<std::int64_t> ex(excluded.begin(), excluded.end());
  std::sort(ex.begin(), ex.end());
  const double base = detail::dot(e.row(static_cast<std::size_t>(from)), g);
  std::vector<scored_id> all;
  all.reserve(e.rows);
  for (std::size_t r = 0; r < e.rows; ++r) {
    const auto id = static_cast<std::int64_t>(r);
    if (id == from || std::binary_search(ex.begin(), ex.end(), id)) continue;
    all.push_back({id, detail::dot(e.row(r), g) - base});
  }
  const auto better = [](const scored_id& a, const scored_id& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  };
  const std::size_t n = k ? std::min(k, all.size()) : all.size();
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
  all.resize(n);
  return all;
}

/// HotFlip score of replacing a whole word (sub-tokens `from`) by another (sub-tokens `to`),
/// given the gradient rows of the word's tokens (`grads`: from.size()… rows × dim, in the
/// alignment's order):
///  - same number of sub-tokens on both sides and in `grads`: Σ_j (E[to_j] − E[from_j]) · g_j
///    — the exact first-order change;
///  - otherwise: (mean_j E[to_j] − mean_j E[from_j]) · Σ_j g_j — an approximation that
///    reduces to the above for single tokens.
template <class T>
[[nodiscard]] double hotflip_word_score(matrix_view<T> e, std::span<const std::int64_t> from,
                                        std::span<const std::int64_t> to, std::span<const T> grads) {
  if (from.empty() || to.empty()) throw std::invalid_argument("hotflip_word_score: a word without tokens");
  if (grads.empty() || grads.size() % e.dim != 0)
    throw std::invalid_argument("hotflip_word_score: gradient rows must be a positive multiple of dim");
  const std::size_t rows = grads.size() / e.dim;
  if (from.size() == to.size() && to.size() == rows) {
    double s = 0;
    for (std::size_t j = 0; j < rows; ++j) s += hotflip_score(e, from[j], to[j], grads.subspan(j * e.dim, e.dim));
    return s;
  }
  std::vector<double> gsum(e.dim, 0.0);
  for (std::size_t j = 0; j < rows; ++j)
    for (std::size_t d = 0; d < e.dim; ++d) gsum[d] += static_cast<double>(grads[j * e.dim + d]);
  const auto mean_dot = [&](std::span<const std::int64_t> ids) {
    double s = 0;
    for (std::int64_t id : ids) {
      if (id < 0 || static_cast<std::size_t>(id) >= e.rows)
        throw std::out_of_range("hotflip_word_score: token id " + std::to_string(id) + " out of range");
      const auto r = e.row(static_cast<std::size_t>(id));
      for (std::size_t d = 0; d < e.dim; ++d) s += static_cast<double>(r[d]) * gsum[d];
    }
    return s / static_cast<double>(ids.size());
  };
  return mean_dot(to) - mean_dot(from);
}

}  // namespace ptp::text
