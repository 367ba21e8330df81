// ptp/text/a2t.hpp — A2T-style greedy word-substitution attack (PTP-ADV in text space,
// docs/algorithms.md §4).
//
// Yoo & Qi, "Towards Improving Adversarial Training of NLP Models" (Findings of EMNLP
// 2021), TextAttack recipe `a2t_yoo_2021`: rank words by the gradient norm of the loss at
// their embeddings, visit them in descending order and greedily replace each by its best
// candidate, under constraints. Here, without a forward pass per candidate, "best" is the
// HotFlip first-order loss increase (hotflip.hpp), and A2T's counter-fitted GloVe candidates
// are replaced by any CandidateSource (WordNet synonyms, embedding neighbours).
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <numeric>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/mode.hpp"
#include "ptp/text/candidates.hpp"
#include "ptp/text/concepts.hpp"
#include "ptp/text/hotflip.hpp"
#include "ptp/text/stopwords.hpp"
#include "ptp/text/synonym.hpp"
#include "ptp/text/wordnet.hpp"

namespace ptp::text {

/// Maps a word (as written, punctuation included) to its sub-token ids; an empty result
/// means "not representable" and the word or candidate is skipped.
/// @code  auto lookup = [&](std::string_view w) { return tokenizer.encode_word(w); };
/// @endcode
template <class L>
concept TokenLookup = requires(const L& lookup, std::string_view word) {
  // the attack needs the ids of the original word and of every candidate
  { lookup(word) } -> std::convertible_to<std::vector<std::int64_t>>;
};

/// Maps a word to the set of its parts of speech (the POS-kept constraint).
template <class P>
concept PartOfSpeechTagger = requires(const P& tagger, std::string_view word) {
  // A2T keeps the part of speech: word and candidate must share one
  { tagger(word) } -> std::same_as<pos_set>;
};

/// Encodes a whole text into a vector (a sentence encoder: USE in A2T, any model here).
template <class E>
concept SentenceEncoder = requires(const E& encoder, const words& text) {
  // the sentence-similarity constraint compares encodings by cosine
  requires std::ranges::random_access_range<decltype(encoder(text))>;
  requires std::floating_point<std::ranges::range_value_t<decltype(encoder(text))>>;
};

/// "No sentence encoder available": the sentence-cosine constraint is skipped.
struct no_sentence_encoder {};

/// The WordNet part-of-speech rule: a word's parts of speech are those under which Morphy
/// finds it in WordNet (wordnet::parts_of_speech). A word WordNet does not know has an
/// empty set and is never attacked (its part of speech cannot be kept verifiably).
struct wordnet_pos_tagger {
  wordnet db{};  ///< the database (shared handle)
  [[nodiscard]] pos_set operator()(std::string_view word) const { return db.parts_of_speech(word); }
};

/// One replacement made by the attack.
struct a2t_edit {
  std::size_t word = 0;          ///< index of the word in the text
  std::string before{};          ///< the original word
  std::string after{};           ///< its replacement
  double importance = 0.0;       ///< the word's gradient importance
  double score = 0.0;            ///< HotFlip first-order loss increase of the swap
  double embedding_cosine = 0.0; ///< cosine of the word's and the replacement's embeddings
  double sentence_cosine = std::numeric_limits<double>::quiet_NaN();  ///< NaN without encoder
};

/// The attack's output.
struct a2t_result {
  words perturbed{};               ///< the text after the edits (same length, flags kept)
  std::vector<a2t_edit> edits{};   ///< in the order they were made (descending importance)
  std::vector<double> importance{};///< per word: ‖mean over its sub-tokens of g_t‖₁ (by default)
  std::size_t budget = 0;          ///< max(⌈max_rate · #words⌉, min_words), capped at #words
};

/// The A2T attack's options and entry point.
///
/// For each word i, importance(i) = ‖mean_{t ∈ alignment[i]} g_t‖₁ — the gradient of the
/// loss at the word's sub-token embeddings, averaged over them, then its L1 norm (TextAttack
/// greedy_word_swap_wir.py, `wir_method="gradient"`; docs/algorithms.md §4); `importance =
/// sum_of_l2` gives Σ_t ‖g_t‖₂ (ptp ≤ c3d0c11), `sum_of_l1` Σ_t ‖g_t‖₁. Words are visited by
/// descending importance (ties: lower index first); a word is eligible when it is not
/// protected, not a stop word (stopwords.hpp, NLTK's English list), has a non-empty core
/// after stripping punctuation, is known to the tagger, and is representable by `lookup`.
/// Its candidates (`source.candidates(core, i, max_candidates)`, case pattern and
/// punctuation re-applied) are kept when
///   - the candidate is a single word (no space), differs from the word, and is representable;
///   - POS kept: tagger(candidate) ∩ tagger(word) ≠ ∅;
///   - embedding cosine ≥ min_embedding_cosine (0.8), between the mean input embeddings of
///     the word's and the candidate's sub-tokens;
///   - with `require_gain` (default): HotFlip score > 0 (the swap increases the loss to
///     first order; hotflip_word_score).
/// The best-scoring kept candidate is tried first; with a sentence encoder, a candidate is
/// accepted only if cos(encoder(original), encoder(text with the swap and earlier edits))
/// ≥ min_sentence_cosine (0.9), else the next one is tried. A word is changed at most once,
/// and at most `budget` words are changed: max(⌈0.1·n⌉, 4) capped at n (A2T's
/// `MaxModificationRate(max_rate=0.1, min_threshold=4)`, a2t_yoo_2021.py), so a 12-word text
/// may change 4. Candidates per word: 20 (A2T's `WordSwapEmbedding(max_candidates=20)`).
/// In mode::eval the text is returned unchanged with no edits (importance still computed).
///
/// Inputs: `token_gradients` is tokens × dim row-major (∂loss/∂embedding of each input
/// token); `alignment[i]` lists the token rows of word i; `embeddings` is the model's input
/// embedding matrix (vocab × dim). Only host spans: any backend can call it.
/// @code
///   ptp::text::a2t attack{};   // A2T defaults
///   auto r = attack(text, grads, alignment, ptp::text::matrix_view<float>{emb, vocab, dim},
///                   ptp::text::wordnet_candidates{.db = wn}, lookup,
///                   ptp::text::wordnet_pos_tagger{wn}, ptp::mode::train);
///   for (auto& e : r.edits) std::cout << e.before << " → " << e.after << '\n';
/// @endcode
struct a2t {
  /// How a word's importance comes from its sub-tokens' gradients g_t.
  enum class word_importance {
    mean_l1,    ///< ‖mean_t g_t‖₁ (TextAttack)
    sum_of_l2,  ///< Σ_t ‖g_t‖₂
    sum_of_l1,  ///< Σ_t ‖g_t‖₁
  };
  double max_rate = 0.1;               ///< at most ⌈max_rate · #words⌉ words changed …
  std::size_t min_words = 4;           ///< … but up to this many may be (TextAttack's min_threshold)
  double min_embedding_cosine = 0.8;   ///< candidate-embedding cosine threshold
  double min_sentence_cosine = 0.9;    ///< sentence-encoder cosine threshold (if an encoder is given)
  std::size_t max_candidates = 20;     ///< candidates asked from the source per word (0: all)
  bool require_gain = true;            ///< only swaps with a positive HotFlip score
  word_importance importance = word_importance::mean_l1;  ///< the visiting order's key

