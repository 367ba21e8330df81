// ptp/text/candidates.hpp — replacement candidates for word substitution (docs/algorithms.md §4):
// WordNet synonyms and nearest neighbours in the model's own input-embedding matrix.
// A2T's counter-fitted GloVe neighbours are not available offline; these two replace them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ptp/text/concepts.hpp"
#include "ptp/text/wordnet.hpp"

namespace ptp::text {

/// Candidates from WordNet: the synonyms of a word (through Morphy), in WordNet's sense
/// order, over all parts of speech or over `part` only. Satisfies CandidateSource<·, std::string>.
///
/// Each candidate has `word` set (multi-word lemmas with spaces when
/// `underscores_to_spaces`, the default), `id` = −1 and `score` = 1/(rank+1).
/// Defaults: all parts of speech, multi-word lemmas kept, underscores → spaces.
/// @code
///   ptp::text::wordnet_candidates src{.db = ptp::text::wordnet{}, .part = ptp::text::pos::verb};
///   auto c = src.candidates("breathe", 0, 3);   // take a breath, respire, suspire
/// @endcode
struct wordnet_candidates {
  wordnet db{};                   ///< the database (a shared handle; copying is cheap)
  std::optional<pos> part{};      ///< restrict to one part of speech; nullopt = all
  bool single_words_only = false; ///< drop multi-word lemmas ("take_a_breath")
  bool underscores_to_spaces = true;

  /// At most k synonyms of `word` (k = 0: all), best first. `position` is ignored.
  [[nodiscard]] std::vector<candidate> candidates(std::string_view word, std::size_t position, std::size_t k) const {
    (void)position;
    const auto views = kept(word, k);
    std::vector<candidate> out;
    out.reserve(views.size());
    for (std::string_view v : views) {
      const double score = 1.0 / static_cast<double>(out.size() + 1);
      out.push_back(candidate{.word = spelled(v), .id = -1, .score = score});
    }
    return out;
  }

  /// One candidate drawn uniformly from candidates(word, position, k) — the element at
  /// index ⌊bits·n / 2^64⌋ — without building the others (synonym_substitution uses it);
  /// nullopt when there is none.
  [[nodiscard]] std::optional<std::string> sample(std::string_view word, std::size_t position, std::size_t k,
                                                  std::uint64_t bits) const {
    (void)position;
    const auto views = kept(word, k);
    if (views.empty()) return std::nullopt;
    const auto i = detail::below_from(static_cast<std::uint32_t>(bits >> 32), static_cast<std::uint32_t>(bits),
                                      views.size());
    return spelled(views[i]);
  }

