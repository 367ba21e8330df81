// Text-perturbation throughput (texts/s) on the FewGLUE training texts: random masking and
// WordNet synonym substitution, beside a plain copy of the same words measured in the same
// run (the reference: what any perturbation that returns new words must at least pay).
// bench/py_text_bench.py does the same work in Python (NLTK's WordNet reader on the same
// Debian files); BENCHMARKS.md "Text perturbations" records both and their ratio. Every
// benchmark but the WordNet load runs at 1 and 2 threads (each thread passes over the whole
// corpus with its own perturbation state; texts/s summed over threads, wall time).
//
// Texts: every string under the keys question, passage, text, premise, hypothesis,
// choice1, choice2, sentence1, sentence2, query (nested objects and arrays included) of
// $PTP_SHARED_DIR/data/fewglue/*/train.jsonl (default: CMake's PTP_SHARED_DIR, ../shared),
// split on white space.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <ptp/text/masking.hpp>
#include <ptp/text/synonym.hpp>
#include <ptp/text/wordnet.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef PTP_SHARED_DIR
#define PTP_SHARED_DIR "../shared"
#endif

namespace {

namespace fs = std::filesystem;

void collect(const nlohmann::json& j, std::vector<std::string>& out) {
  static const std::set<std::string> keys{"question", "passage",   "text",      "premise",   "hypothesis",
                                          "choice1",  "choice2",   "sentence1", "sentence2", "query"};
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string() && keys.count(it.key()))
        out.push_back(it.value().get<std::string>());
      else
        collect(it.value(), out);
    }
  } else if (j.is_array()) {
    for (const auto& x : j) collect(x, out);
  }
}

const std::vector<ptp::text::words>& corpus() {
  static const std::vector<ptp::text::words> texts = [] {
    const char* env = std::getenv("PTP_SHARED_DIR");
    const fs::path root = fs::path(env && *env ? env : PTP_SHARED_DIR) / "data" / "fewglue";
    std::vector<fs::path> files;
    for (const auto& d : fs::directory_iterator(root))
      if (fs::exists(d.path() / "train.jsonl")) files.push_back(d.path() / "train.jsonl");
    std::sort(files.begin(), files.end());
    if (files.empty()) throw std::runtime_error("bench_text: no FewGLUE train.jsonl under " + root.string());
    std::vector<std::string> strings;
    for (const auto& f : files) {
      std::ifstream in(f);
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) collect(nlohmann::json::parse(line), strings);
    }
    std::vector<ptp::text::words> out;
    for (const auto& s : strings) out.push_back(ptp::text::words::split(s));
    return out;
  }();
  return texts;
}

// The same texts as token ids: each distinct word gets the next id in first-seen order
// (bench/py_text_bench.py builds the identical lists).
const std::vector<ptp::text::token_sequence>& token_corpus() {
  static const std::vector<ptp::text::token_sequence> seqs = [] {
    std::map<std::string, std::int64_t> vocab;
    std::vector<ptp::text::token_sequence> out;
    for (const auto& t : corpus()) {
      ptp::text::token_sequence s;
      for (const auto& w : t.text) s.ids.push_back(vocab.try_emplace(w, static_cast<std::int64_t>(vocab.size())).first->second);
      out.push_back(std::move(s));
    }
    return out;
  }();
  return seqs;
}

std::size_t word_count() {
  std::size_t n = 0;
  for (const auto& t : corpus()) n += t.size();
  return n;
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpus().size()));
  // per thread (kAvgThreads): the corpus each thread passes over, not a sum
  state.counters["texts"] = benchmark::Counter(static_cast<double>(corpus().size()), benchmark::Counter::kAvgThreads);
  state.counters["words"] = benchmark::Counter(static_cast<double>(word_count()), benchmark::Counter::kAvgThreads);
}

// Reference: copying every text's words (the output allocation every perturbation pays).
void copy_words(benchmark::State& state) {
  const auto& texts = corpus();
  for (auto _ : state)
    for (const auto& t : texts) {
      ptp::text::words w = t;
      benchmark::DoNotOptimize(w.text.data());
    }
  report(state);
}

// Word-level masking: words → "[MASK]" with p = 0.15 (string copies dominate).
void random_mask(benchmark::State& state) {
  const auto& texts = corpus();
  const ptp::text::random_mask mask{.rate = 0.15};
  ptp::generator gen{.seed = 1};
  for (auto _ : state)
    for (const auto& t : texts) {
      auto w = mask(t, gen, ptp::mode::train);
      benchmark::DoNotOptimize(w.text.data());
    }
  report(state);
}

// The same masking as views: unmasked words are shared, not copied (Python's list does the
// same); a new vector per text.
void random_mask_views(benchmark::State& state) {
  const auto& texts = corpus();
  const ptp::text::random_mask mask{.rate = 0.15};
  ptp::generator gen{.seed = 1};
  for (auto _ : state)
    for (const auto& t : texts) {
      auto v = mask.views(t, gen, ptp::mode::train);
      benchmark::DoNotOptimize(v.data());
    }
  report(state);
}

