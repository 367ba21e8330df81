/// @file encoding.hpp
/// The common result of every tokenizer (ptp::text::encoding), the shared pipeline around a
/// sub-word model (added/special tokens, post-processing templates, truncation, offsets)
/// and batch padding.
///
/// Why one pipeline: WordPiece, byte-level BPE and Unigram differ only in normalisation,
/// pre-tokenisation and the sub-word model. Everything around them follows Hugging Face
/// `tokenizers` (special tokens found in raw text first, `[CLS] a [SEP] b [SEP]`-style
/// templates, `longest_first` truncation) and lives here once.
///
/// Offsets: `encoding::offsets` are half-open ranges in the ORIGINAL text. Their unit is
/// chosen per tokenizer with `offset_unit`: `chars` (code points; what HF's Python binding
/// reports, the default so results compare 1:1 with Python) or `bytes` (UTF-8 byte offsets,
/// what HF's Rust API reports; cheaper, and directly usable with std::string_view::substr).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ptp/text/tokenizers/unicode.hpp"

namespace ptp::text {

/// Thrown when a vocabulary/merges/tokenizer.json file is missing or malformed. `what()`
/// names the file and the line (text files) or the JSON field.
class tokenizer_file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Unit of encoding::offsets.
enum class offset_unit : std::uint8_t {
  chars,  ///< code points of the original text (HF Python)
  bytes,  ///< UTF-8 bytes of the original text (HF Rust)
};

/// A tokenised sequence (or pair), ready for a model. All vectors have the same length.
struct encoding {
  std::vector<std::uint32_t> ids;                  ///< token ids
  std::vector<std::uint32_t> type_ids;             ///< segment ids (0 for a, 1 for b in BERT)
  std::vector<std::uint8_t> attention_mask;        ///< 1 for real tokens, 0 for padding
  std::vector<std::uint8_t> special_tokens_mask;   ///< 1 for tokens added by the template / padding
  std::vector<std::pair<std::size_t, std::size_t>> offsets;  ///< [begin, end) in the original text; (0,0) for added tokens
  std::vector<std::int32_t> word_ids;              ///< word index within its sequence; -1 for added tokens / padding
  std::vector<std::int32_t> sequence_ids;          ///< 0 (text a), 1 (text b), -1 for added tokens / padding

  /// Number of tokens.
  [[nodiscard]] std::size_t size() const noexcept { return ids.size(); }
  /// Sub-token range [first, last) of word `word` in sequence `sequence` (empty if absent).
  [[nodiscard]] std::pair<std::size_t, std::size_t> word_to_tokens(std::int32_t word, std::int32_t sequence = 0) const {
    std::size_t first = size(), last = size();
    for (std::size_t i = 0; i < size(); ++i) {
      if (word_ids[i] == word && sequence_ids[i] == sequence) {
        if (first == size()) first = i;
        last = i + 1;
      }
    }
    return first == size() ? std::pair{size(), size()} : std::pair{first, last};
  }
};

/// One token produced by a model, before post-processing. Offsets are bytes of the
/// original text; `word` is the index of the pre-tokenised split it came from.
struct token_piece {
  std::uint32_t id;
  std::uint32_t begin;
  std::uint32_t end;
  std::int32_t word;
};

/// A token matched verbatim in raw text before normalisation (HF "added tokens" with
/// normalized=false): special tokens such as [CLS] or <s>.
struct added_token {
  std::string content;    ///< exact text
  std::uint32_t id;       ///< its id
  bool special = true;    ///< special tokens are the ones templates insert
  bool lstrip = false;    ///< also swallow whitespace on the left
  bool rstrip = false;    ///< also swallow whitespace on the right
};

/// Longest-leftmost matching of added tokens in raw text.
class added_vocabulary {
 public:
  added_vocabulary() = default;
  explicit added_vocabulary(std::vector<added_token> tokens) : tokens_(std::move(tokens)) {
    for (const auto& t : tokens_) {
      if (t.content.empty()) throw std::invalid_argument("added token with empty content");
      first_byte_[static_cast<unsigned char>(t.content[0])] = true;
    }
  }
  [[nodiscard]] const std::vector<added_token>& tokens() const noexcept { return tokens_; }
  [[nodiscard]] bool empty() const noexcept { return tokens_.empty(); }
  /// Id of an added token by content.
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view s) const {
    for (const auto& t : tokens_)
      if (t.content == s) return t.id;
    return std::nullopt;
  }

