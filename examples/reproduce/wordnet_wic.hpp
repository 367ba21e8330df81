// examples/reproduce/wordnet_wic.hpp — a Word-in-Context-style task built from WordNet
// alone (Debian's wordnet-base), the embedded default data set of `./ptp demo`.
//
// WiC (Pilehvar & Camacho-Collados 2019) asks whether a target word has the same sense in two
// sentences; its authors drew many pairs from WordNet's own example sentences. This builder
// does the same with nothing but the WordNet 3.0 files that ptp::text::wordnet reads:
//  * candidates: every single-word noun and verb lemma of index.noun / index.verb (alphabetic,
//    at least 3 letters) with at least two senses;
//  * occurrences: the example sentences of each of the lemma's synsets in which some word,
//    stripped of punctuation and lower-cased, has the lemma among its Morphy base forms for
//    that part of speech ("He *runs* the company" → run.v) — so the target word occurs in
//    the sentence, possibly inflected;
//  * pairs: same synset → label true (same sense), different synsets → false; per lemma as
//    many negatives as positives (at most `max_pairs_per_lemma` / 2 of each), so every lemma
//    and therefore every split is exactly balanced;
//  * splits by lemma, like WiC: lemmas are shuffled with a seeded ptp::generator and dealt
//    to test, dev, then train, so no lemma (of either part of speech) is shared across
//    splits.
// Everything is a pure function of the database and the options: same files + same seed →
// the same examples in the same order.
#pragma once

#include <ptp/data/jsonl.hpp>
#include <ptp/data/superglue.hpp>
#include <ptp/random.hpp>
#include <ptp/sweep.hpp>
#include <ptp/text/wordnet.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptp::repro {

/// Sizes and seed of the WordNet WiC task. Each size is a number of pairs (rounded down to
/// an even number: one positive per negative); a split takes whole lemmas' pairs until full
/// (the last lemma's pairs are cut in balanced couples).
struct wordnet_wic_options {
  std::size_t train_pairs = 640;        ///< training pairs
  std::size_t dev_pairs = 200;          ///< selection pairs
  std::size_t test_pairs = 400;         ///< report pairs
  std::size_t max_pairs_per_lemma = 4;  ///< cap per lemma (half positive, half negative)
  std::uint64_t seed = 20230505;        ///< shuffles lemmas and picks pairs
  bool nouns = true;                    ///< use noun lemmas
  bool verbs = true;                    ///< use verb lemmas
};

/// The three splits, WiC examples (idx numbered per split, labels set).
struct wordnet_wic {
  std::vector<data::wic_example> train, dev, test;
};

namespace detail {

/// One place a lemma occurs in an example sentence of one of its synsets.
struct wic_occurrence {
  std::size_t sense = 0;  ///< index of the synset among the lemma's senses
  std::string sentence;
  std::int64_t start = 0, end = 0;  ///< character offsets of the target word
};

/// Code points in s[0, bytes) (UTF-8): WiC offsets count characters.
inline std::int64_t char_count(std::string_view s, std::size_t bytes) {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < bytes && i < s.size(); ++i) n += (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
  return n;
}

/// The lemmas listed in index.<p> (first field of every non-licence line), file order.
inline std::vector<std::string> index_lemmas(const std::filesystem::path& dir, text::pos p) {
  const auto path = dir / ("index." + std::string(text::pos_name(p)));
  std::ifstream in(path);
  if (!in) throw std::runtime_error("wordnet_wic: cannot open " + path.string());
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ') continue;  // licence header lines start with two spaces
    out.push_back(line.substr(0, line.find(' ')));
  }
  return out;
}

/// Where (if anywhere) `sentence` holds a form of `lemma` as part of speech p: the byte
/// range of the first matching word, punctuation stripped.
inline std::optional<std::pair<std::size_t, std::size_t>> find_target(const text::wordnet& wn, std::string_view sentence,
                                                                      const std::string& lemma, text::pos p) {
  std::size_t i = 0;
  while (i < sentence.size()) {
    while (i < sentence.size() && std::isspace(static_cast<unsigned char>(sentence[i]))) ++i;
    std::size_t b = i;
    while (i < sentence.size() && !std::isspace(static_cast<unsigned char>(sentence[i]))) ++i;
    std::size_t e = i;
    while (b < e && !std::isalpha(static_cast<unsigned char>(sentence[b]))) ++b;
    while (e > b && !std::isalpha(static_cast<unsigned char>(sentence[e - 1]))) --e;
    if (e <= b) continue;
    std::string word(sentence.substr(b, e - b));
    bool alpha = true;
    for (auto& c : word) {
      if (!std::isalpha(static_cast<unsigned char>(c))) alpha = false;
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!alpha) continue;
    if (word == lemma) return std::pair{b, e};
    for (const auto& base : wn.morphy(word, p))
      if (base == lemma) return std::pair{b, e};
  }
  return std::nullopt;
}

/// Deterministic Fisher–Yates shuffle with ptp's generator.
template <class T>
void shuffle(std::vector<T>& v, generator& gen) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
}

}  // namespace detail