 private:
  [[nodiscard]] std::vector<std::string_view> kept(std::string_view word, std::size_t k) const {
    pos_set parts{0xF};
    if (part) {
      parts = {};
      parts.insert(*part);
    }
    std::vector<std::string_view> v = db.synonym_views(word, parts);
    if (single_words_only)
      std::erase_if(v, [](std::string_view s) { return s.find('_') != std::string_view::npos; });
    if (k && v.size() > k) v.resize(k);
    return v;
  }
  [[nodiscard]] std::string spelled(std::string_view v) const {
    std::string s(v);
    if (underscores_to_spaces) std::replace(s.begin(), s.end(), '_', ' ');
    return s;
  }
};

/// Nearest neighbours by cosine similarity in an embedding matrix (row-major, vocab × dim).
/// Satisfies CandidateSource for token ids (std::int64_t) and, when a vocabulary (id →
/// string) is given, for words (a word found in the vocabulary is looked up by its id).
///
/// Row norms are computed once at construction (O(vocab·dim)); a query costs one
/// matrix–vector product and a partial sort. Candidates exclude the query itself, rows with
/// zero norm, ids in `excluded`, and those with cosine < `min_cosine`; ties are broken by
/// the smaller id. `score` is the cosine. The matrix is viewed, not copied: keep it alive.
/// @tparam T float or double
/// @code
///   ptp::text::embedding_neighbours nn(ptp::text::matrix_view<float>{emb, vocab, dim}, 0.8);
///   auto c = nn.candidates(std::int64_t{2023}, 0, 10);   // ≤ 10 ids with cosine ≥ 0.8
/// @endcode
template <class T>
class embedding_neighbours {
 public:
  /// @param e          the embedding matrix (viewed)
  /// @param min_cosine candidates need cosine ≥ this (default −1: no threshold)
  /// @param vocab      optional id → word table (enables word queries and fills `word`)
  /// @param excluded   ids never proposed (special tokens)
  explicit embedding_neighbours(matrix_view<T> e, double min_cosine = -1.0, std::vector<std::string> vocab = {},
                                std::vector<std::int64_t> excluded = {})
      : e_(e), min_cosine_(min_cosine), vocab_(std::move(vocab)), excluded_(std::move(excluded)) {
    e_.validate("embedding_neighbours");
    if (!vocab_.empty() && vocab_.size() != e_.rows)
      throw std::invalid_argument("embedding_neighbours: vocabulary has " + std::to_string(vocab_.size()) +
                                  " entries, the matrix " + std::to_string(e_.rows) + " rows");
    norms_.resize(e_.rows);
    for (std::size_t r = 0; r < e_.rows; ++r) {
      double s = 0;
      for (T v : e_.row(r)) s += static_cast<double>(v) * static_cast<double>(v);
      norms_[r] = std::sqrt(s);
    }
    std::sort(excluded_.begin(), excluded_.end());
    by_word_.reserve(vocab_.size());
    for (std::size_t i = 0; i < vocab_.size(); ++i) by_word_.emplace_back(vocab_[i], static_cast<std::int64_t>(i));
    std::sort(by_word_.begin(), by_word_.end());
  }

  /// The precomputed L2 norm of every row.
  [[nodiscard]] std::span<const double> norms() const noexcept { return norms_; }
  /// The cosine threshold.
  [[nodiscard]] double min_cosine() const noexcept { return min_cosine_; }
  /// The id of a vocabulary word, or −1.
  [[nodiscard]] std::int64_t id_of(std::string_view word) const {
    auto it = std::lower_bound(by_word_.begin(), by_word_.end(), word,
                               [](const auto& p, std::string_view w) { return std::string_view(p.first) < w; });
    return it != by_word_.end() && it->first == word ? it->second : -1;
  }

  /// Cosine similarity of rows a and b (0 when either has zero norm).
  [[nodiscard]] double cosine(std::int64_t a, std::int64_t b) const {
    check(a);
    check(b);
    const double na = norms_[static_cast<std::size_t>(a)], nb = norms_[static_cast<std::size_t>(b)];
    if (na == 0 || nb == 0) return 0.0;
    return dot(e_.row(static_cast<std::size_t>(a)), e_.row(static_cast<std::size_t>(b))) / (na * nb);
  }

  /// At most k neighbours of token `id` (k = 0: all passing the threshold), best first.
  [[nodiscard]] std::vector<candidate> candidates(std::int64_t id, std::size_t position, std::size_t k) const {
    (void)position;
    check(id);
    std::vector<candidate> out;
    const double nq = norms_[static_cast<std::size_t>(id)];
    if (nq == 0) return out;
    const auto q = e_.row(static_cast<std::size_t>(id));
    std::vector<std::pair<double, std::int64_t>> scored;
    for (std::size_t r = 0; r < e_.rows; ++r) {
      const auto rid = static_cast<std::int64_t>(r);
      if (rid == id || norms_[r] == 0 || std::binary_search(excluded_.begin(), excluded_.end(), rid)) continue;
      const double c = dot(q, e_.row(r)) / (nq * norms_[r]);
      if (c >= min_cosine_) scored.emplace_back(c, rid);
    }
    const auto better = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    const std::size_t n = k ? std::min(k, scored.size()) : scored.size();
    std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(n), scored.end(), better);
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto [c, rid] = scored[i];
      out.push_back(candidate{.word = vocab_.empty() ? std::string() : vocab_[static_cast<std::size_t>(rid)], .id = rid, .score = c});
    }
    return out;
  }

  /// Word query: the neighbours of the word's id; empty when there is no vocabulary or the
  /// word is not in it.
  [[nodiscard]] std::vector<candidate> candidates(std::string_view word, std::size_t position, std::size_t k) const {
    const std::int64_t id = id_of(word);
    return id < 0 ? std::vector<candidate>{} : candidates(id, position, k);
  }

 private:
  void check(std::int64_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= e_.rows)
      throw std::out_of_range("embedding_neighbours: id " + std::to_string(id) + " outside [0, " + std::to_string(e_.rows) + ")");
  }
  static double dot(std::span<const T> a, std::span<const T> b) noexcept {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return s;
  }

  matrix_view<T> e_;
  double min_cosine_;
  std::vector<std::string> vocab_;
  std::vector<std::int64_t> excluded_;
  std::vector<double> norms_;
  std::vector<std::pair<std::string, std::int64_t>> by_word_;
};

