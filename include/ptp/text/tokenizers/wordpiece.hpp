/// @file wordpiece.hpp
/// BERT's WordPiece tokenizer: the basic tokenizer (text cleaning, lower-casing, accent
/// stripping, CJK isolation, whitespace and punctuation splitting) followed by greedy
/// longest-match-first sub-words with the `##` continuation prefix.
///
/// Matches Hugging Face `tokenizers` (BertNormalizer + BertPreTokenizer + WordPiece) token
/// for token, including offsets and word ids. Load from `vocab.txt` or `tokenizer.json`.
///
/// @code
/// auto tok = ptp::text::load_wordpiece("all-MiniLM-L6-v2/tokenizer.json");
/// auto e = tok.encode("Hello, world!");          // [CLS] hello , world ! [SEP]
/// auto p = tok.encode("A premise.", "A hypothesis.");
/// @endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptp/text/tokenizers/encoding.hpp"
#include "ptp/text/tokenizers/tokenizer_json.hpp"
#include "ptp/text/tokenizers/unicode.hpp"
#include "ptp/text/tokenizers/vocabulary.hpp"

namespace ptp::text {

/// BERT's basic-tokenizer normalisation switches (HF BertNormalizer).
struct bert_normalizer_options {
  bool clean_text = true;                 ///< drop NUL, U+FFFD and control chars; whitespace → ' '
  bool handle_chinese_chars = true;       ///< put spaces around CJK ideographs
  std::optional<bool> strip_accents{};    ///< NFD + drop Mn marks; unset: follow `lowercase`
  bool lowercase = true;                  ///< per-character full lower-casing
};

/// WordPiece model settings (defaults = bert-base-uncased).
struct wordpiece_options {
  std::string unk_token = "[UNK]";               ///< replaces a word that cannot be split
  std::string continuing_subword_prefix = "##";  ///< marks non-initial sub-words
  std::size_t max_input_chars_per_word = 100;    ///< longer words become unk_token
  bert_normalizer_options normalizer{};          ///< basic tokenizer switches
};

/// The normaliser + pre-tokeniser + WordPiece model (a `Model` for ptp::text::tokenizer).
class wordpiece_model {
 public:
  /// Throws tokenizer_file_error if `options.unk_token` is not in `vocab`.
  wordpiece_model(vocabulary vocab, wordpiece_options options, const std::string& source = "<memory>")
      : vocab_(std::move(vocab)), options_(std::move(options)) {
    const auto unk = vocab_.find(options_.unk_token);
    if (!unk) throw tokenizer_file_error("in '" + source + "': unk token '" + options_.unk_token + "' is not in the vocabulary");
    unk_id_ = *unk;
    strip_ = options_.normalizer.strip_accents.value_or(options_.normalizer.lowercase);
  }

  [[nodiscard]] std::optional<std::uint32_t> token_to_id(std::string_view t) const { return vocab_.find(t); }
  [[nodiscard]] std::optional<std::string> id_to_token(std::uint32_t id) const { return vocab_.token(id); }
  [[nodiscard]] std::size_t vocab_size() const noexcept { return vocab_.size(); }
  [[nodiscard]] const wordpiece_options& options() const noexcept { return options_; }

  /// Normalises, splits and tokenises text[begin, end) (see ptp::text::tokenizer).
  void tokenize(std::string_view text, std::size_t begin, std::size_t end, std::int32_t& word,
                std::vector<token_piece>& out) const {
    thread_local scratch s;
    normalize(text, begin, end, s);
    // BertPreTokenizer: whitespace separates words and is dropped; punctuation is a word.
    std::size_t start = 0;
    const std::size_t n = s.cps.size();
    for (std::size_t i = 0; i < n; ++i) {
      const char32_t c = s.cps[i];
      if (is_white_space(c)) {
        if (i > start) split_word(s, start, i, word++, out);
        start = i + 1;
      } else if (is_bert_punctuation(c)) {
        if (i > start) split_word(s, start, i, word++, out);
        split_word(s, i, i + 1, word++, out);
        start = i + 1;
      }
    }
    if (n > start) split_word(s, start, n, word++, out);
  }

 private:
  struct scratch {
    std::vector<char32_t> cps;                 // normalised code points
    std::vector<std::uint32_t> ob, oe;         // their original byte span
    std::string word;                          // UTF-8 of the current word
    std::vector<std::uint32_t> bounds;         // byte offset in `word` of each char (+ end)
    std::string probe;                         // "##" + suffix
  };

