// fuzz/tokenizer_checks.hpp — what the tokenizer targets do with a tokenizer that loaded:
// encode fixed texts (single, pair, truncated, both offset units) and check the encoding's
// invariants. Any violation is a finding.
#pragma once

#include <string>
#include <string_view>

#include <ptp/text/tokenizers/encoding.hpp>

#include "common.hpp"

namespace ptp_fuzz {

/// Invariants of an encoding of `a` (and `b`) made with `opt`.
inline void check_encoding(const ptp::text::encoding& e, std::string_view a, std::string_view b, bool pair,
                           const ptp::text::pipeline_options& opt, std::size_t vocab_size) {
  const std::size_t n = e.ids.size();
  if (e.type_ids.size() != n || e.attention_mask.size() != n || e.special_tokens_mask.size() != n ||
      e.offsets.size() != n || e.word_ids.size() != n || e.sequence_ids.size() != n)
    finding("encoding fields of different lengths");
  const bool chars = opt.offsets == ptp::text::offset_unit::chars;
  const std::size_t len_a = chars ? code_points(a) : a.size();
  const std::size_t len_b = chars ? code_points(b) : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (e.ids[i] >= vocab_size) finding("id " + std::to_string(e.ids[i]) + " >= vocab_size " + std::to_string(vocab_size));
    const auto [begin, end] = e.offsets[i];
    if (begin > end) finding("offsets reversed");
    const std::int32_t seq = e.sequence_ids[i];
    if (seq == 0 && end > len_a) finding("offset past the end of text a");
    if (seq == 1 && (!pair || end > len_b)) finding("offset past the end of text b");
    if (seq < -1 || seq > 1) finding("bad sequence id");
  }
  const std::size_t max = opt.truncation.max_length;
  // Truncation cuts the texts, not the special tokens: the bound holds when max leaves room.
  std::size_t specials = 0;
  for (auto s : e.special_tokens_mask) specials += s;
  if (max != 0 && max >= specials && n > max) finding("truncated encoding longer than max_length");
}

/// Encodes a few fixed texts with `tok` in several configurations; checks every result.
template <class Tokenizer>
void exercise_tokenizer(Tokenizer& tok) {
  static constexpr std::string_view texts[] = {
      "Hello, world! Don't stop.",
      "  caf\xC3\xA9  na\xC3\xAFve\tR\xC3\xA9sum\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E 123,45 \xF0\x9F\x98\x80!!",
      "[CLS] <s> [MASK] </s> <mask> [SEP] [UNK] <unk> \xE2\x96\x81x",
      "",
  };
  const std::size_t vocab = tok.vocab_size();
  for (auto unit : {ptp::text::offset_unit::chars, ptp::text::offset_unit::bytes}) {
    for (std::size_t max : {std::size_t{0}, std::size_t{7}}) {
      auto& opt = tok.options();
      opt.offsets = unit;
      opt.truncation.max_length = max;
      opt.truncation.side = max ? ptp::text::truncation_side::left : ptp::text::truncation_side::right;
      for (auto t : texts) check_encoding(tok.encode(t), t, {}, false, opt, vocab);
      check_encoding(tok.encode(texts[0], texts[1]), texts[0], texts[1], true, opt, vocab);
      check_encoding(tok.encode(texts[2], texts[3]), texts[2], texts[3], true, opt, vocab);
    }
  }
  tok.options() = {};
  for (std::uint32_t id = 0; id < 8; ++id) (void)tok.id_to_token(id);
  (void)tok.token_to_id("[UNK]");
}

}  // namespace ptp_fuzz