template <class T>
embedding_neighbours(matrix_view<T>, double = -1.0, std::vector<std::string> = {}, std::vector<std::int64_t> = {})
    -> embedding_neighbours<T>;

/// A CandidateSource whose answers are remembered per (word, k): the first query of a word
/// asks `source`, later ones are a hash lookup. For sources whose answer does not depend on
/// the position (wordnet_candidates and embedding_neighbours' word queries do not) — the
/// same training examples are perturbed every epoch, so the same words come back.
///
/// sample() draws the element at ⌊bits·n/2^64⌋ of the remembered list, which is what
/// wordnet_candidates::sample draws, so synonym_substitution gives identical outputs with
/// and without the memo. Copies share one memo; lookups are guarded by a mutex (safe from
/// several threads). The memo only grows (one entry per distinct word and k).
/// @code
///   ptp::text::memoized_candidates src(ptp::text::wordnet_candidates{.db = ptp::text::wordnet{}});
///   ptp::text::synonym_substitution<decltype(src)> syn{.source = src, .rate = 0.1};
/// @endcode
template <class Source>
  requires CandidateSource<Source, std::string>
class memoized_candidates {
 public:
  explicit memoized_candidates(Source s) : source_(std::move(s)) {}

  [[nodiscard]] const Source& source() const noexcept { return source_; }

  /// The source's candidates(word, position, k), remembered.
  [[nodiscard]] std::vector<candidate> candidates(std::string_view word, std::size_t position, std::size_t k) const {
    return lookup(word, position, k);
  }

  /// One candidate drawn uniformly (the element at ⌊bits·n/2^64⌋); nullopt when there is none.
  [[nodiscard]] std::optional<std::string> sample(std::string_view word, std::size_t position, std::size_t k,
                                                  std::uint64_t bits) const {
    const auto& c = lookup(word, position, k);
    if (c.empty()) return std::nullopt;
    return c[detail::below_from(static_cast<std::uint32_t>(bits >> 32), static_cast<std::uint32_t>(bits), c.size())].word;
  }

  /// Distinct (word, k) pairs remembered so far.
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(memo_->mutex);
    std::size_t n = 0;
    for (const auto& [k, table] : memo_->by_k) n += table.size();
    return n;
  }

 private:
  struct word_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using table = std::unordered_map<std::string, std::vector<candidate>, word_hash, std::equal_to<>>;
  struct memo {
    std::mutex mutex;
    std::vector<std::pair<std::size_t, table>> by_k;  // one table per k (usually one k)
  };

  // References into an unordered_map stay valid across insertions, and nothing is erased.
  const std::vector<candidate>& lookup(std::string_view word, std::size_t position, std::size_t k) const {
    std::lock_guard lock(memo_->mutex);
    auto it = std::find_if(memo_->by_k.begin(), memo_->by_k.end(), [k](const auto& e) { return e.first == k; });
    if (it == memo_->by_k.end()) {
      memo_->by_k.emplace_back(k, table{});
      it = std::prev(memo_->by_k.end());
    }
    auto& t = it->second;
    if (auto f = t.find(word); f != t.end()) return f->second;
    return t.emplace(std::string(word), source_.candidates(std::string(word), position, k)).first->second;
  }

  Source source_;
  std::shared_ptr<memo> memo_ = std::make_shared<memo>();
};

}  // namespace ptp::text