/// Builds the WordNet WiC task from `wn` (see the file comment for the rules).
/// @throws std::runtime_error when WordNet holds too few pairs for the requested sizes.
/// @code
///   ptp::text::wordnet wn;                                  // /usr/share/wordnet
///   auto task = ptp::repro::build_wordnet_wic(wn, {.train_pairs = 640});
///   ptp::repro::write_wic_jsonl(task.test, "test.jsonl");   // SuperGLUE WiC format
/// @endcode
inline wordnet_wic build_wordnet_wic(const text::wordnet& wn, const wordnet_wic_options& o = {}) {
  struct lemma_pairs {
    std::string lemma;
    std::vector<std::pair<data::wic_example, data::wic_example>> couples;  // (positive, negative)
  };
  std::vector<lemma_pairs> lemmas;
  generator pick{.seed = o.seed, .stream = 1};
  std::vector<text::pos> parts;
  if (o.nouns) parts.push_back(text::pos::noun);
  if (o.verbs) parts.push_back(text::pos::verb);
  std::map<std::string, std::size_t> lemma_slot;  // a lemma's noun and verb pairs share one slot
  for (const text::pos p : parts) {
    for (const auto& lemma : detail::index_lemmas(wn.dir(), p)) {
      if (lemma.size() < 3 || !std::all_of(lemma.begin(), lemma.end(), [](char c) { return c >= 'a' && c <= 'z'; })) continue;
      const auto senses = wn.lookup(lemma, p);
      if (senses.size() < 2) continue;
      std::vector<detail::wic_occurrence> occ;
      for (std::size_t s = 0; s < senses.size(); ++s)
        for (auto ex : senses[s]->examples()) {
          if (auto hit = detail::find_target(wn, ex, lemma, p))
            occ.push_back({s, std::string(ex), detail::char_count(ex, hit->first), detail::char_count(ex, hit->second)});
        }
      std::vector<std::pair<std::size_t, std::size_t>> pos_pairs, neg_pairs;
      for (std::size_t a = 0; a < occ.size(); ++a)
        for (std::size_t b = a + 1; b < occ.size(); ++b) {
          if (occ[a].sentence == occ[b].sentence) continue;
          (occ[a].sense == occ[b].sense ? pos_pairs : neg_pairs).emplace_back(a, b);
        }
      const std::size_t k = std::min({pos_pairs.size(), neg_pairs.size(), o.max_pairs_per_lemma / 2});
      if (k == 0) continue;
      detail::shuffle(pos_pairs, pick);
      detail::shuffle(neg_pairs, pick);
      auto make = [&](std::pair<std::size_t, std::size_t> ab, bool label) {
        // which sentence comes first is drawn too, so position carries no signal
        auto [a, b] = ab;
        if (pick.below(2) == 1) std::swap(a, b);
        data::wic_example ex;
        ex.word = lemma;
        ex.sentence1 = occ[a].sentence;
        ex.sentence2 = occ[b].sentence;
        ex.start1 = occ[a].start;
        ex.end1 = occ[a].end;
        ex.start2 = occ[b].start;
        ex.end2 = occ[b].end;
        ex.label = label;
        return ex;
      };
      auto [it, fresh] = lemma_slot.try_emplace(lemma, lemmas.size());
      if (fresh) lemmas.push_back({lemma, {}});
      for (std::size_t i = 0; i < k; ++i)
        lemmas[it->second].couples.emplace_back(make(pos_pairs[i], true), make(neg_pairs[i], false));
    }
  }
  generator deal{.seed = o.seed, .stream = 2};
  detail::shuffle(lemmas, deal);
  wordnet_wic out;
  std::size_t next = 0;
  auto fill = [&](std::vector<data::wic_example>& split, std::size_t want, const char* name) {
    want -= want % 2;
    while (split.size() < want && next < lemmas.size()) {
      for (auto& [positive, negative] : lemmas[next].couples) {
        if (split.size() >= want) break;
        split.push_back(positive);
        split.push_back(negative);
      }
      ++next;
    }
    if (split.size() < want)
      throw std::runtime_error(std::string("wordnet_wic: WordNet has too few pairs for the ") + name + " split (" +
                               std::to_string(split.size()) + " of " + std::to_string(want) + ")");
    generator order{.seed = o.seed, .stream = 3};
    detail::shuffle(split, order);
    for (std::size_t i = 0; i < split.size(); ++i) split[i].idx = static_cast<std::int64_t>(i);
  };
  fill(out.test, o.test_pairs, "test");
  fill(out.dev, o.dev_pairs, "dev");
  fill(out.train, o.train_pairs, "train");
  return out;
}

/// One example as a SuperGLUE WiC jsonl object.
inline nlohmann::json wic_to_json(const data::wic_example& ex) {
  nlohmann::json j{{"idx", ex.idx},       {"word", ex.word},     {"sentence1", ex.sentence1}, {"sentence2", ex.sentence2},
                   {"start1", ex.start1}, {"end1", ex.end1},     {"start2", ex.start2},       {"end2", ex.end2}};
  if (ex.label) j["label"] = *ex.label;
  return j;
}

/// Writes examples as WiC-format jsonl (readable by ptp::data::read_wic), atomically.
inline void write_wic_jsonl(const std::vector<data::wic_example>& examples, const std::filesystem::path& path) {
  std::string text;
  for (const auto& ex : examples) text += wic_to_json(ex).dump() + "\n";
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  sweep::write_file_atomically(path, text);
}

/// Writes train.jsonl, dev.jsonl and test.jsonl of `task` into `dir`.
inline void write_wordnet_wic(const wordnet_wic& task, const std::filesystem::path& dir) {
  write_wic_jsonl(task.train, dir / "train.jsonl");
  write_wic_jsonl(task.dev, dir / "dev.jsonl");
  write_wic_jsonl(task.test, dir / "test.jsonl");
}

}  // namespace ptp::repro
