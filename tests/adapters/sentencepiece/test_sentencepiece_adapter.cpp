// ptp::sentencepiece: an ALBERT-style SentencePiece model trained here (libsentencepiece's
// trainer) on the FewGLUE text, encoded through ptp's interface and checked against the
// library's own EncodeAsIds, plus the [CLS] a [SEP] b [SEP] template and truncation.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sentencepiece_trainer.h>

#include "catch.hpp"
#include "ptp/adapters/sentencepiece.hpp"
#include "ptp/text/tokenizers/concepts.hpp"

namespace fs = std::filesystem;
static_assert(ptp::text::Tokenizer<ptp::adapters::sentencepiece_tokenizer>);

namespace {

void collect(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) out.push_back(j.get<std::string>());
  else if (j.is_array() || j.is_object())
    for (const auto& v : j) collect(v, out);
}

std::vector<std::string> fewglue_texts() {
  const char* shared = std::getenv("PTP_SHARED_DIR");
  REQUIRE(shared != nullptr);
  std::vector<std::string> texts;
  for (const char* task : {"BoolQ", "CB", "COPA", "MultiRC", "RTE", "ReCoRD", "WSC", "WiC"})
    for (const char* split : {"train.jsonl", "dev32.jsonl"}) {
      const fs::path p = fs::path(shared) / "data" / "fewglue" / task / split;
      std::ifstream in(p);
      INFO("missing " << p.string());
      REQUIRE(in.good());
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) collect(nlohmann::json::parse(line), texts);
    }
  return texts;
}

std::string train_model(const std::vector<std::string>& texts) {
  const fs::path dir = fs::temp_directory_path() / ("ptp_spm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "corpus.txt");
    for (const auto& t : texts) {
      std::string line = t;
      for (auto& c : line)
        if (c == '\n' || c == '\r') c = ' ';
      out << line << '\n';
    }
  }
  const std::string args = "--input=" + (dir / "corpus.txt").string() + " --model_prefix=" + (dir / "spiece").string() +
                           " --vocab_size=3000 --model_type=unigram --character_coverage=1.0 --pad_id=0 --unk_id=1"
                           " --bos_id=-1 --eos_id=-1 --control_symbols=[CLS],[SEP] --user_defined_symbols=[MASK]"
                           " --minloglevel=2 --num_threads=1";
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return (dir / "spiece.model").string();
}

}  // namespace

TEST_CASE("SentencePiece adapter: ALBERT layout over libsentencepiece", "[text][tokenizers][sentencepiece]") {
  const auto texts = fewglue_texts();
  REQUIRE(texts.size() > 1000);
  const std::string model = train_model(texts);
  auto tok = ptp::adapters::load_sentencepiece(model);
  const auto& sp = tok.model().processor();
  const std::uint32_t cls = *tok.token_to_id("[CLS]"), sep = *tok.token_to_id("[SEP]");

  std::size_t mismatches = 0;
  for (const auto& t : texts) {
    const auto e = tok.encode(t);
    std::string lower;
    for (std::size_t p = 0; p < t.size();) ptp::text::to_lower(ptp::text::utf8::decode(t, p), [&](char32_t c) { ptp::text::utf8::append(lower, c); });
    std::vector<int> want;
    REQUIRE(sp.Encode(lower, &want).ok());
    std::vector<std::uint32_t> got(e.ids.begin() + 1, e.ids.end() - 1);
    bool ok = e.ids.front() == cls && e.ids.back() == sep && got.size() == want.size();
    for (std::size_t i = 0; ok && i < got.size(); ++i) ok = got[i] == static_cast<std::uint32_t>(want[i]);
    const std::size_t nchars = ptp::text::utf8::length(t);
    for (std::size_t i = 1; ok && i + 1 < e.size(); ++i)
      ok = e.offsets[i].first <= e.offsets[i].second && e.offsets[i].second <= nchars && e.offsets[i].first >= e.offsets[i - 1].first;
    mismatches += !ok;
  }
  std::cout << "sentencepiece: " << texts.size() << " texts, " << mismatches << " mismatches with libsentencepiece\n";
  CHECK(mismatches == 0);

  CHECK(tok.encode("").ids == std::vector<std::uint32_t>{cls, sep});
  const auto pair = tok.encode("The cat sat.", "A dog ran.");
  CHECK(pair.ids.front() == cls);
  CHECK(pair.type_ids.back() == 1);
  CHECK(pair.type_ids.front() == 0);
  tok.options().truncation.max_length = 128;
  CHECK(tok.encode(texts[0] + texts[0] + texts[0], texts[1]).size() <= 128);
  const auto masked = tok.encode("hello [MASK] world");
  CHECK(std::count(masked.ids.begin(), masked.ids.end(), *tok.token_to_id("[MASK]")) == 1);
}

TEST_CASE("SentencePiece adapter: a missing model names the file", "[text][tokenizers][sentencepiece]") {
  try {
    (void)ptp::adapters::load_sentencepiece("/nonexistent/dir/spiece.model");
    FAIL("no exception");
  } catch (const ptp::text::tokenizer_file_error& e) {
    CHECK(std::string(e.what()).find("/nonexistent/dir/spiece.model") != std::string::npos);
  }
}
