// Fuzz target: encoding arbitrary bytes with fixed, small, valid tokenizers (WordPiece
// uncased and cased, byte-level BPE, Unigram) built in memory.
//   byte 0: bits 0-1 tokenizer, bit 2 pair, bit 3 byte offsets, bit 4 truncation,
//           bit 5 truncate on the left, bit 6 no special tokens
//   byte 1: max_length (low 4 bits) and, for pairs, where the rest is cut into a and b
//   rest:   the text(s)
// Contract under test: ill-formed UTF-8 gives ptp::text::invalid_utf8 and nothing else;
// well-formed text never throws and its encoding keeps every invariant (tokenizer_checks.hpp).
#include <ptp/text/tokenizers/bpe.hpp>
#include <ptp/text/tokenizers/unigram.hpp>
#include <ptp/text/tokenizers/wordpiece.hpp>

#include "common.hpp"
#include "tokenizer_checks.hpp"

namespace {
using namespace ptp::text;

vocabulary make_vocab(std::initializer_list<const char*> tokens) {
  vocabulary v;
  std::uint32_t id = 0;
  for (const char* t : tokens) v.insert(t, id++);
  return v;
}

wordpiece_tokenizer make_wordpiece(bool cased) {
  auto v = make_vocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "##ing", ",", "!", ".",
                       "'", "a", "b", "c", "##a", "##b", "##c", "caf", "##e", "\xC3\xA9", "##\xC3\xA9", "\xE6\x97\xA5",
                       "Hello", "run", "##n", "1", "##2", "x"});
  wordpiece_options o;
  o.max_input_chars_per_word = 12;
  if (cased) o.normalizer = {true, true, false, false};
  added_vocabulary added({{"[PAD]", 0, true, false, false},
                          {"[UNK]", 1, true, false, false},
                          {"[CLS]", 2, true, false, false},
                          {"[SEP]", 3, true, false, false},
                          {"[MASK]", 4, true, true, true}});
  return {wordpiece_model(std::move(v), o), std::move(added), post_processor::bert(2, 3)};
}

bpe_tokenizer make_bpe() {
  vocabulary v;
  std::uint32_t id = 0;
  for (const char* t : {"<s>", "<pad>", "</s>", "<unk>", "<mask>"}) v.insert(t, id++);
  const auto& map = byte_to_unicode();
  for (unsigned b = 0; b < 256; ++b) v.insert(utf8::encode(map[b]), id++);
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"\xC4\xA0", "h"}, {"\xC4\xA0h", "e"}, {"l", "l"}, {"\xC4\xA0he", "ll"}, {"\xC4\xA0hell", "o"},
      {"o", "r"},        {"w", "or"},        {"l", "d"}, {"wor", "ld"},       {"\xC4\xA0", "wor"},
      {"\xC4\xA0", "\xC4\xA0"}};
  for (const auto& [a, b] : merges) v.insert(a + b, id++);
  bpe_options o;
  o.add_prefix_space = true;
  o.cache_capacity = 64;
  added_vocabulary added({{"<s>", 0, true, false, false},
                          {"<pad>", 1, true, false, false},
                          {"</s>", 2, true, false, false},
                          {"<unk>", 3, true, false, false},
                          {"<mask>", 4, true, true, false}});
  return {bpe_model(std::move(v), merges, o), std::move(added), post_processor::roberta(0, 2)};
}

unigram_tokenizer make_unigram() {
  std::vector<unigram_piece> pieces = {{"<pad>", 0},        {"<unk>", 0},      {"[CLS]", 0},    {"[SEP]", 0},
                                       {"\xE2\x96\x81", -2}, {"\xE2\x96\x81hello", -5}, {"\xE2\x96\x81world", -6},
                                       {"h", -4},            {"e", -3},         {"l", -3},       {"o", -3},
                                       {"ll", -4.5},         {"\xE2\x96\x81w", -5}, {"or", -4},  {"ld", -4},
                                       {"\xC3\xA9", -6},     {"\xE6\x97\xA5", -7}, {",", -3},    {".", -3}};
  unigram_options o;
  added_vocabulary added({{"[CLS]", 2, true, false, false}, {"[SEP]", 3, true, false, true}});
  return {unigram_model(std::move(pieces), 1, o), std::move(added), post_processor::bert(2, 3)};
}

template <class Tok>
void run(Tok& tok, std::uint8_t flags, std::uint8_t arg, std::string_view rest) {
  auto& opt = tok.options();
  opt = {};
  opt.offsets = flags & 8 ? offset_unit::bytes : offset_unit::chars;
  if (flags & 16) opt.truncation.max_length = arg & 15;
  opt.truncation.side = flags & 32 ? truncation_side::left : truncation_side::right;
  opt.add_special_tokens = !(flags & 64);
  const bool pair = flags & 4;
  const std::size_t cut = pair ? rest.size() * (arg >> 4) / 16 : rest.size();
  const std::string_view a = rest.substr(0, cut), b = pair ? rest.substr(cut) : std::string_view{};
  const bool valid = ptp_fuzz::valid_utf8(a) && ptp_fuzz::valid_utf8(b);
  try {
    std::vector<encoding> batch;
    batch.push_back(pair ? tok.encode(a, b) : tok.encode(a));
    if (!valid) ptp_fuzz::finding("ill-formed UTF-8 was accepted");
    ptp_fuzz::check_encoding(batch.back(), a, b, pair, opt, tok.vocab_size());
    batch.push_back(tok.encode("hello"));
    pad_batch(batch, {.length = 0, .pad_to_multiple_of = 8, .pad_id = 0});
    if (batch[0].size() != batch[1].size() || batch[0].size() % 8 != 0) ptp_fuzz::finding("padding to a multiple of 8");
  } catch (const invalid_utf8& e) {
    ptp_fuzz::expected(e);
    if (valid) ptp_fuzz::finding(std::string("well-formed UTF-8 rejected: ") + e.what());
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto wp = make_wordpiece(false);
  static auto wp_cased = make_wordpiece(true);
  static auto bpe = make_bpe();
  static auto uni = make_unigram();
  if (size < 2) return 0;
  const std::string_view rest = ptp_fuzz::text(data + 2, size - 2);
  switch (data[0] & 3) {
    case 0: run(wp, data[0], data[1], rest); break;
    case 1: run(bpe, data[0], data[1], rest); break;
    case 2: run(uni, data[0], data[1], rest); break;
    default: run(wp_cased, data[0], data[1], rest); break;
  }
  return 0;
}
