// ptp/text/concepts.hpp — the vocabulary of the text stage: the two sequence levels, the
// TextPerturbation and CandidateSource concepts, and a row-major matrix view.
//
// docs/algorithms.md §4: text-space perturbations act either on words (before sub-word
// tokenization: deletion, swap, synonym substitution, A2T) or on token ids (after it: masking,
// random vocabulary substitution). Every perturbation is a pure function of (sequence, generator,
// mode): same seed → same output, and evaluation mode is the identity.
//
// This header is backend-agnostic on purpose: std containers and std::span only.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ptp/mode.hpp"
#include "ptp/random.hpp"

namespace ptp::text {

/// A word-level sequence: words in order, each with a `protected` flag.
///
/// A protected word (a label word, an entity the task refers to, the target word of a
/// WiC example, …) is never changed, deleted or moved by any perturbation. `is_protected`
/// is either empty (no word is protected) or has one flag per word.
/// @code
///   ptp::text::words w{.text = {"the", "cat", "sat"}, .is_protected = {false, true, false}};
///   w.locked(1);   // true
/// @endcode
struct words {
  std::vector<std::string> text{};   ///< the words
  std::vector<bool> is_protected{};  ///< empty, or one flag per word (true → never touched)

  /// Number of words.
  [[nodiscard]] std::size_t size() const noexcept { return text.size(); }
  /// Whether word i must not be perturbed.
  [[nodiscard]] bool locked(std::size_t i) const noexcept {
    return i < is_protected.size() && is_protected[i];
  }
  /// Splits `s` on ASCII white space; no word is protected.
  [[nodiscard]] static words split(std::string_view s) {
    words w;
    for_each_word(s, [&](std::size_t b, std::size_t e) { w.text.emplace_back(s.substr(b, e - b)); });
    return w;
  }
  /// The byte ranges [begin, end) of the words split(s) finds, in order (to align words
  /// with tokens by their offsets: align_words).
  [[nodiscard]] static std::vector<std::pair<std::size_t, std::size_t>> ranges(std::string_view s) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for_each_word(s, [&](std::size_t b, std::size_t e) { out.emplace_back(b, e); });
    return out;
  }
  /// The words joined by single spaces.
  [[nodiscard]] std::string join() const {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (i) out += ' ';
      out += text[i];
    }
    return out;
  }
  friend bool operator==(const words&, const words&) = default;

 private:
  // Calls on_word(begin, end) for each maximal run of non-space bytes of s, in order.
  template <class OnWord>
  static void for_each_word(std::string_view s, OnWord&& on_word) {
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_space(s[i])) ++i;
      const std::size_t b = i;
      while (i < s.size() && !is_space(s[i])) ++i;
      if (i > b) on_word(b, i);
    }
  }
  static constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  }
};

/// Token ids (after tokenization), with a mask of special tokens.
///
/// Special tokens ([CLS], [SEP], <s>, prompt/soft-token placeholders, padding, …) are never
/// masked, deleted, moved or substituted. `special` is either empty (no special tokens) or
/// has one flag per id.
/// @code
///   ptp::text::token_sequence s{.ids = {101, 2023, 2003, 102}, .special = {true, false, false, true}};
/// @endcode
struct token_sequence {
  std::vector<std::int64_t> ids{};  ///< token ids
  std::vector<bool> special{};      ///< empty, or one flag per id (true → never touched)

  /// Number of tokens.
  [[nodiscard]] std::size_t size() const noexcept { return ids.size(); }
  /// Whether token i must not be perturbed.
  [[nodiscard]] bool locked(std::size_t i) const noexcept { return i < special.size() && special[i]; }
  friend bool operator==(const token_sequence&, const token_sequence&) = default;
};

/// One replacement proposed by a CandidateSource.
struct candidate {
  std::string word{};      ///< the replacement word ("" when the source works on ids only)
  std::int64_t id = -1;    ///< the replacement token id (-1 when the source works on words only)
  double score = 0.0;      ///< source-specific quality, larger is better (cosine, rank score)
  friend bool operator==(const candidate&, const candidate&) = default;
};

/// A read-only row-major matrix view (an embedding matrix: `rows` = vocabulary size).
/// Holds no data; the caller keeps the storage alive.
/// @tparam T float or double
template <class T>
struct matrix_view {
  std::span<const T> data{};  ///< rows × dim values, row-major
  std::size_t rows = 0;     ///< number of rows (vocabulary size)
  std::size_t dim = 0;      ///< row length (embedding dimension)