// views into one reused buffer (what a training loop does: no allocation per text).
void random_mask_views_reused(benchmark::State& state) {
  const auto& texts = corpus();
  const ptp::text::random_mask mask{.rate = 0.15};
  ptp::generator gen{.seed = 1};
  std::vector<std::string_view> v;
  for (auto _ : state)
    for (const auto& t : texts) {
      mask.views(t, gen, ptp::mode::train, v);
      benchmark::DoNotOptimize(v.data());
    }
  report(state);
}

// Reference for token masking: copying every id sequence.
void copy_tokens(benchmark::State& state) {
  const auto& seqs = token_corpus();
  for (auto _ : state)
    for (const auto& s : seqs) {
      ptp::text::token_sequence c = s;
      benchmark::DoNotOptimize(c.ids.data());
    }
  report(state);
}

// PTP-RN in text space: token ids → mask id with p = 0.15.
void random_mask_tokens(benchmark::State& state) {
  const auto& seqs = token_corpus();
  const ptp::text::random_mask mask{.rate = 0.15, .mask_id = 1 << 30};
  ptp::generator gen{.seed = 1};
  for (auto _ : state)
    for (const auto& s : seqs) {
      auto m = mask(s, gen, ptp::mode::train);
      benchmark::DoNotOptimize(m.ids.data());
    }
  report(state);
}

// Token masking into one reused buffer: copy the ids in, mask in place.
void random_mask_tokens_in_place(benchmark::State& state) {
  const auto& seqs = token_corpus();
  const ptp::text::random_mask mask{.rate = 0.15, .mask_id = 1 << 30};
  ptp::generator gen{.seed = 1};
  ptp::text::token_sequence buf;
  for (auto _ : state)
    for (const auto& s : seqs) {
      buf.ids.assign(s.ids.begin(), s.ids.end());
      mask.in_place(buf, gen, ptp::mode::train);
      benchmark::DoNotOptimize(buf.ids.data());
    }
  report(state);
}

// The whole corpus as one batch (one vectorised draw for all texts), into reused buffers.
void random_mask_tokens_batch(benchmark::State& state) {
  const auto& seqs = token_corpus();
  const ptp::text::random_mask mask{.rate = 0.15, .mask_id = 1 << 30};
  ptp::generator gen{.seed = 1};
  std::vector<ptp::text::token_sequence> batch(seqs.size());
  for (auto _ : state) {
    for (std::size_t j = 0; j < seqs.size(); ++j) batch[j].ids.assign(seqs[j].ids.begin(), seqs[j].ids.end());
    mask.in_place(std::span{batch}, gen, ptp::mode::train);
    benchmark::DoNotOptimize(batch.data());
  }
  report(state);
}

void synonym_substitution(benchmark::State& state) {
  const auto& texts = corpus();
  const ptp::text::wordnet wn{};
  const double rate = static_cast<double>(state.range(0)) / 100.0;
  const ptp::text::synonym_substitution<> syn{.source = {.db = wn}, .rate = rate};
  ptp::generator gen{.seed = 1};
  for (auto _ : state)
    for (const auto& t : texts) {
      auto w = syn(t, gen, ptp::mode::train);
      benchmark::DoNotOptimize(w.text.data());
    }
  report(state);
}

// The same with the source's answers remembered per word (ptp::text::memoized_candidates),
// the memo filled by one untimed pass — as the Python peer's lru_cache row.
void synonym_substitution_memo(benchmark::State& state) {
  const auto& texts = corpus();
  const ptp::text::wordnet wn{};
  const double rate = static_cast<double>(state.range(0)) / 100.0;
  using source = ptp::text::memoized_candidates<ptp::text::wordnet_candidates>;
  const ptp::text::synonym_substitution<source> syn{.source = source(ptp::text::wordnet_candidates{.db = wn}), .rate = rate};
  ptp::generator gen{.seed = 1};
  for (const auto& t : texts) benchmark::DoNotOptimize(syn(t, gen, ptp::mode::train).text.data());
  for (auto _ : state)
    for (const auto& t : texts) {
      auto w = syn(t, gen, ptp::mode::train);
      benchmark::DoNotOptimize(w.text.data());
    }
  report(state);
}

void wordnet_load(benchmark::State& state) {
  for (auto _ : state) {
    ptp::text::wordnet wn{};
    benchmark::DoNotOptimize(&wn);
  }
}

}  // namespace

BENCHMARK(copy_words)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(random_mask)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(random_mask_views)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(random_mask_views_reused)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(copy_tokens)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(random_mask_tokens)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(random_mask_tokens_in_place)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(random_mask_tokens_batch)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(synonym_substitution)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(synonym_substitution_memo)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(wordnet_load)->Unit(benchmark::kMillisecond)->Iterations(3);

BENCHMARK_MAIN();
