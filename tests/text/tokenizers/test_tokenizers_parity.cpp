// Parity of ptp's tokenizers with Hugging Face `tokenizers` on every FewGLUE text, loaded by
// each model's loader and by load_tokenizer from the checkpoint folder.
// The reference (ids, type ids, char offsets, word ids) is written by hf_reference.py
// (CTest fixture tokenizers_hf_reference) into $PTP_TOKENIZERS_REFERENCE.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "ptp/text/tokenizers/bpe.hpp"
#include "ptp/text/tokenizers/concepts.hpp"
#include "ptp/text/tokenizers/load.hpp"
#include "ptp/text/tokenizers/unigram.hpp"
#include "ptp/text/tokenizers/wordpiece.hpp"

namespace {

using nlohmann::json;

std::string reference_dir() {
  const char* d = std::getenv("PTP_TOKENIZERS_REFERENCE");
  INFO("PTP_TOKENIZERS_REFERENCE is not set: run through ctest (fixture tokenizers_hf_reference)");
  REQUIRE(d != nullptr);
  return d;
}

json load(const std::string& path) {
  std::ifstream in(path);
  INFO("missing reference file " << path << " (did tokenizers_hf_reference run and succeed?)");
  REQUIRE(in.good());
  return json::parse(in);
}

struct corpus {
  std::vector<std::string> texts;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t fewglue_texts = 0;
  std::size_t pair_max_length = 0;
};

const corpus& get_corpus() {
  static const corpus c = [] {
    const json j = load(reference_dir() + "/corpus.json");
    corpus out;
    out.texts = j.at("texts").get<std::vector<std::string>>();
    for (const auto& p : j.at("pairs")) out.pairs.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
    out.fewglue_texts = j.at("fewglue_texts").get<std::size_t>();
    out.pair_max_length = j.at("pair_max_length").get<std::size_t>();
    return out;
  }();
  return c;
}

std::string show(const ptp::text::encoding& e) {
  std::ostringstream s;
  for (std::size_t i = 0; i < e.size(); ++i)
    s << e.ids[i] << "/" << e.type_ids[i] << "(" << e.offsets[i].first << "," << e.offsets[i].second << ")w" << e.word_ids[i] << " ";
  return s.str();
}

std::string show(const json& r) {
  std::ostringstream s;
  for (std::size_t i = 0; i < r.at("ids").size(); ++i)
    s << r["ids"][i] << "/" << r["type_ids"][i] << "(" << r["offsets"][i][0] << "," << r["offsets"][i][1] << ")w"
      << r["words"][i] << " ";
  return s.str();
}

bool same(const ptp::text::encoding& e, const json& r) {
  const auto& ids = r.at("ids");
  if (ids.size() != e.size()) return false;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e.ids[i] != ids[i].get<std::uint32_t>() || e.type_ids[i] != r["type_ids"][i].get<std::uint32_t>() ||
        e.offsets[i].first != r["offsets"][i][0].get<std::size_t>() ||
        e.offsets[i].second != r["offsets"][i][1].get<std::size_t>() || e.word_ids[i] != r["words"][i].get<std::int32_t>())
      return false;
  }
  return true;
}