  void emit(scratch& s, char32_t c, std::uint32_t b, std::uint32_t e) const {
    if (options_.normalizer.lowercase) {
      to_lower(c, [&](char32_t l) {
        s.cps.push_back(l);
        s.ob.push_back(b);
        s.oe.push_back(e);
      });
    } else {
      s.cps.push_back(c);
      s.ob.push_back(b);
      s.oe.push_back(e);
    }
  }

  void emit_stripped(scratch& s, char32_t c, std::uint32_t b, std::uint32_t e) const {
    if (strip_) {
      strip_accents(c, [&](char32_t d) { emit(s, d, b, e); });
    } else {
      emit(s, c, b, e);
    }
  }

  void normalize(std::string_view text, std::size_t begin, std::size_t end, scratch& s) const {
    s.cps.clear();
    s.ob.clear();
    s.oe.clear();
    const auto& no = options_.normalizer;
    std::size_t pos = begin;
    while (pos < end) {
      const auto b = static_cast<std::uint32_t>(pos);
      char32_t c = utf8::decode_unchecked(text, pos);
      const auto e = static_cast<std::uint32_t>(pos);
      if (c >= 0x80) {
        // Characters HF's BERT tables classify differently from Unicode 14 (generated list).
        if (const auto* o = bert_override_of(c)) {
          if (o->kept || (no.clean_text && no.lowercase && strip_)) {
            for (std::uint8_t k = 0; k < o->size; ++k) {
              s.cps.push_back(o->out[k]);
              s.ob.push_back(b);
              s.oe.push_back(e);
            }
            continue;
          }
        }
      }
      if (no.clean_text) {
        if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
        if (is_white_space(c)) c = ' ';
      }
      if (no.handle_chinese_chars && is_cjk_ideograph(c)) {
        s.cps.push_back(' ');
        s.ob.push_back(b);
        s.oe.push_back(e);
        emit_stripped(s, c, b, e);
        s.cps.push_back(' ');
        s.ob.push_back(b);
        s.oe.push_back(e);
        continue;
      }
      emit_stripped(s, c, b, e);
    }
  }

  // Greedy longest-match-first split of normalised chars [first, last) into sub-words.
  void split_word(scratch& s, std::size_t first, std::size_t last, std::int32_t word,
                  std::vector<token_piece>& out) const {
    const auto orig = [&](std::size_t a, std::size_t z) {  // chars [a, z) of the word → original bytes
      return std::pair{s.ob[first + a], s.oe[first + z - 1]};
    };
    const std::size_t nchars = last - first;
    if (nchars > options_.max_input_chars_per_word) {
      const auto [b, e] = orig(0, nchars);
      out.push_back({unk_id_, b, e, word});
      return;
    }
    s.word.clear();
    s.bounds.clear();
    for (std::size_t i = first; i < last; ++i) {
      s.bounds.push_back(static_cast<std::uint32_t>(s.word.size()));
      utf8::append(s.word, s.cps[i]);
    }
    s.bounds.push_back(static_cast<std::uint32_t>(s.word.size()));

    const std::size_t mark = out.size();
    const std::string_view prefix = options_.continuing_subword_prefix;
    const std::size_t longest = vocab_.max_token_bytes();
    std::size_t start = 0;  // char index
    while (start < nchars) {
      std::size_t stop = nchars;
      const std::size_t extra = start > 0 ? prefix.size() : 0;
      // No vocabulary entry is longer than `longest` bytes: skip impossible candidates.
      while (stop > start && s.bounds[stop] - s.bounds[start] + extra > longest) --stop;
      std::string_view piece;
      if (start > 0) {
        s.probe.assign(prefix);
        s.probe.append(s.word, s.bounds[start], std::string::npos);
      }
      std::int64_t id = -1;
      for (; stop > start; --stop) {
        const std::size_t len = s.bounds[stop] - s.bounds[start];
        piece = start > 0 ? std::string_view(s.probe).substr(0, prefix.size() + len)
                          : std::string_view(s.word).substr(0, len);
        id = vocab_.find_or(piece, -1);
        if (id >= 0) break;
      }
      if (id < 0) {  // the whole word becomes [UNK]
        out.resize(mark);
        const auto [b, e] = orig(0, nchars);
        out.push_back({unk_id_, b, e, word});
        return;
      }
      const auto [b, e] = orig(start, stop);
      out.push_back({static_cast<std::uint32_t>(id), b, e, word});
      start = stop;
    }
  }