  /// Row i as a span of `dim` values.
  [[nodiscard]] std::span<const T> row(std::size_t i) const noexcept { return data.subspan(i * dim, dim); }
  /// Throws std::invalid_argument unless data.size() == rows × dim.
  void validate(const char* who) const {
    if (data.size() != rows * dim)
      throw std::invalid_argument(std::string(who) + ": matrix has " + std::to_string(data.size()) +
                                  " values, expected rows × dim = " + std::to_string(rows) + " × " +
                                  std::to_string(dim));
  }
};

/// A sequence the text stage understands: `words` or `token_sequence`.
template <class S>
concept TextSequence = std::same_as<S, words> || std::same_as<S, token_sequence>;

namespace detail {

// Building blocks of TextPerturbation; each names one requirement so that a failed
// check (check_text_perturbation below) says which one is missing.

template <class P>
concept perturbation_copyable = std::copy_constructible<P>;  // options are values, copied into pipelines

template <class P, class S>
concept perturbation_callable =  // the one entry point of a stage: p(seq, gen, mode)
    requires(const P& p, const S& seq, ptp::generator& gen, ptp::mode m) { p(seq, gen, m); };

template <class P, class S>
concept perturbation_returns_same =  // stages compose: output feeds the next text stage
    requires(const P& p, const S& seq, ptp::generator& gen, ptp::mode m) {
      { p(seq, gen, m) } -> std::same_as<S>;
    };

}  // namespace detail

/// A text-space perturbation on sequences of type S (docs/algorithms.md §4).
///
/// Requirements, each for a reason:
///  - `S` is `words` or `token_sequence`         — the two levels the pipeline knows;
///  - `P` is copy-constructible                  — options are plain values;
///  - `p(seq, gen, mode)` is callable on a const P — stages are stateless, randomness explicit;
///  - and returns exactly `S`                    — so stages compose.
/// Semantics (checked by tests, not by the compiler): mode::eval → returns `seq` unchanged;
/// rate 0 → unchanged; special / protected positions are never touched; same generator
/// state → same output.
/// @code
///   static_assert(ptp::text::TextPerturbation<ptp::text::random_mask, ptp::text::token_sequence>);
/// @endcode
template <class P, class S>
concept TextPerturbation = TextSequence<S> && detail::perturbation_copyable<P> &&
                           detail::perturbation_callable<P, S> && detail::perturbation_returns_same<P, S>;

/// static_assert-friendly check of TextPerturbation: fails with a message that names the
/// missing requirement. Use as `static_assert(ptp::text::check_text_perturbation<P, S>());`.
template <class P, class S>
consteval bool check_text_perturbation() {
  static_assert(TextSequence<S>,
                "TextPerturbation: S must be ptp::text::words or ptp::text::token_sequence "
                "(ptp/text/concepts.hpp, docs/algorithms.md §4)");
  static_assert(detail::perturbation_copyable<P>,
                "TextPerturbation: P must be copy-constructible (options are plain values)");
  static_assert(detail::perturbation_callable<P, S>,
                "TextPerturbation: missing member `S operator()(const S&, ptp::generator&, ptp::mode) const`");
  static_assert(detail::perturbation_returns_same<P, S>,
                "TextPerturbation: `operator()(seq, gen, mode)` must return the same sequence type S");
  return TextPerturbation<P, S>;
}

namespace detail {

template <class P>
concept reads_clean_gradient = requires { requires P::needs_clean_gradient; };  // the tag, as embedding stages declare it

template <class P, class S, class G>
concept gradient_perturbation_returns_same =  // p(seq, ∇_e L(x), gen, mode): the clean gradient rides along
    requires(const P& p, const S& seq, const G& grad, ptp::generator& gen, ptp::mode m) {
      { p(seq, grad, gen, m) } -> std::same_as<S>;
    };

}  // namespace detail

/// A text stage that needs the clean pass's per-token gradient ∇_e L(x) (B×L×d, masked
/// like every gradient a stage sees): PTP-ADV in text space ranks words by it and scores
/// swaps with it (A2T, HotFlip; docs/algorithms.md §4). It says so as gradient-based embedding
/// stages do, with `static constexpr bool needs_clean_gradient = true;`, and
/// ptp::regularizer_t::step calls it as `p(batch, clean_gradient, gen, mode)` after the
/// clean pass. Composing one where no clean pass runs (regularizer_t::perturb_text) fails
/// to compile.
/// @code
///   static_assert(ptp::text::GradientTextPerturbation<MyStage, MyBatch, MyTensor>);
/// @endcode
template <class P, class S, class G>
concept GradientTextPerturbation = detail::perturbation_copyable<P> && detail::reads_clean_gradient<P> &&
                                   detail::gradient_perturbation_returns_same<P, S, G>;

