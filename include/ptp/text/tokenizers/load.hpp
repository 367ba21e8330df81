/// @file load.hpp
/// A checkpoint's tokenizer, whatever its model: `load_tokenizer(dir)` reads tokenizer.json
/// once and dispatches on its `model.type` (WordPiece, BPE, Unigram), else reads vocab.txt
/// as BERT's WordPiece; it returns the tokenizer with the ids of the special tokens a
/// training loop needs (padding, masking, the template's boundaries, the unknown token).
///
/// @code
/// auto t = ptp::text::load_tokenizer("all-MiniLM-L6-v2");
/// auto e = t.tokenizer.encode("A premise.", "A hypothesis.");   // [CLS] … [SEP] … [SEP]
/// std::uint32_t mask = t.special.mask.value();                   // 103
/// @endcode
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "ptp/text/tokenizers/bpe.hpp"
#include "ptp/text/tokenizers/concepts.hpp"
#include "ptp/text/tokenizers/encoding.hpp"
#include "ptp/text/tokenizers/tokenizer_json.hpp"
#include "ptp/text/tokenizers/unigram.hpp"
#include "ptp/text/tokenizers/wordpiece.hpp"

namespace ptp::text {

/// One of the library's tokenizers, chosen at run time; a Tokenizer itself.
class any_tokenizer {
 public:
  using variant = std::variant<wordpiece_tokenizer, bpe_tokenizer, unigram_tokenizer>;

  template <class T>
    requires(!std::is_same_v<std::remove_cvref_t<T>, any_tokenizer> && std::is_constructible_v<variant, T&&>)
  any_tokenizer(T&& t) : v_(std::forward<T>(t)) {}  // NOLINT(google-explicit-constructor): a tokenizer is one

  [[nodiscard]] encoding encode(std::string_view a) const {
    return std::visit([&](const auto& t) { return t.encode(a); }, v_);
  }
  [[nodiscard]] encoding encode(std::string_view a, std::string_view b) const {
    return std::visit([&](const auto& t) { return t.encode(a, b); }, v_);
  }
  [[nodiscard]] encoding encode(std::string_view a, const pipeline_options& o) const {
    return std::visit([&](const auto& t) { return t.encode(a, o); }, v_);
  }
  [[nodiscard]] encoding encode(std::string_view a, std::string_view b, const pipeline_options& o) const {
    return std::visit([&](const auto& t) { return t.encode(a, b, o); }, v_);
  }
  [[nodiscard]] std::optional<std::uint32_t> token_to_id(std::string_view token) const {
    return std::visit([&](const auto& t) { return t.token_to_id(token); }, v_);
  }
  [[nodiscard]] std::optional<std::string> id_to_token(std::uint32_t id) const {
    return std::visit([&](const auto& t) { return t.id_to_token(id); }, v_);
  }
  [[nodiscard]] std::size_t vocab_size() const {
    return std::visit([](const auto& t) { return t.vocab_size(); }, v_);
  }
  [[nodiscard]] const pipeline_options& options() const noexcept {
    return std::visit([](const auto& t) -> const pipeline_options& { return t.options(); }, v_);
  }
  pipeline_options& options() noexcept {
    return std::visit([](auto& t) -> pipeline_options& { return t.options(); }, v_);
  }
  [[nodiscard]] const added_vocabulary& added() const noexcept {
    return std::visit([](const auto& t) -> const added_vocabulary& { return t.added(); }, v_);
  }
  /// Byte-level BPE: a word after the first carries its leading space ("Ġword"), so a piece
  /// of text encoded alone must be given that space to tokenise as it does in a sentence.
  [[nodiscard]] bool byte_level() const noexcept { return std::holds_alternative<bpe_tokenizer>(v_); }
  /// The concrete tokenizer.
  [[nodiscard]] const variant& get() const noexcept { return v_; }