  /// Calls `on_text(begin, end)` for the plain segments and `on_token(begin, end, id)` for
  /// matched added tokens, in order, covering `text` (empty plain segments are skipped).
  template <class OnText, class OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    std::size_t plain = 0, pos = 0;
    while (pos < text.size()) {
      const auto* best = first_byte_[static_cast<unsigned char>(text[pos])] ? longest_at(text, pos) : nullptr;
      if (!best) {
        ++pos;
        continue;
      }
      std::size_t b = pos, e = pos + best->content.size();
      if (best->lstrip) b = strip_left(text, plain, b);
      if (best->rstrip) e = strip_right(text, e);
      if (b > plain) on_text(plain, b);
      on_token(b, e, best->id);
      plain = pos = e;
    }
    if (plain < text.size()) on_text(plain, text.size());
  }

 private:
  const added_token* longest_at(std::string_view text, std::size_t pos) const {
    const added_token* best = nullptr;
    for (const auto& t : tokens_)
      if (text.substr(pos, t.content.size()) == t.content && (!best || t.content.size() > best->content.size()))
        best = &t;
    return best;
  }
  static std::size_t strip_left(std::string_view text, std::size_t floor, std::size_t b) {
    // Walk back over whitespace code points (UTF-8 lead bytes found by skipping continuations).
    while (b > floor) {
      std::size_t p = b - 1;
      while (p > floor && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
      std::size_t q = p;
      if (!is_white_space(utf8::decode_unchecked(text, q))) break;
      b = p;
    }
    return b;
  }
  static std::size_t strip_right(std::string_view text, std::size_t e) {
    while (e < text.size()) {
      std::size_t q = e;
      if (!is_white_space(utf8::decode_unchecked(text, q))) break;
      e = q;
    }
    return e;
  }
  std::vector<added_token> tokens_;
  bool first_byte_[256] = {};
};

/// One element of a post-processing template: either a special token or a sequence slot.
struct template_item {
  bool is_sequence = false;   ///< true: the tokens of sequence `sequence` (0 = a, 1 = b)
  std::uint8_t sequence = 0;  ///< which text, when is_sequence
  std::uint32_t id = 0;       ///< special token id, when !is_sequence
  std::uint32_t type_id = 0;  ///< type id given to the item's tokens
};

/// Adds special tokens around one or two sequences (HF TemplateProcessing, BertProcessing,
/// RobertaProcessing) and optionally trims byte-level offsets (RoBERTa's trim_offsets).
struct post_processor {
  std::vector<template_item> single;  ///< e.g. [CLS] A [SEP]
  std::vector<template_item> pair;    ///< e.g. [CLS] A [SEP] B [SEP]
  bool trim_offsets = false;          ///< drop the leading/trailing 'Ġ' spaces from offsets
  bool add_prefix_space = false;      ///< with trim_offsets: keep the added prefix space of a first token

  /// BERT/ALBERT layout: [CLS] a [SEP] and [CLS] a [SEP] b [SEP], b's part with type id 1.
  static post_processor bert(std::uint32_t cls, std::uint32_t sep) {
    post_processor p;
    p.single = {{false, 0, cls, 0}, {true, 0, 0, 0}, {false, 0, sep, 0}};
    p.pair = {{false, 0, cls, 0}, {true, 0, 0, 0}, {false, 0, sep, 0}, {true, 1, 0, 1}, {false, 0, sep, 1}};
    return p;
  }
  /// RoBERTa layout: <s> a </s> and <s> a </s></s> b </s>, all type ids 0.
  static post_processor roberta(std::uint32_t bos, std::uint32_t eos, bool trim = true, bool prefix_space = true) {
    post_processor p;
    p.single = {{false, 0, bos, 0}, {true, 0, 0, 0}, {false, 0, eos, 0}};
    p.pair = {{false, 0, bos, 0}, {true, 0, 0, 0}, {false, 0, eos, 0},
              {false, 0, eos, 0}, {true, 1, 0, 0}, {false, 0, eos, 0}};
    p.trim_offsets = trim;
    p.add_prefix_space = prefix_space;
    return p;
  }

  /// Number of special tokens the template adds.
  [[nodiscard]] std::size_t added_tokens(bool is_pair) const noexcept {
    const auto& t = is_pair ? pair : single;
    return static_cast<std::size_t>(std::count_if(t.begin(), t.end(), [](const auto& i) { return !i.is_sequence; }));
  }
};

/// Which side truncation removes tokens from.
enum class truncation_side : std::uint8_t { right, left };