  vocabulary vocab_;
  wordpiece_options options_;
  std::uint32_t unk_id_ = 0;
  bool strip_ = true;
};

/// A WordPiece tokenizer (BERT, MiniLM, ...).
using wordpiece_tokenizer = tokenizer<wordpiece_model>;

/// Reads a BERT `vocab.txt` (one token per line, id = line number - 1; trailing whitespace
/// trimmed). Throws tokenizer_file_error naming the file (and line for bad UTF-8).
inline vocabulary read_vocab_txt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tokenizer_file_error("cannot open vocabulary file '" + path + "'");
  vocabulary v;
  std::string line;
  std::uint32_t id = 0;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t' || line.back() == '\n'))
      line.pop_back();
    try {
      utf8::validate(line);
    } catch (const invalid_utf8& e) {
      throw tokenizer_file_error("vocabulary file '" + path + "' line " + std::to_string(id + 1) + ": " + e.what());
    }
    if (id > vocabulary::max_id)
      throw tokenizer_file_error("vocabulary file '" + path + "' has more than " + std::to_string(vocabulary::max_id + 1) +
                                 " lines");
    v.insert(line, id++);
  }
  if (id == 0) throw tokenizer_file_error("vocabulary file '" + path + "' is empty");
  return v;
}

/// WordPiece tokenizer from a `vocab.txt`: BERT special tokens ([PAD] [UNK] [CLS] [SEP]
/// [MASK], those present) and the [CLS] a [SEP] b [SEP] template.
inline wordpiece_tokenizer load_wordpiece_vocab(const std::string& path, wordpiece_options options = {},
                                                pipeline_options pipeline = {}) {
  vocabulary v = read_vocab_txt(path);
  std::vector<added_token> specials;
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
    if (auto id = v.find(t)) specials.push_back({t, *id, true, false, false});
  const auto cls = v.find("[CLS]"), sep = v.find("[SEP]");
  if (!cls || !sep) throw tokenizer_file_error("vocabulary file '" + path + "' lacks [CLS] or [SEP]");
  auto post = post_processor::bert(*cls, *sep);
  return {wordpiece_model(std::move(v), std::move(options), path), added_vocabulary(std::move(specials)), std::move(post),
          pipeline};
}

/// WordPiece tokenizer from a parsed Hugging Face `tokenizer.json` (model type "WordPiece",
/// normalizer BertNormalizer or null, pre_tokenizer BertPreTokenizer). Truncation and
/// padding stored in the file are ignored: pass them in `pipeline`.
inline wordpiece_tokenizer load_wordpiece(const json_io::node& r, pipeline_options pipeline = {}) {
  const std::string& path = r.file;
  const auto m = r.at("model");
  if (m.at("type").str() != "WordPiece") m.at("type").fail("expected \"WordPiece\"");
  wordpiece_options o;
  o.unk_token = m.at("unk_token").str();
  if (m.has("continuing_subword_prefix")) o.continuing_subword_prefix = m.at("continuing_subword_prefix").str();
  if (m.has("max_input_chars_per_word")) o.max_input_chars_per_word = m.at("max_input_chars_per_word").uint();
  if (r.has("normalizer")) {
    const auto n = r.at("normalizer");
    if (n.at("type").str() != "BertNormalizer") n.at("type").fail("only BertNormalizer is supported");
    o.normalizer.clean_text = n.flag("clean_text", true);
    o.normalizer.handle_chinese_chars = n.flag("handle_chinese_chars", true);
    o.normalizer.lowercase = n.flag("lowercase", true);
    if (n.has("strip_accents")) o.normalizer.strip_accents = n.at("strip_accents").boolean();
  } else {
    o.normalizer = {false, false, false, false};
  }
  if (r.has("pre_tokenizer") && r.at("pre_tokenizer").at("type").str() != "BertPreTokenizer")
    r.at("pre_tokenizer").at("type").fail("only BertPreTokenizer is supported");
  vocabulary v = json_io::vocab_object(m.at("vocab"));
  return {wordpiece_model(std::move(v), std::move(o), path), json_io::added_tokens(r), json_io::post_processing(r),
          pipeline};
}

/// WordPiece tokenizer from a Hugging Face `tokenizer.json` file (see above).
inline wordpiece_tokenizer load_wordpiece(const std::string& path, pipeline_options pipeline = {}) {
  const auto j = json_io::parse_file(path);
  return load_wordpiece(json_io::root(j, path), pipeline);
}

}  // namespace ptp::text