namespace detail {

template <class S, class K>
concept candidates_callable =  // the one query: replacements for key at position pos, at most k
    requires(const S& s, const K& key, std::size_t pos, std::size_t k) { s.candidates(key, pos, k); };

template <class S, class K>
concept candidates_return_vector =  // a uniform result type lets attacks mix sources
    requires(const S& s, const K& key, std::size_t pos, std::size_t k) {
      { s.candidates(key, pos, k) } -> std::same_as<std::vector<candidate>>;
    };

}  // namespace detail

/// A source of replacement candidates for a word (K = std::string) or a token id
/// (K = std::int64_t): `s.candidates(key, pos, k)` → at most k candidates (k = 0: all),
/// best first. `pos` is the position in the sequence (for context-aware sources; the
/// sources shipped here ignore it).
/// @code
///   static_assert(ptp::text::CandidateSource<ptp::text::wordnet_candidates, std::string>);
/// @endcode
template <class S, class K = std::string>
concept CandidateSource = detail::candidates_callable<S, K> && detail::candidates_return_vector<S, K>;

/// static_assert-friendly check of CandidateSource naming the missing member.
template <class S, class K = std::string>
consteval bool check_candidate_source() {
  static_assert(detail::candidates_callable<S, K>,
                "CandidateSource: missing member `std::vector<candidate> candidates(key, std::size_t pos, "
                "std::size_t k) const` (ptp/text/concepts.hpp)");
  static_assert(detail::candidates_return_vector<S, K>,
                "CandidateSource: `candidates(key, pos, k)` must return std::vector<ptp::text::candidate>");
  return CandidateSource<S, K>;
}

namespace detail {

/// The per-position uniform draw used by the rate-based perturbations: position i of a
/// sequence reads block `base + i/4`, lane `i%4`, so its decision depends on (seed, stream,
/// base, i) only — not on the other positions nor on which of them are special.
[[nodiscard]] inline double uniform_at(const ptp::generator& gen, std::uint64_t base, std::size_t i) noexcept {
  return ptp::uniform_open01(gen.block(base + i / 4)[i % 4]);
}

/// Number of blocks uniform_at consumes for n positions.
[[nodiscard]] constexpr std::uint64_t blocks_for(std::size_t n) noexcept { return (n + 3) / 4; }

/// The raw draws of positions 0..n-1 under the uniform_at rule — uniform_open01(d[i]) ==
/// uniform_at(gen, gen.offset, i), so `d[i] < ptp::open01_threshold(rate)` is the same
/// event — all filled in one SIMD call; the generator advances past them (⌈n/4⌉ blocks).
/// Thread-local scratch: valid until the next call on this thread.
[[nodiscard]] inline std::span<const std::uint32_t> position_draws(std::size_t n, ptp::generator& gen) {
  thread_local std::vector<std::uint32_t> bits;
  bits.resize(n);
  gen.bits_at(gen.offset, bits);
  gen.offset += blocks_for(n);
  return bits;
}

/// A uniform integer in [0, n) from two 32-bit lanes: the high 64 bits of the 128-bit
/// product bits·n (multiply-shift, bias < 2^-32), computed portably from 32-bit halves.
[[nodiscard]] constexpr std::uint64_t below_from(std::uint32_t hi, std::uint32_t lo, std::uint64_t n) noexcept {
  const std::uint64_t n_lo = n & 0xFFFFFFFFull, n_hi = n >> 32;
  const std::uint64_t ll = std::uint64_t{lo} * n_lo, lh = std::uint64_t{lo} * n_hi;
  const std::uint64_t hl = std::uint64_t{hi} * n_lo, hh = std::uint64_t{hi} * n_hi;
  const std::uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFull) + (hl & 0xFFFFFFFFull);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/// Throws std::invalid_argument unless 0 ≤ rate ≤ 1.
inline void check_rate(double rate, const char* who) {
  if (!(rate >= 0.0 && rate <= 1.0))
    throw std::invalid_argument(std::string(who) + ": rate must lie in [0, 1], got " + std::to_string(rate));
}

/// Throws std::invalid_argument unless the flag vector is empty or matches the sequence.
inline void check_flags(std::size_t flags, std::size_t n, const char* who) {
  if (flags != 0 && flags != n)
    throw std::invalid_argument(std::string(who) + ": protected/special flags have size " + std::to_string(flags) +
                                ", expected 0 or " + std::to_string(n));
}

template <TextSequence S>
inline void check_sequence(const S& s, const char* who) {
  if constexpr (std::same_as<S, words>)
    check_flags(s.is_protected.size(), s.text.size(), who);
  else
    check_flags(s.special.size(), s.ids.size(), who);
}

}  // namespace detail
}  // namespace ptp::text
