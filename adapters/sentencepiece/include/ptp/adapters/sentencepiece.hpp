/// @file sentencepiece.hpp
/// SentencePiece models (ALBERT's `spiece.model`, T5, XLNet) behind ptp's common tokenizer
/// interface, through Google's libsentencepiece. Not header-only-core: it links the
/// library, hence its own adapter target `ptp::sentencepiece`.
///
/// ALBERT's pre-processing (lower-casing, do_lower_case=True) is applied per code point
/// with offsets kept in the original text; the model's own normaliser (nmt_nfkc,
/// whitespace folding) runs inside SentencePiece, whose piece offsets are mapped back.
///
/// @code
/// auto tok = ptp::adapters::load_sentencepiece("albert-base-v2/spiece.model");
/// auto e = tok.encode("A premise.", "A hypothesis.");   // [CLS] a [SEP] b [SEP]
/// @endcode
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sentencepiece_processor.h>

#include "ptp/text/tokenizers/encoding.hpp"
#include "ptp/text/tokenizers/unicode.hpp"

namespace ptp::adapters {

/// Settings of the SentencePiece adapter (defaults: ALBERT).
struct sentencepiece_options {
  bool lowercase = true;                 ///< ALBERT's do_lower_case
  std::string cls_token = "[CLS]";       ///< template start
  std::string sep_token = "[SEP]";       ///< template separator/end
  std::vector<std::string> special_tokens = {"[CLS]", "[SEP]", "[MASK]", "<pad>", "<unk>"};  ///< matched verbatim in text
};

/// A `Model` for ptp::text::tokenizer backed by a loaded SentencePieceProcessor.
class sentencepiece_model {
 public:
  /// Loads `path`; throws text::tokenizer_file_error naming the file when it cannot.
  sentencepiece_model(const std::string& path, sentencepiece_options options)
      : sp_(std::make_shared<sentencepiece::SentencePieceProcessor>()), options_(std::move(options)) {
    const auto status = sp_->Load(path);
    if (!status.ok())
      throw text::tokenizer_file_error("cannot load SentencePiece model '" + path + "': " + status.ToString());
  }

  [[nodiscard]] std::optional<std::uint32_t> token_to_id(std::string_view t) const {
    const int id = sp_->PieceToId(std::string(t));
    if (id == sp_->unk_id() && t != sp_->IdToPiece(sp_->unk_id())) return std::nullopt;
    return static_cast<std::uint32_t>(id);
  }
  [[nodiscard]] std::optional<std::string> id_to_token(std::uint32_t id) const {
    if (id >= vocab_size()) return std::nullopt;
    return sp_->IdToPiece(static_cast<int>(id));
  }
  [[nodiscard]] std::size_t vocab_size() const { return static_cast<std::size_t>(sp_->GetPieceSize()); }
  [[nodiscard]] const sentencepiece::SentencePieceProcessor& processor() const noexcept { return *sp_; }
  [[nodiscard]] const sentencepiece_options& options() const noexcept { return options_; }

  /// Encodes text[begin, end); a piece starting with '▁' starts a new word.
  void tokenize(std::string_view text, std::size_t begin, std::size_t end, std::int32_t& word,
                std::vector<text::token_piece>& out) const {
    std::string input;
    std::vector<std::uint32_t> ob, oe;  // per byte of `input`: original span
    input.reserve(end - begin);
    std::size_t pos = begin;
    while (pos < end) {
      const auto b = static_cast<std::uint32_t>(pos);
      const char32_t c = text::utf8::decode_unchecked(text, pos);
      const auto e = static_cast<std::uint32_t>(pos);
      auto put = [&](char32_t x) {
        const std::size_t before = input.size();
        text::utf8::append(input, x);
        ob.insert(ob.end(), input.size() - before, b);
        oe.insert(oe.end(), input.size() - before, e);
      };
      if (options_.lowercase) {
        text::to_lower(c, put);
      } else {
        put(c);
      }
    }
    const auto proto = sp_->EncodeAsImmutableProto(input);
    bool first = true;
    for (const auto& p : proto.pieces()) {
      const std::string& piece = p.piece();
      if (first || piece.starts_with("\xE2\x96\x81")) ++word;  // `word` is the next free index
      first = false;
      std::uint32_t b = 0, e = 0;
      if (p.end() > p.begin()) {
        b = ob[p.begin()];
        e = oe[p.end() - 1];
      } else if (p.begin() < ob.size()) {
        b = e = ob[p.begin()];
      } else {
        b = e = static_cast<std::uint32_t>(end);
      }
      out.push_back({static_cast<std::uint32_t>(p.id()), b, e, word - 1});
    }
  }

 private:
  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  sentencepiece_options options_;
};

/// A SentencePiece tokenizer with ptp's common interface (ptp::text::Tokenizer).
using sentencepiece_tokenizer = text::tokenizer<sentencepiece_model>;

/// Loads an ALBERT-style `spiece.model`: [CLS] a [SEP] b [SEP] (b's part type id 1), the
/// special tokens present in the model matched verbatim in text.
inline sentencepiece_tokenizer load_sentencepiece(const std::string& path, sentencepiece_options options = {},
                                                  text::pipeline_options pipeline = {}) {
  sentencepiece_model model(path, options);
  std::vector<text::added_token> added;
  for (const auto& t : options.special_tokens)
    if (auto id = model.token_to_id(t)) added.push_back({t, *id, true, false, false});
  const auto cls = model.token_to_id(options.cls_token), sep = model.token_to_id(options.sep_token);
  if (!cls || !sep)
    throw text::tokenizer_file_error("SentencePiece model '" + path + "' lacks '" + options.cls_token + "' or '" +
                                     options.sep_token + "'");
  auto post = text::post_processor::bert(*cls, *sep);
  return {std::move(model), text::added_vocabulary(std::move(added)), std::move(post), pipeline};
}

}  // namespace ptp::adapters
