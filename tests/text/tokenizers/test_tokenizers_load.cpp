// ptp::text::load_tokenizer on tiny hand-made files: dispatch on tokenizer.json's model.type
// (WordPiece, BPE, Unigram), the vocab.txt fallback, the special-token ids, per-call options
// and the error messages (folder, file and field named). On the real checkpoints:
// test_tokenizers_parity.cpp.
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "ptp/text/tokenizers/load.hpp"

namespace fs = std::filesystem;
using namespace ptp::text;

namespace {

/// A fresh folder per case under the process's temp folder.
fs::path folder(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("ptp_tok_load_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

fs::path write(const fs::path& dir, const std::string& name, const std::string& content) {
  std::ofstream(dir / name, std::ios::binary) << content;
  return dir / name;
}

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const tokenizer_file_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a tokenizer_file_error: ") + e.what();
  }
  return "no exception";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void check_special(const special_token_ids& s, std::uint32_t cls, std::uint32_t sep, std::uint32_t pad, std::uint32_t mask,
                   std::uint32_t unk) {
  CHECK(s.cls == cls);
  CHECK(s.sep == sep);
  CHECK(s.pad == pad);
  CHECK(s.mask == mask);
  CHECK(s.unk == unk);
}

// A BERT-like tokenizer.json whose vocabulary also holds RoBERTa's spellings; its template
// and special added tokens are BERT's, so those are the special ids (MPNet's case, mirrored).
const char* wordpiece_json = R"({
  "added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 1, "content": "[UNK]", "special": true},
                   {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true},
                   {"id": 4, "content": "[MASK]", "special": true}],
  "normalizer": {"type": "BertNormalizer", "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2], "sep": ["[SEP]", 3]},
  "model": {"type": "WordPiece", "unk_token": "[UNK]",
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "<s>": 5, "</s>": 6,
                      "hello": 7, "world": 8, "##s": 9}}})";

const char* bpe_json = R"({
  "added_tokens": [{"id": 0, "content": "<s>", "special": true}, {"id": 1, "content": "<pad>", "special": true},
                   {"id": 2, "content": "</s>", "special": true}, {"id": 3, "content": "<unk>", "special": true},
                   {"id": 4, "content": "<mask>", "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true, "use_regex": true},
  "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]},
  "model": {"type": "BPE", "unk_token": "<unk>",
            "vocab": {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4, "a": 5, "b": 6, "Ġ": 7, "ab": 8, "Ġab": 9},
            "merges": ["a b", "Ġ ab"]}})";