// Encodes every text (alone, untruncated) and every pair (longest_first to 128) and
// compares with the HF reference; prints "N texts, M mismatches".
template <ptp::text::Tokenizer Tok>
void check_parity(Tok tok, const std::string& name) {
  const corpus& c = get_corpus();
  const json ref = load(reference_dir() + "/ref_" + name + ".json");
  REQUIRE(ref.at("single").size() == c.texts.size());
  REQUIRE(ref.at("pair").size() == c.pairs.size());
  std::size_t mismatches = 0, shown = 0;
  tok.options().truncation.max_length = 0;
  for (std::size_t i = 0; i < c.texts.size(); ++i) {
    const auto e = tok.encode(c.texts[i]);
    if (!same(e, ref["single"][i])) {
      ++mismatches;
      if (shown++ < 5)
        std::cout << name << " mismatch on text " << i << ": " << json(c.texts[i]).dump() << "\n  ptp: " << show(e)
                  << "\n  hf:  " << show(ref["single"][i]) << "\n";
    }
  }
  std::size_t pair_mismatches = 0;
  tok.options().truncation.max_length = c.pair_max_length;
  for (std::size_t i = 0; i < c.pairs.size(); ++i) {
    const auto e = tok.encode(c.pairs[i].first, c.pairs[i].second);
    if (!same(e, ref["pair"][i])) {
      ++pair_mismatches;
      if (shown++ < 10)
        std::cout << name << " mismatch on pair " << i << "\n  ptp: " << show(e) << "\n  hf:  " << show(ref["pair"][i]) << "\n";
    }
  }
  std::cout << name << ": " << c.texts.size() << " texts (" << c.fewglue_texts << " from FewGLUE), " << mismatches
            << " mismatches; " << c.pairs.size() << " pairs (longest_first, max_length " << c.pair_max_length << "), "
            << pair_mismatches << " mismatches\n";
  CHECK(mismatches == 0);
  CHECK(pair_mismatches == 0);
}

/// The model directory hf_reference.py recorded in `<name>.txt`.
std::string model_dir(const std::string& name) {
  std::ifstream in(reference_dir() + "/" + name + ".txt");
  INFO("no " << name << ".txt in the reference: the model was not found (all-mpnet-base-v2: run ./ptp setup)");
  REQUIRE(in.good());
  std::string d;
  std::getline(in, d);
  return d;
}
std::string minilm_dir() { return model_dir("minilm"); }

}  // namespace

TEST_CASE("WordPiece (all-MiniLM-L6-v2 tokenizer.json) matches HF tokenizers on FewGLUE", "[text][tokenizers][parity]") {
  check_parity(ptp::text::load_wordpiece(minilm_dir() + "/tokenizer.json"), "minilm");
}

TEST_CASE("WordPiece (all-MiniLM-L6-v2 vocab.txt) matches HF tokenizers on FewGLUE", "[text][tokenizers][parity]") {
  check_parity(ptp::text::load_wordpiece_vocab(minilm_dir() + "/vocab.txt"), "minilm");
}

TEST_CASE("WordPiece (all-mpnet-base-v2 tokenizer.json, RoBERTa specials) matches HF tokenizers on FewGLUE",
          "[text][tokenizers][parity]") {
  check_parity(ptp::text::load_wordpiece(model_dir("mpnet") + "/tokenizer.json"), "mpnet");
}

TEST_CASE("byte-level BPE (tokenizer.json) matches HF tokenizers on FewGLUE", "[text][tokenizers][parity]") {
  check_parity(ptp::text::load_bpe(reference_dir() + "/bpe/tokenizer.json"), "bpe");
}

TEST_CASE("byte-level BPE (vocab.json + merges.txt) matches HF tokenizers on FewGLUE", "[text][tokenizers][parity]") {
  const std::string d = reference_dir() + "/bpe";
  check_parity(ptp::text::load_bpe_files(d + "/vocab.json", d + "/merges.txt"), "bpe");
}

// One tokenizer shared by four threads: the per-word cache never blocks (a thread that cannot
// take its lock computes the word), and a 16-word cache is cleared and refilled all the time,
// so lookups, stores and clears race. Every thread must still get HF's encodings.
TEST_CASE("byte-level BPE shared by 4 threads, with a small cache, matches HF tokenizers on FewGLUE",
          "[text][tokenizers][parity][threads]") {
  const std::string d = reference_dir() + "/bpe";
  auto tok = ptp::text::load_bpe_files(d + "/vocab.json", d + "/merges.txt", {.cache_capacity = 16});
  tok.options().truncation.max_length = 0;  // as check_parity: whole texts
  const corpus& c = get_corpus();
  const json ref = load(reference_dir() + "/ref_bpe.json");
  REQUIRE(ref.at("single").size() == c.texts.size());
  std::vector<std::size_t> mismatches(4, 0);
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int round = 0; round < 3; ++round)
          for (std::size_t k = 0; k < c.texts.size(); ++k) {
            const std::size_t i = (k + t * c.texts.size() / 4) % c.texts.size();  // threads start apart
            if (!same(tok.encode(c.texts[i]), ref["single"][i])) ++mismatches[t];
          }
      });
  }
  for (std::size_t t = 0; t < 4; ++t) {
    INFO("thread " << t);
    CHECK(mismatches[t] == 0);
  }
}

