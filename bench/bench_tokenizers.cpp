// Tokenizer throughput (texts/s) over every FewGLUE string: WordPiece (all-MiniLM-L6-v2),
// byte-level BPE and Unigram (trained on FewGLUE by tests/text/tokenizers/hf_reference.py), at 1 and
// 2 threads (one tokenizer shared; each thread encodes the whole corpus, texts/s summed over
// threads, wall time). Reference in the same run: UTF-8 validation of the same texts (a lower bound
// for any tokenizer: it must read every byte). Compare with bench/hf_tokenizers_bench.py.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptp/text/tokenizers/bpe.hpp"
#include "ptp/text/tokenizers/unigram.hpp"
#include "ptp/text/tokenizers/wordpiece.hpp"

namespace {

// Directory written by hf_reference.py (the build step of bench_tokenizers runs it).
std::string data_dir() {
  if (const char* d = std::getenv("PTP_TOKENIZERS_DATA")) return d;
  return PTP_TOKENIZERS_DATA_DIR;
}

const std::vector<std::string>& texts() {
  static const std::vector<std::string> t = [] {
    std::ifstream in(data_dir() + "/corpus.json");
    if (!in) {
      std::cerr << "bench_tokenizers: " << data_dir() << "/corpus.json missing (rebuild bench_tokenizers)\n";
      std::exit(1);
    }
    const auto j = nlohmann::json::parse(in);
    auto all = j.at("texts").get<std::vector<std::string>>();
    all.resize(j.at("fewglue_texts").get<std::size_t>());  // FewGLUE only, no edge cases
    return all;
  }();
  return t;
}

std::size_t total_bytes() {
  std::size_t n = 0;
  for (const auto& t : texts()) n += t.size();
  return n;
}

template <class Tok>
void run(benchmark::State& state, const Tok& tok) {
  const auto& ts = texts();
  std::size_t tokens = 0;
  for (auto _ : state) {
    for (const auto& t : ts) {
      auto e = tok.encode(t);
      tokens += e.size();
      benchmark::DoNotOptimize(e.ids.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * ts.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
  state.counters["tokens/text"] =  // averaged over threads, each encodes the whole corpus
      benchmark::Counter(static_cast<double>(tokens) / static_cast<double>(state.iterations() * ts.size()),
                         benchmark::Counter::kAvgThreads);
}

void BM_utf8_validate_reference(benchmark::State& state) {
  const auto& ts = texts();
  for (auto _ : state)
    for (const auto& t : ts) {
      ptp::text::utf8::validate(t);
      benchmark::DoNotOptimize(t.data());
    }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * ts.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}

void BM_wordpiece_minilm(benchmark::State& state) {
  std::ifstream in(data_dir() + "/minilm.txt");
  std::string dir;
  std::getline(in, dir);
  static const auto tok = ptp::text::load_wordpiece(dir + "/tokenizer.json");
  run(state, tok);
}

void BM_bpe_bytelevel(benchmark::State& state) {
  static const auto tok = ptp::text::load_bpe(data_dir() + "/bpe/tokenizer.json");
  run(state, tok);
}

void BM_unigram(benchmark::State& state) {
  static const auto tok = ptp::text::load_unigram(data_dir() + "/unigram/tokenizer.json");
  run(state, tok);
}

}  // namespace

BENCHMARK(BM_utf8_validate_reference)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_wordpiece_minilm)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_bpe_bytelevel)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_unigram)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_MAIN();