/// Truncation before post-processing (max_length counts the special tokens too).
/// Strategy is HF's `longest_first`: a pair is cut so that the shorter text keeps as much
/// as possible and neither gets less than half of the budget.
struct truncation_options {
  std::size_t max_length = 0;  ///< 0: no truncation
  truncation_side side = truncation_side::right;
};

namespace detail {

inline void truncate_pieces(std::vector<token_piece>& v, std::size_t n, truncation_side side) {
  if (v.size() <= n) return;
  if (side == truncation_side::right) {
    v.resize(n);
  } else {
    v.erase(v.begin(), v.end() - static_cast<std::ptrdiff_t>(n));
  }
}

/// HF longest_first for a pair: returns the kept lengths (n_a, n_b) for a budget.
inline std::pair<std::size_t, std::size_t> longest_first(std::size_t na, std::size_t nb, std::size_t budget) {
  if (na + nb <= budget) return {na, nb};
  const bool swapped = na > nb;
  std::size_t n1 = swapped ? nb : na, n2;  // n1: the shorter
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  return swapped ? std::pair{n2, n1} : std::pair{n1, n2};
}

/// Byte offset → code point offset table for `text` (size bytes + 1).
inline void char_index(std::string_view text, std::vector<std::uint32_t>& out) {
  out.resize(text.size() + 1);
  std::uint32_t c = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out[i] = c;
    c += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  }
  out[text.size()] = c;
}

/// Counts the leading and trailing characters of `token` that are 'Ġ' (U+0120, the
/// byte-level image of a space) or whitespace, as HF's byte-level offset trimming does.
inline std::pair<std::size_t, std::size_t> byte_level_space_counts(std::string_view token) {
  std::vector<char32_t> cps;
  for (std::size_t pos = 0; pos < token.size();) cps.push_back(utf8::decode_unchecked(token, pos));
  auto is_space = [](char32_t c) { return c == 0x120 || is_white_space(c); };
  std::size_t lead = 0, trail = 0;
  while (lead < cps.size() && is_space(cps[lead])) ++lead;
  while (trail < cps.size() && is_space(cps[cps.size() - 1 - trail])) ++trail;
  return {lead, trail};
}

}  // namespace detail

/// Converts byte offsets of `e` (an encoding made with offset_unit::bytes from `text`)
/// into code point offsets.
inline void bytes_to_char_offsets(std::string_view text, encoding& e) {
  std::vector<std::uint32_t> index;
  detail::char_index(text, index);
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e.special_tokens_mask[i] && e.offsets[i] == std::pair<std::size_t, std::size_t>{0, 0}) continue;
    e.offsets[i] = {index[e.offsets[i].first], index[e.offsets[i].second]};
  }
}

/// Options of the shared pipeline.
struct pipeline_options {
  truncation_options truncation{};   ///< none by default
  offset_unit offsets = offset_unit::chars;
  bool add_special_tokens = true;     ///< apply the post-processing template
};

/// A complete tokenizer: added tokens + a sub-word `Model` + template + truncation.
///
/// @tparam Model provides `void tokenize(std::string_view text, std::size_t begin,
///   std::size_t end, std::int32_t& word, std::vector<token_piece>& out) const` that
///   normalises, pre-tokenises and tokenises the segment [begin, end) of `text`, appending
///   pieces with byte offsets into `text` and numbering each pre-tokenised split with
///   `word++`; plus `token_to_id`, `id_to_token`, `vocab_size`.
///
/// @code
/// auto tok = ptp::text::load_wordpiece("tokenizer.json");
/// ptp::text::encoding e = tok.encode("Hello world!", "Second text");
/// @endcode
template <class Model>
class tokenizer {
 public:
  tokenizer(Model model, added_vocabulary added, post_processor post, pipeline_options options = {})
      : model_(std::move(model)), added_(std::move(added)), post_(std::move(post)), options_(options) {}

  /// Encodes one text: special tokens per the template, truncated to options().truncation.
  /// Throws invalid_utf8 for malformed input. An empty text gives just the special tokens.
  [[nodiscard]] encoding encode(std::string_view text) const { return encode(text, options_); }

  /// Encodes a pair (e.g. premise/hypothesis); longest_first truncation when enabled.
  [[nodiscard]] encoding encode(std::string_view text_a, std::string_view text_b) const {
    return encode(text_a, text_b, options_);
  }

  /// Encodes one text under other options (one vocabulary serves, say, model inputs with
  /// special tokens and bare pieces of text without).
  [[nodiscard]] encoding encode(std::string_view text, const pipeline_options& o) const {
    std::vector<token_piece> a;
    encode_sequence(text, a);
    if (const auto max = o.truncation.max_length; max) {
      const auto budget = max - std::min(max, added_count(false, o));
      detail::truncate_pieces(a, budget, o.truncation.side);
    }
    return finish(text, a, {}, nullptr, o);
  }