 private:
  variant v_;
};

static_assert(Tokenizer<any_tokenizer>);

/// Ids of the special tokens, those the tokenizer has. BERT spells them [CLS] [SEP] [PAD]
/// [MASK] [UNK]; RoBERTa and MPNet <s> </s> <pad> <mask> <unk>, where <s> is also the BOS
/// and </s> the EOS token.
struct special_token_ids {
  std::optional<std::uint32_t> cls;   ///< [CLS] or <s> (BOS): opens the template
  std::optional<std::uint32_t> sep;   ///< [SEP] or </s> (EOS): closes each sequence
  std::optional<std::uint32_t> pad;   ///< [PAD] or <pad>: fills batches
  std::optional<std::uint32_t> mask;  ///< [MASK] or <mask>: masked-LM heads, masking perturbations
  std::optional<std::uint32_t> unk;   ///< the model's unknown token
};

/// What load_tokenizer read.
struct loaded_tokenizer {
  any_tokenizer tokenizer;
  special_token_ids special;
  std::filesystem::path file;  ///< the tokenizer.json or vocab.txt it came from
};

namespace detail {
/// The first of `names` the tokenizer has. A vocabulary may hold both spellings (MPNet's
/// keeps BERT's [CLS] … but its template uses <s> …), so the tokenizer's own special
/// added tokens are searched first, the whole vocabulary after.
inline std::optional<std::uint32_t> first_special(const any_tokenizer& t, std::initializer_list<std::string_view> names) {
  for (const auto n : names)
    for (const auto& a : t.added().tokens())
      if (a.special && a.content == n) return a.id;
  for (const auto n : names)
    if (auto id = t.token_to_id(n)) return id;
  return std::nullopt;
}

inline loaded_tokenizer with_specials(any_tokenizer t, std::optional<std::uint32_t> unk, std::filesystem::path file) {
  const special_token_ids s{.cls = first_special(t, {"[CLS]", "<s>"}),
                            .sep = first_special(t, {"[SEP]", "</s>"}),
                            .pad = first_special(t, {"[PAD]", "<pad>"}),
                            .mask = first_special(t, {"[MASK]", "<mask>"}),
                            .unk = unk};
  return {std::move(t), s, std::move(file)};
}
}  // namespace detail

/// Reads the tokenizer of a checkpoint folder: `dir`/tokenizer.json (parsed once; model.type
/// WordPiece, BPE or Unigram), else `dir`/vocab.txt (BERT's WordPiece, lower-cased).
/// `pipeline` sets truncation, the offset unit and whether special tokens are added.
/// @throws tokenizer_file_error naming the file, and the field for a malformed tokenizer.json
///   (an unsupported model.type included); naming the folder when it has neither file.
inline loaded_tokenizer load_tokenizer(const std::filesystem::path& dir, pipeline_options pipeline = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path json = dir / "tokenizer.json", vocab = dir / "vocab.txt";
  if (fs::is_regular_file(json, ec)) {
    const std::string file = json.string();
    const auto j = json_io::parse_file(file);
    const auto r = json_io::root(j, file);
    const auto model = r.at("model");
    const std::string type = model.at("type").str();
    if (type == "WordPiece") {
      any_tokenizer t = load_wordpiece(r, pipeline);
      const auto unk = t.token_to_id(model.at("unk_token").str());
      return detail::with_specials(std::move(t), unk, json);
    }
    if (type == "BPE") {
      any_tokenizer t = load_bpe(r, pipeline);
      const auto unk = model.has("unk_token") ? t.token_to_id(model.at("unk_token").str()) : std::nullopt;
      return detail::with_specials(std::move(t), unk, json);
    }
    if (type == "Unigram") return detail::with_specials(load_unigram(r, pipeline), model.at("unk_id").id(), json);
    model.at("type").fail("unsupported tokenizer model '" + type + "' (expected WordPiece, BPE or Unigram)");
  }
  if (fs::is_regular_file(vocab, ec)) {
    any_tokenizer t = load_wordpiece_vocab(vocab.string(), {}, pipeline);
    const auto unk = t.token_to_id(wordpiece_options{}.unk_token);
    return detail::with_specials(std::move(t), unk, vocab);
  }
  throw tokenizer_file_error("no tokenizer.json or vocab.txt in '" + dir.string() +
                             "' (a SentencePiece-only checkpoint such as ALBERT's: save tokenizer.json with "
                             "transformers first)");
}

}  // namespace ptp::text
