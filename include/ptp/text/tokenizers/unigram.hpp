/// @file unigram.hpp
/// Unigram language-model tokenizer (SentencePiece's algorithm, as saved by Hugging Face
/// `tokenizers` in tokenizer.json with model type "Unigram"): the Metaspace pre-tokenizer
/// (' ' → '▁', a '▁' prepended, a split before every '▁') and a Viterbi search for the
/// segmentation with the highest total log-probability.
///
/// Unknown characters cost (lowest piece score - 10) and consecutive unknowns fuse into
/// one unk token, as in HF. Normalizers are not implemented: models with a normalizer
/// (e.g. NFKC) are rejected at load time rather than silently mis-tokenised.
///
/// @code
/// auto tok = ptp::text::load_unigram("unigram/tokenizer.json");
/// auto e = tok.encode("Hello world");   // [CLS] ▁Hello ▁world [SEP]
/// @endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ptp/text/tokenizers/encoding.hpp"
#include "ptp/text/tokenizers/tokenizer_json.hpp"
#include "ptp/text/tokenizers/unicode.hpp"
#include "ptp/text/tokenizers/vocabulary.hpp"

namespace ptp::text {

/// When the Metaspace pre-tokenizer prepends '▁'.
enum class prepend_scheme : std::uint8_t {
  always,  ///< every segment (text between special tokens)
  first,   ///< only the segment at the start of the text
  never,
};

/// Unigram + Metaspace settings.
struct unigram_options {
  char32_t replacement = U'\u2581';                 ///< what ' ' becomes ('▁')
  prepend_scheme prepend = prepend_scheme::always;  ///< when to add a leading '▁'
  bool split = true;                                ///< split before every '▁'
  bool fuse_unk = true;                             ///< consecutive unknowns → one unk token
};

/// A piece of the model: its string and log-probability.
struct unigram_piece {
  std::string piece;
  double score;
};

/// Metaspace pre-tokeniser + Unigram model (a `Model` for ptp::text::tokenizer).
class unigram_model {
 public:
  /// @param pieces id = position; @param unk_id index of the unknown piece.
  unigram_model(std::vector<unigram_piece> pieces, std::uint32_t unk_id, unigram_options options,
                const std::string& source = "<memory>")
      : options_(options), unk_id_(unk_id) {
    if (pieces.empty()) throw tokenizer_file_error("in '" + source + "': empty Unigram vocabulary");
    if (unk_id >= pieces.size()) throw tokenizer_file_error("in '" + source + "': unk_id out of range");
    if (pieces.size() > std::size_t{vocabulary::max_id} + 1)
      throw tokenizer_file_error("in '" + source + "': more than " + std::to_string(vocabulary::max_id + 1) + " pieces");
    scores_.reserve(pieces.size());
    min_score_ = std::numeric_limits<double>::infinity();
    for (std::uint32_t id = 0; id < pieces.size(); ++id) {
      vocab_.insert(pieces[id].piece, id);
      scores_.push_back(pieces[id].score);
      min_score_ = std::min(min_score_, pieces[id].score);
    }
    replacement_ = utf8::encode(options_.replacement);
  }

  [[nodiscard]] std::optional<std::uint32_t> token_to_id(std::string_view t) const { return vocab_.find(t); }
  [[nodiscard]] std::optional<std::string> id_to_token(std::uint32_t id) const { return vocab_.token(id); }
  [[nodiscard]] std::size_t vocab_size() const noexcept { return vocab_.size(); }
  [[nodiscard]] double score(std::uint32_t id) const { return scores_.at(id); }

  /// Metaspace-splits text[begin, end) and Viterbi-segments every piece.
  void tokenize(std::string_view text, std::size_t begin, std::size_t end, std::int32_t& word,
                std::vector<token_piece>& out) const {
    thread_local scratch s;
    s.norm.clear();
    s.ob.clear();
    s.oe.clear();
    // Normalised UTF-8 with, per byte, the original span of the character it came from.
    auto push = [&](std::string_view bytes, std::uint32_t b, std::uint32_t e) {
      s.norm.append(bytes);
      s.ob.insert(s.ob.end(), bytes.size(), b);
      s.oe.insert(s.oe.end(), bytes.size(), e);
    };
    std::size_t pos = begin;
    bool first_char = true;
    while (pos < end) {
      const auto b = static_cast<std::uint32_t>(pos);
      const char32_t c = utf8::decode_unchecked(text, pos);
      const auto e = static_cast<std::uint32_t>(pos);
      if (first_char) {
        first_char = false;
        const bool starts_with_rep = c == U' ' || c == options_.replacement;
        const bool prepend = options_.prepend == prepend_scheme::always ||
                             (options_.prepend == prepend_scheme::first && begin == 0);
        if (prepend && !starts_with_rep) push(replacement_, b, e);  // aligned with the first char
      }
      if (c == U' ') {
        push(replacement_, b, e);
      } else {
        push(text.substr(b, e - b), b, e);
      }
    }
    // MergedWithNext: every '▁' starts a new piece.
    const std::string_view n = s.norm;
    std::size_t start = 0;
    if (options_.split) {
      for (std::size_t p = n.find(replacement_, 1); p != std::string_view::npos; p = n.find(replacement_, p + 1)) {
        if (p > start) viterbi(s, start, p, word++, out);
        start = p;
      }
    }
    if (n.size() > start) viterbi(s, start, n.size(), word++, out);
  }

 private:
  struct node {
    double score;
    std::int64_t start;  // -1: not reached yet
    std::uint32_t id;
  };
  struct scratch {
    std::string norm;
    std::vector<std::uint32_t> ob, oe;
    std::vector<node> best;
    std::vector<std::pair<std::size_t, std::size_t>> path;
  };