  /// Encodes a pair under other options.
  [[nodiscard]] encoding encode(std::string_view text_a, std::string_view text_b, const pipeline_options& o) const {
    std::vector<token_piece> a, b;
    encode_sequence(text_a, a);
    encode_sequence(text_b, b);
    if (const auto max = o.truncation.max_length; max) {
      const auto budget = max - std::min(max, added_count(true, o));
      const auto [na, nb] = detail::longest_first(a.size(), b.size(), budget);
      detail::truncate_pieces(a, na, o.truncation.side);
      detail::truncate_pieces(b, nb, o.truncation.side);
    }
    return finish(text_a, a, text_b, &b, o);
  }

  /// Encodes each text independently.
  [[nodiscard]] std::vector<encoding> encode_batch(const std::vector<std::string>& texts) const {
    std::vector<encoding> out;
    out.reserve(texts.size());
    for (const auto& t : texts) out.push_back(encode(t));
    return out;
  }

  /// Id of a token (added tokens first, then the model's vocabulary).
  [[nodiscard]] std::optional<std::uint32_t> token_to_id(std::string_view token) const {
    if (auto id = added_.find(token)) return id;
    return model_.token_to_id(token);
  }
  /// Token string of an id (added tokens first).
  [[nodiscard]] std::optional<std::string> id_to_token(std::uint32_t id) const {
    for (const auto& t : added_.tokens())
      if (t.id == id) return t.content;
    return model_.id_to_token(id);
  }
  /// One past the largest id encode() can emit: the model vocabulary, added tokens and the
  /// template's special tokens with ids beyond it (so that every id indexes an embedding
  /// table of this size).
  [[nodiscard]] std::size_t vocab_size() const {
    std::size_t n = model_.vocab_size();
    for (const auto& t : added_.tokens()) n = std::max<std::size_t>(n, t.id + 1);
    for (const auto* items : {&post_.single, &post_.pair})
      for (const auto& i : *items)
        if (!i.is_sequence) n = std::max<std::size_t>(n, std::size_t{i.id} + 1);
    return n;
  }
  [[nodiscard]] const Model& model() const noexcept { return model_; }
  [[nodiscard]] const post_processor& post() const noexcept { return post_; }
  /// Tokens matched verbatim in text ([CLS], <mask>, …; `special` marks the template's).
  [[nodiscard]] const added_vocabulary& added() const noexcept { return added_; }
  [[nodiscard]] const pipeline_options& options() const noexcept { return options_; }
  /// Mutable options (truncation, offset unit, special tokens on/off).
  pipeline_options& options() noexcept { return options_; }

 private:
  std::size_t added_count(bool pair, const pipeline_options& o) const {
    return o.add_special_tokens ? post_.added_tokens(pair) : 0;
  }

