// ptp/text/synonym.hpp — random synonym substitution (EDA family, docs/algorithms.md §4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ptp/mode.hpp"
#include "ptp/random.hpp"
#include "ptp/text/candidates.hpp"
#include "ptp/text/concepts.hpp"
#include "ptp/text/stopwords.hpp"

namespace ptp::text {

namespace detail {

[[nodiscard]] inline bool is_alnum_ascii(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         static_cast<unsigned char>(c) >= 0x80;
}

/// Splits "(word)," into {"(", "word", ","}: leading / trailing ASCII punctuation around a core.
struct word_parts {
  std::string_view lead, core, trail;
};
[[nodiscard]] inline word_parts split_punct(std::string_view w) noexcept {
  std::size_t b = 0, e = w.size();
  while (b < e && !is_alnum_ascii(w[b])) ++b;
  while (e > b && !is_alnum_ascii(w[e - 1])) --e;
  return {w.substr(0, b), w.substr(b, e - b), w.substr(e)};
}

/// Copies the case pattern of `like` onto `s`: ALL CAPS → upper; Capitalised → first upper.
inline void match_case(std::string& s, std::string_view like) {
  const auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
  const auto is_up = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto is_low = [](char c) { return c >= 'a' && c <= 'z'; };
  if (like.empty() || s.empty() || !is_up(like[0])) return;
  bool all_up = like.size() > 1;
  for (char c : like) all_up = all_up && !is_low(c);
  if (all_up)
    for (auto& c : s) c = up(c);
  else
    s[0] = up(s[0]);
}

}  // namespace detail

/// Random synonym substitution at rate p (EDA's "synonym replacement", Wei & Zou 2019):
/// every eligible word is, independently with probability `rate`, replaced by one of its
/// candidates (by default its WordNet synonyms), chosen uniformly.
///
/// Eligible: not protected, has a non-empty core after stripping surrounding punctuation,
/// and — when `skip_stopwords` (default) — not an English stop word (stopwords.hpp). A
/// selected word with no candidate stays, so the realised change rate is `rate` × the
/// share of words that have synonyms. Surrounding punctuation is kept ("dog," → "hound,"),
/// the case pattern is copied (Capitalised, ALL CAPS), and multi-word synonyms bring spaces
/// ("take a breath"), i.e. one `words` entry may hold several words afterwards.
/// Randomness: word i reads block `gen.offset + i` (lane 0 decides, lanes 1–2 choose); the
/// generator advances by n blocks. mode::eval or rate 0 → unchanged. A source that also
/// offers `sample(word, pos, k, bits) -> std::optional<std::string>` (wordnet_candidates
/// does) is asked for the drawn element only; it must return the element that indexing
/// candidates(word, pos, k) at ⌊bits·n/2^64⌋ would give, so both paths agree.
///
/// @tparam Source a CandidateSource over std::string (default wordnet_candidates)
/// Defaults: rate 0.1 (EDA's α), stop words skipped, all candidates considered.
/// @code
///   ptp::text::synonym_substitution<> syn{.source = {.db = ptp::text::wordnet{}}, .rate = 0.1};
///   auto w = syn(ptp::text::words::split("The dog breathes."), gen, ptp::mode::train);
/// @endcode
template <class Source = wordnet_candidates>
  requires CandidateSource<Source, std::string>
struct synonym_substitution {
  Source source{};                 ///< where the synonyms come from
  double rate = 0.1;               ///< per-word substitution probability, in [0, 1]
  bool skip_stopwords = true;      ///< never replace stop words
  std::size_t max_candidates = 0;  ///< consider the best k candidates only (0: all)

  [[nodiscard]] words operator()(const words& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "synonym_substitution");
    detail::check_sequence(seq, "synonym_substitution");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    words out = seq;
    const std::uint64_t base = gen.offset;
    const std::size_t n = out.text.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (out.locked(i)) continue;
      const auto b = gen.block(base + i);
      if (!(ptp::uniform_open01(b[0]) < rate)) continue;
      const auto parts = detail::split_punct(out.text[i]);
      if (parts.core.empty() || (skip_stopwords && is_stopword(parts.core))) continue;
      std::string rep;
      if constexpr (requires { source.sample(parts.core, i, max_candidates, std::uint64_t{}); }) {
        // the source draws the same element without materialising every candidate
        auto picked = source.sample(parts.core, i, max_candidates, (std::uint64_t{b[1]} << 32) | b[2]);
        if (!picked) continue;
        rep = std::move(*picked);
      } else {
        const std::vector<candidate> c = source.candidates(std::string(parts.core), i, max_candidates);
        if (c.empty()) continue;
        rep = c[detail::below_from(b[1], b[2], c.size())].word;
      }
      detail::match_case(rep, parts.core);
      out.text[i] = std::string(parts.lead) + rep + std::string(parts.trail);
    }
    gen.offset += n;
    return out;
  }
};

}  // namespace ptp::text