  /// The modification budget for a text of n words.
  [[nodiscard]] std::size_t budget(std::size_t n) const noexcept {
    const auto by_rate = static_cast<std::size_t>(std::ceil(max_rate * static_cast<double>(n) - 1e-9));
    return std::min(n, std::max(by_rate, min_words));
  }

  template <class T, class Source, class Lookup, class Tagger, class Encoder = no_sentence_encoder>
    requires CandidateSource<Source, std::string> && TokenLookup<Lookup> && PartOfSpeechTagger<Tagger> &&
             (std::same_as<Encoder, no_sentence_encoder> || SentenceEncoder<Encoder>)
  [[nodiscard]] a2t_result operator()(const words& text, std::span<const T> token_gradients,
                                      std::span<const std::vector<std::size_t>> alignment, matrix_view<T> embeddings,
                                      const Source& source, const Lookup& lookup, const Tagger& tagger, ptp::mode m,
                                      const Encoder& encoder = {}) const {
    detail::check_sequence(text, "a2t");
    embeddings.validate("a2t");
    const std::size_t n = text.size(), dim = embeddings.dim;
    if (alignment.size() != n)
      throw std::invalid_argument("a2t: alignment has " + std::to_string(alignment.size()) + " entries for " +
                                  std::to_string(n) + " words");
    if (dim == 0 || token_gradients.size() % dim != 0)
      throw std::invalid_argument("a2t: token_gradients size is not a multiple of the embedding dim");
    const std::size_t tokens = token_gradients.size() / dim;

    a2t_result out{.perturbed = text, .edits = {}, .importance = std::vector<double>(n, 0.0), .budget = budget(n)};
    std::vector<double> mean(dim);
    for (std::size_t i = 0; i < n; ++i) {
      std::fill(mean.begin(), mean.end(), 0.0);
      for (std::size_t t : alignment[i]) {
        if (t >= tokens)
          throw std::out_of_range("a2t: word " + std::to_string(i) + " aligned to token " + std::to_string(t) +
                                  " but there are " + std::to_string(tokens) + " gradient rows");
        double s = 0;
        for (std::size_t d = 0; d < dim; ++d) {
          const double g = static_cast<double>(token_gradients[t * dim + d]);
          mean[d] += g / static_cast<double>(alignment[i].size());
          s += importance == word_importance::sum_of_l2 ? g * g : std::abs(g);
        }
        if (importance != word_importance::mean_l1) out.importance[i] += importance == word_importance::sum_of_l2 ? std::sqrt(s) : s;
      }
      if (importance == word_importance::mean_l1)
        for (double v : mean) out.importance[i] += std::abs(v);
    }
    if (m == ptp::mode::eval || n == 0) return out;

    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return out.importance[a] > out.importance[b]; });