const char* unigram_json = R"({
  "added_tokens": [{"id": 0, "content": "<pad>", "special": true}, {"id": 1, "content": "<unk>", "special": true},
                   {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true},
                   {"id": 4, "content": "[MASK]", "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
  "post_processor": {"type": "TemplateProcessing",
                     "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                     "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                              {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                              {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                     "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                        "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
  "model": {"type": "Unigram", "unk_id": 1,
            "vocab": [["<pad>", 0.0], ["<unk>", 0.0], ["[CLS]", 0.0], ["[SEP]", 0.0], ["[MASK]", 0.0],
                      ["▁", -2.0], ["▁ab", -1.0], ["a", -2.0], ["b", -2.0]]}})";

const char* bert_vocab_txt = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n";

}  // namespace

TEST_CASE("load_tokenizer dispatches on model.type: WordPiece", "[text][tokenizers][load]") {
  const auto dir = folder("wordpiece");
  write(dir, "tokenizer.json", wordpiece_json);
  const auto t = load_tokenizer(dir);
  CHECK(std::holds_alternative<wordpiece_tokenizer>(t.tokenizer.get()));
  CHECK_FALSE(t.tokenizer.byte_level());
  CHECK(t.file == dir / "tokenizer.json");
  CHECK(t.tokenizer.encode("Hello worlds").ids == std::vector<std::uint32_t>{2, 7, 8, 9, 3});
  CHECK(t.tokenizer.encode("hello", "world").ids == std::vector<std::uint32_t>{2, 7, 3, 8, 3});
  check_special(t.special, 2, 3, 0, 4, 1);  // the template's [CLS]/[SEP], not the vocabulary's <s>/</s>
}

TEST_CASE("load_tokenizer dispatches on model.type: byte-level BPE", "[text][tokenizers][load]") {
  const auto dir = folder("bpe");
  write(dir, "tokenizer.json", bpe_json);
  const auto t = load_tokenizer(dir);
  CHECK(std::holds_alternative<bpe_tokenizer>(t.tokenizer.get()));
  CHECK(t.tokenizer.byte_level());
  CHECK(t.tokenizer.encode("ab ab").ids == std::vector<std::uint32_t>{0, 9, 9, 2});
  check_special(t.special, 0, 2, 1, 4, 3);
}

TEST_CASE("load_tokenizer dispatches on model.type: Unigram", "[text][tokenizers][load]") {
  const auto dir = folder("unigram");
  write(dir, "tokenizer.json", unigram_json);
  const auto t = load_tokenizer(dir);
  CHECK(std::holds_alternative<unigram_tokenizer>(t.tokenizer.get()));
  CHECK_FALSE(t.tokenizer.byte_level());
  CHECK(t.tokenizer.encode("ab").ids == std::vector<std::uint32_t>{2, 6, 3});
  check_special(t.special, 2, 3, 0, 4, 1);  // unk: the model's unk_id
}

TEST_CASE("load_tokenizer falls back to vocab.txt, and prefers tokenizer.json", "[text][tokenizers][load]") {
  const auto dir = folder("vocab_txt");
  write(dir, "vocab.txt", bert_vocab_txt);
  const auto t = load_tokenizer(dir);
  CHECK(std::holds_alternative<wordpiece_tokenizer>(t.tokenizer.get()));
  CHECK(t.file == dir / "vocab.txt");
  CHECK(t.tokenizer.encode("Hello worlds").ids == std::vector<std::uint32_t>{2, 5, 6, 7, 3});
  check_special(t.special, 2, 3, 0, 4, 1);
  // with both files, tokenizer.json is the one read (its ids differ from vocab.txt's)
  write(dir, "tokenizer.json", wordpiece_json);
  const auto both = load_tokenizer(dir);
  CHECK(both.file == dir / "tokenizer.json");
  CHECK(both.tokenizer.encode("hello").ids == std::vector<std::uint32_t>{2, 7, 3});
}

TEST_CASE("load_tokenizer: a special token the tokenizer lacks is empty", "[text][tokenizers][load]") {
  const auto dir = folder("no_mask");
  write(dir, "vocab.txt", "[UNK]\n[CLS]\n[SEP]\nhello\n");
  const auto t = load_tokenizer(dir);
  CHECK_FALSE(t.special.mask.has_value());
  CHECK_FALSE(t.special.pad.has_value());
  CHECK(t.special.cls == 1u);
}

TEST_CASE("load_tokenizer: pipeline options, and encode under per-call options", "[text][tokenizers][load]") {
  const auto dir = folder("options");
  write(dir, "tokenizer.json", wordpiece_json);
  const pipeline_options truncated{.truncation = {.max_length = 3}, .offsets = offset_unit::bytes};
  const auto t = load_tokenizer(dir, truncated);
  CHECK(t.tokenizer.encode("hello world hello").ids == std::vector<std::uint32_t>{2, 7, 3});
  // one vocabulary, another pipeline per call: bare pieces without special tokens or truncation
  const pipeline_options plain{.offsets = offset_unit::bytes, .add_special_tokens = false};
  const auto e = t.tokenizer.encode("hello world hello", plain);
  CHECK(e.ids == std::vector<std::uint32_t>{7, 8, 7});
  CHECK(e.offsets[1] == std::pair<std::size_t, std::size_t>{6, 11});
  CHECK(t.tokenizer.encode("hello", "worlds", plain).ids == std::vector<std::uint32_t>{7, 8, 9});
  CHECK(t.tokenizer.options().truncation.max_length == 3);  // the stored options are untouched
}

TEST_CASE("load_tokenizer's errors name the folder, the file and the field", "[text][tokenizers][load]") {
  const auto empty = folder("empty");
  const auto m1 = message_of([&] { (void)load_tokenizer(empty); });
  CHECK(contains(m1, empty.string()));
  CHECK(contains(m1, "no tokenizer.json or vocab.txt"));
  const auto nowhere = empty / "no_such_folder";
  CHECK(contains(message_of([&] { (void)load_tokenizer(nowhere); }), nowhere.string()));

  const auto bad = folder("bad_json");
  const auto bad_file = write(bad, "tokenizer.json", R"({"model": {"type": "WordPiece", )");
  const auto m2 = message_of([&] { (void)load_tokenizer(bad); });
  CHECK(contains(m2, bad_file.string()));
  CHECK(contains(m2, "malformed JSON"));

  const auto unknown = folder("unknown_type");
  const auto unknown_file = write(unknown, "tokenizer.json", R"({"model": {"type": "WordLevel", "vocab": {}}})");
  const auto m3 = message_of([&] { (void)load_tokenizer(unknown); });
  CHECK(contains(m3, unknown_file.string()));
  CHECK(contains(m3, "field 'model.type'"));
  CHECK(contains(m3, "unsupported tokenizer model 'WordLevel'"));

  const auto untyped = folder("no_type");
  write(untyped, "tokenizer.json", R"({"model": {"vocab": {}}})");
  const auto m4 = message_of([&] { (void)load_tokenizer(untyped); });
  CHECK(contains(m4, "field 'model.type': missing"));

  const auto no_model = folder("no_model");
  write(no_model, "tokenizer.json", R"({"added_tokens": []})");
  CHECK(contains(message_of([&] { (void)load_tokenizer(no_model); }), "field 'model': missing"));

  // a field of the dispatched model's own loader
  const auto wrong = folder("wrong_vocab");
  write(wrong, "tokenizer.json", R"({"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": "zero"}}})");
  CHECK(contains(message_of([&] { (void)load_tokenizer(wrong); }), "model.vocab.[UNK]"));

  // a malformed vocab.txt (the fallback) names its line
  const auto bad_txt = folder("bad_vocab_txt");
  write(bad_txt, "vocab.txt", "[UNK]\n[CLS]\n[SEP]\nab\xff\n");
  const auto m5 = message_of([&] { (void)load_tokenizer(bad_txt); });
  CHECK(contains(m5, (bad_txt / "vocab.txt").string()));
  CHECK(contains(m5, "line 4"));
}
