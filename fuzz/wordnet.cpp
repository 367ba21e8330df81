// Fuzz target: the WordNet database reader (ptp::text::wordnet, include/ptp/text/wordnet.hpp).
// The input is cut at '\x01' bytes into up to twelve sections, written to a temporary
// directory as data.noun, index.noun, noun.exc, data.verb, ..., adv.exc (absent sections →
// empty files, which are valid). Loading either succeeds — then lookups, Morphy, synsets,
// names, glosses and synonyms are queried for fixed words and for the words of the input —
// or throws ptp::text::wordnet_error (naming file and line). Nothing else may escape.
#include <array>
#include <string>
#include <string_view>

#include <ptp/text/wordnet.hpp>

#include "common.hpp"

namespace {
constexpr std::array<const char*, 12> file_names = {
    "data.noun", "index.noun", "noun.exc", "data.verb", "index.verb", "verb.exc",
    "data.adj",  "index.adj",  "adj.exc",  "data.adv",  "index.adv",  "adv.exc"};

void query(const ptp::text::wordnet& wn, std::string_view word) {
  using ptp::text::pos;
  for (pos p : ptp::text::all_pos) {
    (void)wn.contains(word, p);
    (void)wn.morphy(word, p);
    for (const auto* s : wn.synsets(word, p)) {
      if (s == nullptr) ptp_fuzz::finding("null synset");
      if (s->lemmas.empty()) ptp_fuzz::finding("synset without lemmas");
      (void)wn.name(*s);
      (void)s->definition();
      (void)s->examples();
      if (wn.at(s->part, s->offset) != s) ptp_fuzz::finding("at(offset) does not find the synset");
    }
    (void)wn.synonyms(word, p);
  }
  (void)wn.parts_of_speech(word);
  (void)wn.synonyms(word);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& dir = ptp_fuzz::scratch_dir::get();
  const auto sections = ptp_fuzz::split(ptp_fuzz::text(data, size), '\x01', file_names.size());
  for (std::size_t i = 0; i < file_names.size(); ++i)
    dir.write(file_names[i], i < sections.size() ? sections[i] : std::string_view{});
  try {
    const ptp::text::wordnet wn(dir.path());
    for (const char* w : {"dog", "dogs", "geese", "ran", "running", "better", "boxesful", "Dog House", "", "s",
                          "ies", "men", "ful"})
      query(wn, w);
    // Words of the input itself (the lemmas and inflections the files define).
    std::size_t n = 0;
    for (const auto section : sections) {
      for (const auto token : ptp_fuzz::split(section, ' ', 16)) {
        if (token.size() > 64 || n++ > 48) break;
        query(wn, token);
      }
    }
  } catch (const ptp::text::wordnet_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