    std::vector<double> original_encoding;
    if constexpr (!std::same_as<Encoder, no_sentence_encoder>) original_encoding = encode(encoder, text);

    std::vector<bool> changed(n, false);
    std::vector<T> grads;  // the word's gradient rows, gathered
    for (std::size_t i : order) {
      if (out.edits.size() >= out.budget) break;
      if (changed[i] || text.locked(i) || alignment[i].empty()) continue;
      const auto parts = detail::split_punct(text.text[i]);
      if (parts.core.empty() || is_stopword(parts.core)) continue;
      const pos_set word_pos = tagger(parts.core);
      if (word_pos.empty()) continue;
      const std::vector<std::int64_t> from = lookup(std::string_view(text.text[i]));
      if (from.empty() || !in_vocab(from, embeddings)) continue;
      const std::vector<double> from_mean = mean_row(embeddings, from);

      grads.clear();
      for (std::size_t t : alignment[i])
        grads.insert(grads.end(), token_gradients.begin() + static_cast<std::ptrdiff_t>(t * dim),
                     token_gradients.begin() + static_cast<std::ptrdiff_t>((t + 1) * dim));

      struct scored {
        std::string word;
        double score, cosine;
      };
      std::vector<scored> kept;
      for (const candidate& c : source.candidates(std::string(parts.core), i, max_candidates)) {
        if (c.word.empty() || c.word.find(' ') != std::string::npos || c.word.find('_') != std::string::npos) continue;
        std::string rep = c.word;
        detail::match_case(rep, parts.core);
        if (equal_ci(rep, parts.core)) continue;
        if (!tagger(c.word).intersects(word_pos)) continue;
        std::string full = std::string(parts.lead) + rep + std::string(parts.trail);
        const std::vector<std::int64_t> to = lookup(std::string_view(full));
        if (to.empty() || !in_vocab(to, embeddings)) continue;
        const double cosine = cos(from_mean, mean_row(embeddings, to));
        if (!(cosine >= min_embedding_cosine)) continue;
        const double score = hotflip_word_score(embeddings, std::span<const std::int64_t>(from),
                                                std::span<const std::int64_t>(to), std::span<const T>(grads));
        if (require_gain && !(score > 0)) continue;
        if (std::any_of(kept.begin(), kept.end(), [&](const scored& k) { return k.word == full; })) continue;
        kept.push_back({std::move(full), score, cosine});
      }
      std::stable_sort(kept.begin(), kept.end(), [](const scored& a, const scored& b) { return a.score > b.score; });

      for (const scored& k : kept) {
        double sentence = std::numeric_limits<double>::quiet_NaN();
        if constexpr (!std::same_as<Encoder, no_sentence_encoder>) {
          words trial = out.perturbed;
          trial.text[i] = k.word;
          sentence = cos(original_encoding, encode(encoder, trial));
          if (!(sentence >= min_sentence_cosine)) continue;
        }
        out.edits.push_back(a2t_edit{.word = i, .before = text.text[i], .after = k.word,
                                     .importance = out.importance[i], .score = k.score,
                                     .embedding_cosine = k.cosine, .sentence_cosine = sentence});
        out.perturbed.text[i] = k.word;
        changed[i] = true;
        break;
      }
    }
    return out;
  }

 private:
  template <class E>
  static std::vector<double> encode(const E& encoder, const words& w) {
    const auto v = encoder(w);
    return std::vector<double>(std::ranges::begin(v), std::ranges::end(v));
  }
  template <class T>
  static bool in_vocab(const std::vector<std::int64_t>& ids, matrix_view<T> e) noexcept {
    return std::all_of(ids.begin(), ids.end(),
                       [&](std::int64_t id) { return id >= 0 && static_cast<std::size_t>(id) < e.rows; });
  }
  template <class T>
  static std::vector<double> mean_row(matrix_view<T> e, const std::vector<std::int64_t>& ids) {
    std::vector<double> m(e.dim, 0.0);
    for (std::int64_t id : ids) {
      const auto r = e.row(static_cast<std::size_t>(id));
      for (std::size_t d = 0; d < e.dim; ++d) m[d] += static_cast<double>(r[d]);
    }
    for (auto& x : m) x /= static_cast<double>(ids.size());
    return m;
  }
  static double cos(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) throw std::invalid_argument("a2t: encodings of different sizes");
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ab += a[i] * b[i];
      aa += a[i] * a[i];
      bb += b[i] * b[i];
    }
    return aa == 0 || bb == 0 ? 0.0 : ab / std::sqrt(aa * bb);
  }
  static bool equal_ci(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return detail::wn::lower(x) == detail::wn::lower(y); });
  }
};