TEST_CASE("Unigram (tokenizer.json) matches HF tokenizers on FewGLUE", "[text][tokenizers][parity]") {
  check_parity(ptp::text::load_unigram(reference_dir() + "/unigram/tokenizer.json"), "unigram");
}

// ---- load_tokenizer: a checkpoint folder, whatever its model ------------------------------

TEST_CASE("load_tokenizer (all-MiniLM-L6-v2 folder) matches HF tokenizers on FewGLUE, with BERT's special ids",
          "[text][tokenizers][parity][load]") {
  const auto t = ptp::text::load_tokenizer(minilm_dir());
  CHECK(t.file == std::filesystem::path(minilm_dir()) / "tokenizer.json");
  CHECK(std::holds_alternative<ptp::text::wordpiece_tokenizer>(t.tokenizer.get()));
  CHECK(t.special.cls == 101u);
  CHECK(t.special.sep == 102u);
  CHECK(t.special.pad == 0u);
  CHECK(t.special.mask == 103u);
  CHECK(t.special.unk == 100u);
  check_parity(t.tokenizer, "minilm");
}

TEST_CASE("load_tokenizer (all-MiniLM-L6-v2's vocab.txt alone) matches HF tokenizers on FewGLUE",
          "[text][tokenizers][parity][load]") {
  const auto dir = std::filesystem::temp_directory_path() / ("ptp_tok_vocab_only_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(minilm_dir() + "/vocab.txt", dir / "vocab.txt",
                             std::filesystem::copy_options::overwrite_existing);
  const auto t = ptp::text::load_tokenizer(dir);
  std::filesystem::remove_all(dir);
  CHECK(t.file == dir / "vocab.txt");
  CHECK(t.special.mask == 103u);
  check_parity(t.tokenizer, "minilm");
}

TEST_CASE("load_tokenizer (all-mpnet-base-v2 folder) matches HF tokenizers on FewGLUE, with RoBERTa's special ids",
          "[text][tokenizers][parity][load][mpnet]") {
  const auto t = ptp::text::load_tokenizer(model_dir("mpnet"));
  // its vocabulary also holds BERT's [CLS] [SEP] [MASK] [PAD] (ids 105 106 107 4); the model uses <s> …
  CHECK(t.tokenizer.token_to_id("[CLS]") == 105u);
  CHECK(t.special.cls == 0u);
  CHECK(t.special.sep == 2u);
  CHECK(t.special.pad == 1u);
  CHECK(t.special.mask == 30526u);
  CHECK(t.tokenizer.id_to_token(t.special.unk.value()) == "[UNK]");  // the model's unk_token (id 104), not <unk>
  check_parity(t.tokenizer, "mpnet");
}

TEST_CASE("load_tokenizer dispatches the FewGLUE-trained BPE and Unigram folders; both match HF tokenizers",
          "[text][tokenizers][parity][load]") {
  const auto b = ptp::text::load_tokenizer(reference_dir() + "/bpe");
  CHECK(b.tokenizer.byte_level());
  CHECK(b.special.cls == b.tokenizer.token_to_id("<s>"));
  CHECK(b.special.mask == b.tokenizer.token_to_id("<mask>"));
  check_parity(b.tokenizer, "bpe");
  const auto u = ptp::text::load_tokenizer(reference_dir() + "/unigram");
  CHECK(std::holds_alternative<ptp::text::unigram_tokenizer>(u.tokenizer.get()));
  CHECK(u.special.cls == u.tokenizer.token_to_id("[CLS]"));
  CHECK(u.special.unk == u.tokenizer.token_to_id("<unk>"));
  check_parity(u.tokenizer, "unigram");
}
