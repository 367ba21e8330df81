// examples/reproduce/wordnet_supersense.hpp — the demo's default task: noun supersense
// classification from WordNet alone (Debian's wordnet-base).
//
// Every noun synset belongs to one lexicographer file ("supersense": noun.animal,
// noun.artifact, …; Ciaramita & Johnson 2003 use them as a coarse sense inventory). The task
// gives the model a synset's definition — the gloss up to its first example, cut at the first
// ';' ("a fabric woven from goat hair and camel hair") — and asks for its lexicographer file
// among a fixed set of classes. The lemma is not shown, so the model has to read the sentence.
//  * classes: by default seven noun files (animal, artifact, food, group, location, person,
//    plant), the set whose frozen-MiniLM linear probe issue 16 measured;
//  * examples: every synset of those files with a definition of at least `min_words` words;
//    a definition that occurs twice (in any class) is dropped entirely, so no text is in two
//    splits or has two labels;
//  * splits: per class, the synsets are shuffled with a seeded ptp::generator and dealt to
//    test, dev, then train — exactly balanced, disjoint, few-shot on the training side.
// Everything is a pure function of the database and the options: same files + same options →
// the same examples in the same order.
#pragma once

#include <ptp/random.hpp>
#include <ptp/text/wordnet.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ptp::repro {

/// Classes, split sizes and seed of the supersense task.
struct wordnet_supersense_options {
  /// Noun lexicographer files, without the "noun." prefix; the label is the index here.
  std::vector<std::string> classes{"animal", "artifact", "food", "group", "location", "person", "plant"};
  std::size_t train_per_class = 16;  ///< training examples per class (few-shot)
  std::size_t dev_per_class = 8;     ///< selection examples per class
  std::size_t test_per_class = 100;  ///< report examples per class
  std::size_t min_words = 3;         ///< definitions shorter than this are left out
  std::uint64_t seed = 20230505;     ///< shuffles each class
};

/// One example: the definition, its label, and where it came from.
struct supersense_example {
  std::string text;    ///< the definition (first ';'-separated part)
  int label = 0;       ///< index into the task's classes
  std::string synset;  ///< NLTK-style name, e.g. "dog.n.01" (for inspection)
};

/// The task: class names and the three splits (each grouped by class, in dealing order).
struct wordnet_supersense {
  std::vector<std::string> classes;
  std::vector<supersense_example> train, dev, test;
};

namespace detail {

/// The definition's first ';'-separated part, trimmed.
inline std::string_view first_definition(const text::synset& s) {
  std::string_view d = s.definition();
  d = d.substr(0, d.find(';'));
  while (!d.empty() && d.back() == ' ') d.remove_suffix(1);
  while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
  return d;
}

inline std::size_t word_count(std::string_view s) {
  std::size_t n = 0;
  bool in = false;
  for (const char c : s) {
    const bool space = c == ' ';
    n += !space && !in;
    in = !space;
  }
  return n;
}

}  // namespace detail

/// Builds the task (see the file comment). Throws when a class name is not a noun
/// lexicographer file, is listed twice, or has too few synsets for the requested splits.
inline wordnet_supersense build_wordnet_supersense(const text::wordnet& wn, const wordnet_supersense_options& o = {}) {
  if (o.classes.size() < 2) throw std::invalid_argument("wordnet supersense: at least two classes are needed");
  std::map<std::uint8_t, int> label_of;  // lexicographer file number → label
  for (std::size_t c = 0; c < o.classes.size(); ++c) {
    int found = -1;
    for (int n = 0; n < 45; ++n)
      if (text::lexicographer_file(static_cast<std::uint8_t>(n)) == "noun." + o.classes[c]) found = n;
    if (found < 0) throw std::invalid_argument("wordnet supersense: '" + o.classes[c] + "' is not a noun lexicographer file (noun.<name>)");
    if (!label_of.emplace(static_cast<std::uint8_t>(found), static_cast<int>(c)).second)
      throw std::invalid_argument("wordnet supersense: class '" + o.classes[c] + "' is listed twice");
  }
  // every definition of every noun synset, to drop texts that occur more than once
  std::map<std::string_view, int> occurrences;
  for (const auto& s : wn.all_synsets(text::pos::noun)) ++occurrences[detail::first_definition(s)];

  std::vector<std::vector<supersense_example>> per_class(o.classes.size());
  for (const auto& s : wn.all_synsets(text::pos::noun)) {
    const auto it = label_of.find(s.lex_filenum);
    if (it == label_of.end()) continue;
    const auto d = detail::first_definition(s);
    if (detail::word_count(d) < o.min_words || occurrences[d] != 1) continue;
    per_class[static_cast<std::size_t>(it->second)].push_back({std::string(d), it->second, wn.name(s)});
  }
  wordnet_supersense t{.classes = o.classes, .train = {}, .dev = {}, .test = {}};
  const std::size_t need = o.train_per_class + o.dev_per_class + o.test_per_class;
  for (std::size_t c = 0; c < per_class.size(); ++c) {
    auto& v = per_class[c];
    if (v.size() < need)
      throw std::invalid_argument("wordnet supersense: noun." + o.classes[c] + " has " + std::to_string(v.size()) +
                                  " usable synsets, the splits need " + std::to_string(need));
    generator g{.seed = o.seed, .stream = c + 1};
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[g.below(i)]);
    auto deal = [&, next = std::size_t{0}](std::vector<supersense_example>& out, std::size_t n) mutable {
      out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(next), v.begin() + static_cast<std::ptrdiff_t>(next + n));
      next += n;
    };
    deal(t.test, o.test_per_class);
    deal(t.dev, o.dev_per_class);
    deal(t.train, o.train_per_class);
  }
  return t;
}

}  // namespace ptp::repro