  // Best segmentation of norm[first, last) (HF's encode_optimized), appended to out.
  void viterbi(scratch& s, std::size_t first, std::size_t last, std::int32_t word, std::vector<token_piece>& out) const {
    const std::string_view w = std::string_view(s.norm).substr(first, last - first);
    const std::size_t size = w.size();
    const double unk_score = min_score_ - 10.0;
    const std::size_t longest = vocab_.max_token_bytes();
    s.best.assign(size + 1, node{0.0, -1, 0});
    std::size_t at = 0;
    while (at < size) {
      const double here = s.best[at].score;
      std::size_t char_end = at;
      utf8::decode_unchecked(w, char_end);
      bool single = false;
      for (std::size_t e = char_end; e <= size && e - at <= longest;) {
        const std::int64_t id = vocab_.find_or(w.substr(at, e - at), -1);
        if (id >= 0) {
          const double cand = here + scores_[static_cast<std::size_t>(id)];
          node& t = s.best[e];
          if (t.start < 0 || cand > t.score) t = {cand, static_cast<std::int64_t>(at), static_cast<std::uint32_t>(id)};
          if (e == char_end) single = true;
        }
        if (e == size) break;
        utf8::decode_unchecked(w, e);
      }
      if (!single) {
        node& t = s.best[char_end];
        const double cand = here + unk_score;
        if (t.start < 0 || cand > t.score) t = {cand, static_cast<std::int64_t>(at), unk_id_};
      }
      at = char_end;
    }
    // Backtrack; fuse runs of unknowns.
    s.path.clear();
    std::vector<std::uint32_t> ids;
    for (std::size_t e = size; e > 0;) {
      const node& nd = s.best[e];
      const auto b = static_cast<std::size_t>(nd.start);
      if (options_.fuse_unk && nd.id == unk_id_ && !s.path.empty() && ids.back() == unk_id_ && s.path.back().first == e) {
        s.path.back().first = b;
      } else {
        s.path.emplace_back(b, e);
        ids.push_back(nd.id);
      }
      e = b;
    }
    for (std::size_t k = s.path.size(); k-- > 0;) {
      const auto [b, e] = s.path[k];
      std::uint32_t id = ids[k];
      if (id == unk_id_) id = static_cast<std::uint32_t>(vocab_.find_or(w.substr(b, e - b), unk_id_));
      out.push_back({id, s.ob[first + b], s.oe[first + e - 1], word});
    }
  }

  vocabulary vocab_;
  std::vector<double> scores_;
  double min_score_ = 0;
  unigram_options options_;
  std::uint32_t unk_id_;
  std::string replacement_;
};

/// A Unigram tokenizer (ALBERT/T5-style SentencePiece models saved by HF tokenizers).
using unigram_tokenizer = tokenizer<unigram_model>;

/// Unigram tokenizer from a parsed Hugging Face tokenizer.json (model "Unigram",
/// pre_tokenizer "Metaspace", no normalizer). Errors name the file and field.
inline unigram_tokenizer load_unigram(const json_io::node& r, pipeline_options pipeline = {}) {
  const std::string& path = r.file;
  const auto m = r.at("model");
  if (m.at("type").str() != "Unigram") m.at("type").fail("expected \"Unigram\"");
  if (r.has("normalizer")) r.at("normalizer").fail("normalizers are not supported with Unigram (train without one)");
  if (m.flag("byte_fallback", false)) m.at("byte_fallback").fail("byte_fallback is not supported");
  unigram_options o;
  const auto pre = r.at("pre_tokenizer");
  if (pre.at("type").str() != "Metaspace") pre.at("type").fail("expected \"Metaspace\"");
  if (pre.has("replacement")) {
    const std::string rep = pre.at("replacement").str();
    if (rep.empty()) pre.at("replacement").fail("expected one character");
    std::size_t p = 0;
    o.replacement = utf8::decode(rep, p);
    if (p != rep.size()) pre.at("replacement").fail("expected one character");
  }
  if (pre.has("prepend_scheme")) {
    const std::string sch = pre.at("prepend_scheme").str();
    if (sch == "always") o.prepend = prepend_scheme::always;
    else if (sch == "first") o.prepend = prepend_scheme::first;
    else if (sch == "never") o.prepend = prepend_scheme::never;
    else pre.at("prepend_scheme").fail("expected always, first or never");
  } else if (pre.has("add_prefix_space")) {
    o.prepend = pre.at("add_prefix_space").boolean() ? prepend_scheme::always : prepend_scheme::never;
  }
  o.split = pre.flag("split", true);
  std::vector<unigram_piece> pieces;
  const auto vocab = m.at("vocab");
  if (!vocab.value.is_array() || vocab.value.empty()) vocab.fail("expected a non-empty array of [piece, score]");
  pieces.reserve(vocab.value.size());
  for (std::size_t i = 0; i < vocab.value.size(); ++i) {
    const auto e = vocab.index(i);
    pieces.push_back({e.index(0).str(), e.index(1).number()});
  }
  if (!m.has("unk_id")) m.at("unk_id").fail("a Unigram model without unk_id is not supported");
  const auto unk = m.at("unk_id").id();
  return {unigram_model(std::move(pieces), unk, o, path), json_io::added_tokens(r), json_io::post_processing(r), pipeline};
}

/// Unigram tokenizer from a Hugging Face tokenizer.json file (see above).
inline unigram_tokenizer load_unigram(const std::string& path, pipeline_options pipeline = {}) {
  const auto j = json_io::parse_file(path);
  return load_unigram(json_io::root(j, path), pipeline);
}

}  // namespace ptp::text