  void encode_sequence(std::string_view text, std::vector<token_piece>& out) const {
    utf8::validate(text);
    if (text.size() > 0xFFFFFFFFu) throw std::length_error("text longer than 4 GiB");
    std::int32_t word = 0;
    added_.split(
        text, [&](std::size_t b, std::size_t e) { model_.tokenize(text, b, e, word, out); },
        [&](std::size_t b, std::size_t e, std::uint32_t id) {
          out.push_back({id, static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e), word++});
        });
  }

  // Converts offsets to the requested unit, trims byte-level offsets, then applies the template.
  encoding finish(std::string_view ta, std::vector<token_piece>& a, std::string_view tb,
                  std::vector<token_piece>* b, const pipeline_options& o) const {
    std::vector<std::uint32_t> index;
    auto prepare = [&](std::string_view text, std::vector<token_piece>& v) {
      if (o.offsets == offset_unit::chars) {
        detail::char_index(text, index);
        for (auto& p : v) p = {p.id, index[p.begin], index[p.end], p.word};
      }
      if (post_.trim_offsets) trim(v);
    };
    prepare(ta, a);
    if (b) prepare(tb, *b);

    encoding e;
    const std::size_t n = a.size() + (b ? b->size() : 0) + added_count(b != nullptr, o);
    e.ids.reserve(n);
    e.type_ids.reserve(n);
    e.attention_mask.reserve(n);  // filled per token: a template may hold a sequence 0 or 2 times
    e.special_tokens_mask.reserve(n);
    e.offsets.reserve(n);
    e.word_ids.reserve(n);
    e.sequence_ids.reserve(n);
    auto push_seq = [&](const std::vector<token_piece>& v, std::uint32_t type_id, std::int32_t seq) {
      for (const auto& p : v) {
        e.ids.push_back(p.id);
        e.type_ids.push_back(type_id);
        e.attention_mask.push_back(1);
        e.special_tokens_mask.push_back(0);
        e.offsets.emplace_back(p.begin, p.end);
        e.word_ids.push_back(p.word);
        e.sequence_ids.push_back(seq);
      }
    };
    if (!o.add_special_tokens) {
      push_seq(a, 0, 0);
      if (b) push_seq(*b, 1, 1);
      return e;
    }
    for (const auto& item : b ? post_.pair : post_.single) {
      if (item.is_sequence) {
        push_seq(item.sequence == 0 ? a : *b, item.type_id, item.sequence);
      } else {
        e.ids.push_back(item.id);
        e.type_ids.push_back(item.type_id);
        e.attention_mask.push_back(1);
        e.special_tokens_mask.push_back(1);
        e.offsets.emplace_back(0, 0);
        e.word_ids.push_back(-1);
        e.sequence_ids.push_back(-1);
      }
    }
    return e;
  }

  // RoBERTa-style trimming: offsets lose the leading/trailing spaces ('Ġ' = byte 0x20) a
  // byte-level token carries, except the prefix space added in front of a first token.
  void trim(std::vector<token_piece>& v) const {
    for (std::size_t i = 0; i < v.size(); ++i) {
      auto& p = v[i];
      const auto [lead, trail] = space_counts(p.id);
      std::size_t leading = lead;
      if (leading == 0 && trail == 0) continue;
      if (leading > 0) {
        const bool first = i == 0 || p.begin == 0;
        if (first && post_.add_prefix_space && leading == 1) leading = 0;
        p.begin = static_cast<std::uint32_t>(std::min<std::size_t>(p.begin + leading, p.end));
      }
      if (trail > 0 && p.end >= trail) p.end = static_cast<std::uint32_t>(std::max<std::size_t>(p.end - trail, p.begin));
    }
  }

  // Leading/trailing spaces of a token's string: 'Ġ' (byte-level space) or whitespace.
  std::pair<std::size_t, std::size_t> space_counts(std::uint32_t id) const {
    if constexpr (requires { model_.space_counts(id); }) {
      if (id < model_.vocab_size()) return model_.space_counts(id);
    }
    const auto token = id_to_token(id);
    return token ? detail::byte_level_space_counts(*token) : std::pair<std::size_t, std::size_t>{0, 0};
  }

  Model model_;
  added_vocabulary added_;
  post_processor post_;
  pipeline_options options_;
};

/// How batch padding chooses the target length.
struct padding_options {
  std::size_t length = 0;           ///< 0: pad to the longest in the batch
  std::size_t pad_to_multiple_of = 0;  ///< round the target length up (0: off)
  std::uint32_t pad_id = 0;         ///< id of [PAD] / <pad>
  std::uint32_t pad_type_id = 0;    ///< type id of padding
  bool left = false;                ///< pad on the left instead of the right
};

/// Pads every encoding of `batch` to a common length (attention 0, special 1, offsets
/// (0,0), word/sequence ids -1). Encodings longer than the target are left as they are.
inline void pad_batch(std::vector<encoding>& batch, const padding_options& opt = {}) {
  std::size_t target = opt.length;
  if (target == 0)
    for (const auto& e : batch) target = std::max(target, e.size());
  if (opt.pad_to_multiple_of > 1 && target % opt.pad_to_multiple_of)
    target += opt.pad_to_multiple_of - target % opt.pad_to_multiple_of;
  for (auto& e : batch) {
    if (e.size() >= target) continue;
    const std::size_t n = target - e.size();
    auto grow = [&](auto& v, auto value) {
      using V = typename std::decay_t<decltype(v)>::value_type;
      v.insert(opt.left ? v.begin() : v.end(), n, static_cast<V>(value));
    };
    grow(e.ids, opt.pad_id);
    grow(e.type_ids, opt.pad_type_id);
    grow(e.attention_mask, 0);
    grow(e.special_tokens_mask, 1);
    e.offsets.insert(opt.left ? e.offsets.begin() : e.offsets.end(), n, std::pair<std::size_t, std::size_t>{0, 0});
    grow(e.word_ids, -1);
    grow(e.sequence_ids, -1);
  }
}

}  // namespace ptp::text