/// One text of a batch as A2T sees it: its words and, for each word, the positions of its
/// sub-tokens in row `row` of the batch (row b of the B×L×d clean gradient).
struct aligned_words {
  words text{};                                        ///< the words (their flags kept)
  std::vector<std::vector<std::size_t>> alignment{};  ///< per word: token positions l in the row
  std::size_t row = 0;                                ///< batch row b
  std::size_t edits = 0;                              ///< words the attack has changed so far
  friend bool operator==(const aligned_words&, const aligned_words&) = default;
};

/// Splits `text` on white space (as words::split) and gives each word the positions of the
/// tokens whose byte ranges overlap it: token k covers `offsets[k]` = [begin, end) of `text`
/// and sits at `positions[k]` of row `row`. A token spanning two words belongs to both; a
/// word no token covers gets none (A2T skips it).
/// @code
///   auto a = ptp::text::align_words("the actor", offsets, positions, /*row=*/0);
/// @endcode
[[nodiscard]] inline aligned_words align_words(std::string_view text,
                                               std::span<const std::pair<std::size_t, std::size_t>> offsets,
                                               std::span<const std::size_t> positions, std::size_t row = 0) {
  if (offsets.size() != positions.size())
    throw std::invalid_argument("align_words: " + std::to_string(offsets.size()) + " token offsets for " +
                                std::to_string(positions.size()) + " positions");
  aligned_words out{.text = words::split(text), .alignment = {}, .row = row, .edits = 0};
  const auto ranges = words::ranges(text);
  out.alignment.resize(ranges.size());
  for (std::size_t w = 0; w < ranges.size(); ++w)
    for (std::size_t t = 0; t < positions.size(); ++t)
      if (offsets[t].first < ranges[w].second && offsets[t].second > ranges[w].first) out.alignment[w].push_back(positions[t]);
  return out;
}

