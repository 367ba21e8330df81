// Unit tests of ptp's tokenizers on tiny hand-made vocabularies: UTF-8 handling, empty and
// very long input, truncation/padding, error messages naming the file, the GPT-2 split.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "ptp/text/tokenizers/bpe.hpp"
#include "ptp/text/tokenizers/concepts.hpp"
#include "ptp/text/tokenizers/unigram.hpp"
#include "ptp/text/tokenizers/wordpiece.hpp"

namespace fs = std::filesystem;
using namespace ptp::text;

static_assert(Tokenizer<wordpiece_tokenizer>);
static_assert(Tokenizer<bpe_tokenizer>);
static_assert(Tokenizer<unigram_tokenizer>);

namespace {

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("ptp_tok_unit_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

fs::path write(const std::string& name, const std::string& content) {
  const fs::path p = temp_dir() / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

wordpiece_tokenizer tiny_bert() {
  const auto p = write("vocab.txt",
                       "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n,\n!\nun\n##aff\n##able\ncafe\n##s\na\n##a\nb\n");
  return load_wordpiece_vocab(p.string());
}

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no exception";
}

}  // namespace

TEST_CASE("UTF-8 decoding validates and reports the byte offset", "[text][tokenizers]") {
  std::size_t pos = 0;
  CHECK(utf8::decode("é", pos) == U'é');
  CHECK(pos == 2);
  for (char32_t cp : {U'\u0041', U'\u00e9', U'\u20ac', U'\U0001F600'}) {
    const std::string s = utf8::encode(cp);
    std::size_t p = 0;
    CHECK(utf8::decode(s, p) == cp);
    CHECK(p == s.size());
  }
  const std::string bad = std::string("abc") + '\xff' + "def";
  try {
    utf8::validate(bad);
    FAIL("no exception");
  } catch (const invalid_utf8& e) {
    CHECK(e.offset() == 3);
    CHECK(std::string(e.what()).find("byte offset 3") != std::string::npos);
  }
  CHECK_THROWS_AS(utf8::validate("\xc3"), invalid_utf8);          // truncated
  CHECK_THROWS_AS(utf8::validate("\xc0\xaf"), invalid_utf8);      // overlong '/'
  CHECK_THROWS_AS(utf8::validate("\xed\xa0\x80"), invalid_utf8);  // surrogate
  CHECK_THROWS_AS(utf8::validate("\xf4\x90\x80\x80"), invalid_utf8);  // > U+10FFFF
  CHECK_THROWS_AS(tiny_bert().encode(bad), std::invalid_argument);
}

TEST_CASE("Unicode properties used by BERT", "[text][tokenizers]") {
  CHECK(is_bert_punctuation(U'$'));
  CHECK(is_bert_punctuation(U'~'));
  CHECK(is_bert_punctuation(U'¿'));
  CHECK_FALSE(is_bert_punctuation(U'€'));  // Sc outside ASCII is not punctuation
  CHECK(is_bert_control(U'\u200b'));  // ZWSP is Cf: removed by clean_text
}

TEST_CASE("WordPiece basics: greedy longest match, ##, [UNK], accents, CJK", "[text][tokenizers]") {
  auto tok = tiny_bert();
  const auto e = tok.encode("Hello, unaffable CAFÉS!");
  // [CLS] hello , un ##aff ##able cafe ##s ! [SEP]
  CHECK(e.ids == std::vector<std::uint32_t>{2, 5, 7, 9, 10, 11, 12, 13, 8, 3});
  CHECK(e.word_ids == std::vector<std::int32_t>{-1, 0, 1, 2, 2, 2, 3, 3, 4, -1});
  CHECK(e.offsets[6] == std::pair<std::size_t, std::size_t>{17, 21});  // "CAFÉ" in chars
  tok.options().offsets = offset_unit::bytes;
  CHECK(tok.encode("Hello, unaffable CAFÉS!").offsets[7] == std::pair<std::size_t, std::size_t>{22, 23});  // "S" after the 2-byte "É"
  CHECK(tok.encode("xyz").ids == std::vector<std::uint32_t>{2, 1, 3});
  CHECK(tok.encode("a" + std::string(100, 'a')).ids == std::vector<std::uint32_t>{2, 1, 3});  // > 100 chars → [UNK]
  CHECK(tok.encode(std::string(100, 'a')).size() == 2 + 100);
  CHECK(tok.encode("中b").ids == std::vector<std::uint32_t>{2, 1, 16, 3});
}

TEST_CASE("Empty text gives only the special tokens", "[text][tokenizers]") {
  auto tok = tiny_bert();
  CHECK(tok.encode("").ids == std::vector<std::uint32_t>{2, 3});
  const auto p = tok.encode("", "");
  CHECK(p.ids == std::vector<std::uint32_t>{2, 3, 3});
  CHECK(p.type_ids == std::vector<std::uint32_t>{0, 0, 1});
  CHECK(tok.encode("   \t\n").ids == std::vector<std::uint32_t>{2, 3});
}

TEST_CASE("Special tokens in text are kept whole", "[text][tokenizers]") {
  auto tok = tiny_bert();
  const auto e = tok.encode("hello [MASK] world");
  CHECK(e.ids == std::vector<std::uint32_t>{2, 5, 4, 6, 3});
  CHECK(e.special_tokens_mask == std::vector<std::uint8_t>{1, 0, 0, 0, 1});
}

TEST_CASE("Very long text: truncation and linear time", "[text][tokenizers]") {
  auto tok = tiny_bert();
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "hello world, ";
  text += std::string(100000, 'a');  // one huge word → [UNK] without quadratic search
  const auto t0 = std::chrono::steady_clock::now();
  const auto full = tok.encode(text);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(full.size() == 2 + 3 * 200000 + 1);
  CHECK(secs < 10.0);
  tok.options().truncation.max_length = 128;
  const auto cut = tok.encode(text);
  CHECK(cut.size() == 128);
  CHECK(cut.ids.front() == 2);
  CHECK(cut.ids.back() == 3);
  const auto pair = tok.encode(text, "hello world");
  CHECK(pair.size() == 128);
  CHECK(pair.ids[128 - 4] == 3);  // … [SEP] hello world [SEP]: the short text is kept whole
}

TEST_CASE("longest_first truncation follows HF", "[text][tokenizers]") {
  using detail::longest_first;
  CHECK(longest_first(10, 3, 20) == std::pair<std::size_t, std::size_t>{10, 3});
  CHECK(longest_first(30, 3, 20) == std::pair<std::size_t, std::size_t>{17, 3});
  CHECK(longest_first(3, 30, 20) == std::pair<std::size_t, std::size_t>{3, 17});
  CHECK(longest_first(30, 30, 21) == std::pair<std::size_t, std::size_t>{10, 11});
  CHECK(longest_first(30, 40, 21) == std::pair<std::size_t, std::size_t>{10, 11});
  CHECK(longest_first(40, 30, 21) == std::pair<std::size_t, std::size_t>{11, 10});
}

TEST_CASE("pad_batch pads to the longest with masks", "[text][tokenizers]") {
  auto tok = tiny_bert();
  std::vector<encoding> batch{tok.encode("hello"), tok.encode("hello world !")};
  pad_batch(batch, {.pad_id = 0});
  REQUIRE(batch[0].size() == batch[1].size());
  CHECK(batch[0].ids == std::vector<std::uint32_t>{2, 5, 3, 0, 0});
  CHECK(batch[0].attention_mask == std::vector<std::uint8_t>{1, 1, 1, 0, 0});
  CHECK(batch[0].word_ids.back() == -1);
  pad_batch(batch, {.pad_to_multiple_of = 8, .left = true});
  CHECK(batch[1].size() == 8);
  CHECK(batch[1].attention_mask.front() == 0);
}

TEST_CASE("Missing or malformed files name the file (and line/field)", "[text][tokenizers]") {
  const std::string missing = (temp_dir() / "no_such_vocab.txt").string();
  CHECK(message_of([&] { (void)load_wordpiece_vocab(missing); }).find("no_such_vocab.txt") != std::string::npos);
  CHECK(message_of([&] { (void)load_wordpiece(missing + ".json"); }).find("no_such_vocab.txt.json") != std::string::npos);
  const auto no_unk = write("no_unk.txt", "[CLS]\n[SEP]\nhello\n");
  CHECK(message_of([&] { (void)load_wordpiece_vocab(no_unk.string()); }).find("no_unk.txt") != std::string::npos);
  const auto bad_utf8 = write("bad_utf8.txt", "[UNK]\n[CLS]\n[SEP]\nab\xff\n");
  const auto m1 = message_of([&] { (void)load_wordpiece_vocab(bad_utf8.string()); });
  CHECK(m1.find("bad_utf8.txt") != std::string::npos);
  CHECK(m1.find("line 4") != std::string::npos);
  const auto bad_json = write("bad.json", "{\"model\": {\"type\": \"WordPiece\", ");
  CHECK(message_of([&] { (void)load_wordpiece(bad_json.string()); }).find("bad.json") != std::string::npos);
  const auto wrong = write("wrong.json", R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": "zero"}, "unk_token": "[UNK]"}})");
  const auto m2 = message_of([&] { (void)load_wordpiece(wrong.string()); });
  CHECK(m2.find("wrong.json") != std::string::npos);
  CHECK(m2.find("model.vocab.[UNK]") != std::string::npos);
  const auto no_type = write("no_type.json", R"({"model": {"vocab": {}}})");
  CHECK(message_of([&] { (void)load_bpe(no_type.string()); }).find("model.type") != std::string::npos);
  const auto vj = write("vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  const auto mt = write("merges.txt", "#version: 0.2\na b\nab\n");
  const auto m3 = message_of([&] { (void)load_bpe_files(vj.string(), mt.string()); });
  CHECK(m3.find("merges.txt") != std::string::npos);
  CHECK(m3.find("line 3") != std::string::npos);
  const auto mt2 = write("merges2.txt", "a c\n");
  CHECK(message_of([&] { (void)load_bpe_files(vj.string(), mt2.string()); }).find("merges2.txt") != std::string::npos);
  CHECK(message_of([&] { (void)load_unigram(wrong.string()); }).find("wrong.json") != std::string::npos);
}

TEST_CASE("GPT-2 pre-tokenisation pattern", "[text][tokenizers]") {
  auto split = [](const std::string& s) {
    std::vector<char32_t> cps;
    for (std::size_t p = 0; p < s.size();) cps.push_back(utf8::decode(s, p));
    std::vector<std::string> out;
    detail::gpt2_split(cps, [&](std::size_t b, std::size_t e) {
      std::string w;
      for (std::size_t i = b; i < e; ++i) utf8::append(w, cps[i]);
      out.push_back(w);
    });
    return out;
  };
  CHECK(split("Hello  world\n\n x 's 'S 12ab") ==
        std::vector<std::string>{"Hello", " ", " world", "\n\n", " x", " '", "s", " '", "S", " 12", "ab"});
  CHECK(split("I'm we'll they're") == std::vector<std::string>{"I", "'m", " we", "'ll", " they", "'re"});
  CHECK(split("naïve café!!  ") == std::vector<std::string>{"naïve", " café", "!!", "  "});
}

TEST_CASE("byte-level BPE merges by rank and trims offsets", "[text][tokenizers]") {
  // Byte alphabet for 'a', 'b', ' ' (Ġ) plus merges.
  const auto vj = write("bpe_vocab.json", R"({"<s>": 0, "</s>": 1, "a": 2, "b": 3, "Ġ": 4, "ab": 5, "Ġab": 6, "aa": 7})");
  const auto mt = write("bpe_merges.txt", "#version: 0.2\na b\nĠ ab\na a\n");
  auto tok = load_bpe_files(vj.string(), mt.string());
  const auto e = tok.encode("ab aab");
  // <s> Ġab Ġ aa b </s>? "aab" → a a b: (a,b) rank 0 beats (a,a) rank 2 → a ab → Ġ a ab … prefix: " aab"
  CHECK(e.ids == std::vector<std::uint32_t>{0, 6, 4, 2, 5, 1});
  CHECK(e.offsets[1] == std::pair<std::size_t, std::size_t>{0, 2});
  CHECK(e.offsets[2] == std::pair<std::size_t, std::size_t>{3, 3});  // 'Ġ' trimmed to empty
  CHECK(tok.encode("").ids == std::vector<std::uint32_t>{0, 1});
  CHECK(tok.encode("x", "y").ids == std::vector<std::uint32_t>{0, 4, 1, 1, 4, 1});  // unknown bytes dropped
}

TEST_CASE("Unigram Viterbi picks the best segmentation and fuses unknowns", "[text][tokenizers]") {
  const auto p = write("unigram.json", R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
    "post_processor": null,
    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁", -2.0], ["▁ab", -3.0], ["a", -2.0],
              ["b", -2.0], ["ab", -2.5], ["▁a", -1.0]]}})");
  auto tok = load_unigram(p.string());
  const auto e = tok.encode("ab xyab");
  // "▁ab": ▁a + b = -3 ties ▁ab = -3 → first found wins (▁ab set first at its end), "▁xyab": ▁ + [xy] + ab
  CHECK(e.ids == std::vector<std::uint32_t>{2, 1, 0, 5});
  CHECK(e.offsets[2] == std::pair<std::size_t, std::size_t>{3, 5});
  CHECK(tok.encode("").size() == 0);
}