/// A2T as a text stage of ptp::regularizer (text::GradientTextPerturbation): after the clean
/// pass, every text of the batch (`std::vector<aligned_words>`) is attacked with its row of
/// the clean gradient ∇_e L(x) (any ptp tensor, B×L×d; read on the host). The TextModel's
/// `embed` then tokenizes the attacked words. The options and references are the a2t
/// attack's (above); `embeddings` is the model's input embedding matrix.
/// @code
///   ptp::text::a2t_stage stage{.attack = {}, .embeddings = view, .source = wordnet_candidates{.db = wn},
///                              .lookup = lookup, .tagger = wordnet_pos_tagger{wn}};
///   auto reg = ptp::regularizer(stage, ptp::objective::clean_plus_perturbed{});
/// @endcode
template <class V, class Source, class Lookup, class Tagger, class Encoder = no_sentence_encoder>
struct a2t_stage {
  static constexpr bool needs_clean_gradient = true;  // word importance and HotFlip scores read ∇_e L(x)
  a2t attack{};                  ///< options (A2T defaults)
  matrix_view<V> embeddings{};   ///< vocab × dim input embedding matrix
  Source source;                 ///< CandidateSource<Source, std::string>
  Lookup lookup;                 ///< TokenLookup: word → sub-token ids
  Tagger tagger;                 ///< PartOfSpeechTagger
  Encoder encoder{};             ///< SentenceEncoder, or none

  template <class G>
  [[nodiscard]] std::vector<aligned_words> operator()(std::vector<aligned_words> batch, const G& clean_gradient,
                                                      ptp::generator&, ptp::mode m) const {
    const auto shape = ptp::ops::shape(clean_gradient);
    if (shape.size() != 3 || shape[2] != embeddings.dim)
      throw ptp::shape_error("a2t_stage: the clean gradient must be B×L×" + std::to_string(embeddings.dim) + ", got " +
                             ptp::to_string(shape));
    if (m == ptp::mode::eval) return batch;
    const std::vector<V> host = ptp::ops::to_host<V>(clean_gradient);
    const std::size_t row_size = shape[1] * shape[2];
    for (auto& t : batch) {
      if (t.row >= shape[0])
        throw std::out_of_range("a2t_stage: text in row " + std::to_string(t.row) + " of a batch of " + std::to_string(shape[0]));
      const std::span<const V> grads(host.data() + t.row * row_size, row_size);
      auto r = attack(t.text, grads, std::span<const std::vector<std::size_t>>(t.alignment), embeddings, source, lookup,
                      tagger, m, encoder);
      t.edits += r.edits.size();
      t.text = std::move(r.perturbed);
    }
    return batch;
  }
};

}  // namespace ptp::text
