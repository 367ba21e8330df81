// WordNet reader, WordNet / embedding candidate sources, synonym substitution, bad input.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "ptp/text/candidates.hpp"
#include "ptp/text/synonym.hpp"
#include "ptp/text/wordnet.hpp"

using namespace ptp::text;
namespace fs = std::filesystem;

namespace {

// One database for the whole executable (loading once keeps the tests fast).
const wordnet& wn() {
  static const wordnet db{};
  return db;
}

bool has(const std::vector<std::string>& v, std::string_view x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::vector<std::string> strings(std::span<const std::string_view> v) { return {v.begin(), v.end()}; }
std::vector<std::string> strings(const std::vector<std::string_view>& v) { return {v.begin(), v.end()}; }

}  // namespace

static_assert(check_candidate_source<wordnet_candidates, std::string>());
static_assert(check_candidate_source<embedding_neighbours<float>, std::int64_t>());
static_assert(check_candidate_source<embedding_neighbours<double>, std::string>());
static_assert(check_text_perturbation<synonym_substitution<>, words>());
static_assert(check_candidate_source<memoized_candidates<wordnet_candidates>, std::string>());
static_assert(check_text_perturbation<synonym_substitution<memoized_candidates<wordnet_candidates>>, words>());
static_assert(!CandidateSource<int, std::string>);

// Load time is a benchmark's business (bench/bench_text.cpp), not a test's.
TEST_CASE("wordnet: loads the Debian database completely", "[text][wordnet]") {
  const wordnet db{};
  // WordNet 3.0 statistics (wnstats(7WN)): synsets per part of speech
  REQUIRE(db.synset_count(pos::noun) == 82115);
  REQUIRE(db.synset_count(pos::verb) == 13767);
  REQUIRE(db.synset_count(pos::adj) == 18156);
  REQUIRE(db.synset_count(pos::adv) == 3621);
  REQUIRE(db.lemma_count(pos::noun) == 117798);
  REQUIRE(db.lemma_count(pos::verb) == 11529);
}

TEST_CASE("wordnet: verb 'breathe' — synonyms, synset, definition and examples", "[text][wordnet]") {
  const auto syn = wn().synonyms("breathe", pos::verb);
  REQUIRE(has(syn, "respire"));
  REQUIRE(has(syn, "suspire"));
  REQUIRE(has(syn, "take_a_breath"));
  REQUIRE_FALSE(has(syn, "breathe"));
  // synonyms come in sense order: breathe.v.01's lemmas first
  REQUIRE(std::vector<std::string>(syn.begin(), syn.begin() + 3) ==
          std::vector<std::string>{"take_a_breath", "respire", "suspire"});

  const auto ss = wn().synsets("breathe", pos::verb);
  REQUIRE(ss.size() == 9);
  const synset& s = *ss.front();
  REQUIRE(wn().name(s) == "breathe.v.01");
  REQUIRE(s.offset == 1740);
  REQUIRE(s.part == pos::verb);
  REQUIRE(strings(s.lemmas) == std::vector<std::string>{"breathe", "take_a_breath", "respire", "suspire"});
  REQUIRE(s.definition() == "draw air into, and expel out of, the lungs");
  REQUIRE(strings(s.examples()) ==
          std::vector<std::string>{"I can breathe better when the air is clean", "The patient is respiring"});
  // inflected forms reach the same synset
  REQUIRE(wn().synsets("breathes", pos::verb).front() == &s);
  REQUIRE(wn().synsets("breathing", pos::verb).front() == &s);
}

TEST_CASE("wordnet: Morphy — exception lists and detachment rules", "[text][wordnet]") {
  REQUIRE(wn().morphy("geese", pos::noun) == std::vector<std::string>{"goose"});        // noun.exc
  REQUIRE(wn().morphy("running", pos::verb) == std::vector<std::string>{"run"});        // verb.exc
  REQUIRE(wn().morphy("ran", pos::verb) == std::vector<std::string>{"run"});            // verb.exc
  REQUIRE(wn().morphy("Ran", pos::verb) == std::vector<std::string>{"run"});            // case-insensitive
  REQUIRE(wn().morphy("running", pos::noun) == std::vector<std::string>{"running"});    // itself a noun
  REQUIRE(wn().morphy("dogs", pos::noun) == std::vector<std::string>{"dog"});           // -s
  REQUIRE(wn().morphy("churches", pos::noun) == std::vector<std::string>{"church"});    // -ches → -ch
  REQUIRE(wn().morphy("policemen", pos::noun) == std::vector<std::string>{"policeman"});  // -men → -man
  REQUIRE(wn().morphy("ponies", pos::noun) == std::vector<std::string>{"pony"});        // -ies → -y
  REQUIRE(wn().morphy("jumped", pos::verb) == std::vector<std::string>{"jump"});        // -ed
  REQUIRE(wn().morphy("baked", pos::verb) == std::vector<std::string>{"bake"});         // -ed → -e
  REQUIRE(wn().morphy("taller", pos::adj) == std::vector<std::string>{"tall"});         // -er
  REQUIRE(wn().morphy("happier", pos::adj) == std::vector<std::string>{"happy"});       // adj.exc
  REQUIRE(wn().morphy("boxesful", pos::noun) == std::vector<std::string>{"boxful"});    // -ful
  REQUIRE(wn().morphy("hot dog", pos::noun) == std::vector<std::string>{"hot_dog"});    // collocation
  REQUIRE(wn().morphy("quickly", pos::verb).empty());
  REQUIRE(wn().morphy("xyzzyq", pos::noun).empty());
  const auto ps = wn().parts_of_speech("quickly");
  REQUIRE(ps.contains(pos::adv));
  REQUIRE_FALSE(ps.contains(pos::noun));
  REQUIRE(wn().parts_of_speech("the").empty());
}

TEST_CASE("wordnet: nouns and adjectives with exact synsets", "[text][wordnet]") {
  const auto dog = wn().synsets("dogs", pos::noun);
  REQUIRE(dog.size() == 7);
  REQUIRE(wn().name(*dog[0]) == "dog.n.01");
  REQUIRE(dog[0]->offset == 2084071);
  REQUIRE(strings(dog[0]->lemmas) == std::vector<std::string>{"dog", "domestic_dog", "Canis_familiaris"});
  REQUIRE(strings(dog[0]->examples()) == std::vector<std::string>{"the dog barked all night"});
  REQUIRE(wn().name(*dog[1]) == "frump.n.01");
  REQUIRE(strings(dog[1]->lemmas) == std::vector<std::string>{"frump", "dog"});
  REQUIRE(strings(dog[1]->examples()) == std::vector<std::string>{"she got a reputation as a frump", "she's a real dog"});
  REQUIRE(wn().at(pos::noun, 2084071) == dog[0]);

  const auto goose = wn().synsets("geese", pos::noun);
  REQUIRE(wn().name(*goose[0]) == "goose.n.01");

  const auto good = wn().synsets("good", pos::adj);
  REQUIRE(good.size() == 21);
  REQUIRE(wn().name(*good[0]) == "good.a.01");
  REQUIRE_FALSE(good[0]->satellite);
  REQUIRE(wn().name(*good[1]) == "full.s.06");  // a satellite: letter s
  REQUIRE(good[1]->satellite);
  REQUIRE(strings(good[1]->lemmas) == std::vector<std::string>{"full", "good"});
  REQUIRE(good[1]->definition() == "having the normally expected amount");
  REQUIRE(strings(good[1]->examples()) ==
          std::vector<std::string>{"gives full measure", "gives good measure", "a good mile from here"});

  // adjective markers such as "(p)" / "(a)" are stripped from lemmas
  const auto afloat = wn().lookup("afloat", pos::adj);
  REQUIRE_FALSE(afloat.empty());
  for (auto* s : afloat)
    for (auto l : s->lemmas) REQUIRE(l.find('(') == std::string_view::npos);

  const auto quickly = wn().synsets("quickly", pos::adv);
  REQUIRE(wn().name(*quickly[0]) == "quickly.r.01");
  REQUIRE(strings(quickly[0]->lemmas) ==
          std::vector<std::string>{"quickly", "rapidly", "speedily", "chop-chop", "apace"});
  REQUIRE(wn().synonyms("quickly", pos::adv) ==
          std::vector<std::string>{"rapidly", "speedily", "chop-chop", "apace", "promptly", "quick", "cursorily"});
}

TEST_CASE("wordnet: examples come from the quoted parts of a gloss", "[text][wordnet]") {
  synset s;
  s.gloss = R"(a definition; "first example"; "second, with a comma" - Author; "")";
  REQUIRE(s.definition() == "a definition");
  REQUIRE(strings(s.examples()) == std::vector<std::string>{"first example", "second, with a comma"});
  s.gloss = "no examples at all";
  REQUIRE(s.definition() == "no examples at all");
  REQUIRE(s.examples().empty());
  // on the real database: bank.v.03's gloss example
  const auto bank = wn().synsets("bank", pos::verb);
  REQUIRE(wn().name(*bank[2]) == "bank.v.03");
  REQUIRE(strings(bank[2]->examples()) == std::vector<std::string>{"Where do you bank in this town?"});
}

TEST_CASE("wordnet_candidates: synonyms as candidates, k and part of speech honoured", "[text][candidates]") {
  const wordnet_candidates all{.db = wn()};
  const auto c = all.candidates("breathe", 0, 0);
  REQUIRE(c.size() >= 3);
  REQUIRE(c[0].word == "take a breath");
  REQUIRE(c[1].word == "respire");
  REQUIRE(c[0].id == -1);
  REQUIRE(c[0].score > c[1].score);
  REQUIRE(all.candidates("breathe", 0, 2).size() == 2);
  const wordnet_candidates verbs_single{.db = wn(), .part = pos::verb, .single_words_only = true};
  const auto v = verbs_single.candidates("breathe", 3, 2);
  REQUIRE(v.size() == 2);
  REQUIRE(v[0].word == "respire");
  REQUIRE(v[1].word == "suspire");
  REQUIRE(all.candidates("xyzzyq", 0, 5).empty());
}

TEST_CASE("embedding_neighbours: top-k cosine equals brute force; threshold, exclusions, vocabulary", "[text][candidates]") {
  ptp::generator gen{.seed = 31};
  const std::size_t vocab = 60, dim = 8;
  std::vector<double> e(vocab * dim);
  gen.fill_normal(std::span{e}, 0.0, 1.0);
  std::fill(e.begin() + 7 * dim, e.begin() + 8 * dim, 0.0);  // a zero row never appears
  std::vector<std::string> words_v;
  for (std::size_t i = 0; i < vocab; ++i) words_v.push_back("t" + std::to_string(i));
  const matrix_view<double> mv{e, vocab, dim};
  const embedding_neighbours nn(mv, -1.0, words_v, {3});
  for (std::size_t r = 0; r < vocab; ++r) {
    double s = 0;
    for (std::size_t d = 0; d < dim; ++d) s += e[r * dim + d] * e[r * dim + d];
    REQUIRE(nn.norms()[r] == Approx(std::sqrt(s)));
  }
  for (std::int64_t q : {0, 5, 42}) {
    std::vector<std::pair<double, std::int64_t>> brute;
    for (std::int64_t r = 0; r < static_cast<std::int64_t>(vocab); ++r)
      if (r != q && r != 3 && r != 7) brute.emplace_back(nn.cosine(q, r), r);
    std::sort(brute.begin(), brute.end(), [](auto a, auto b) { return a.first > b.first; });
    const auto c = nn.candidates(q, 0, 5);
    REQUIRE(c.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
      REQUIRE(c[i].id == brute[i].second);
      REQUIRE(c[i].score == Approx(brute[i].first));
      REQUIRE(c[i].word == words_v[static_cast<std::size_t>(c[i].id)]);
    }
    REQUIRE(nn.candidates(q, 0, 0).size() == vocab - 3);  // all but itself, the zero row, id 3
  }
  // a threshold keeps exactly the rows at or above it
  const embedding_neighbours strict(mv, 0.5);
  for (const auto& c : strict.candidates(std::int64_t{5}, 0, 0)) REQUIRE(c.score >= 0.5);
  std::size_t above = 0;
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(vocab); ++r) above += r != 5 && nn.cosine(5, r) >= 0.5;
  REQUIRE(strict.candidates(std::int64_t{5}, 0, 0).size() == above);
  // a word query goes through the vocabulary
  REQUIRE(nn.candidates(std::string("t5"), 0, 3) == nn.candidates(std::int64_t{5}, 0, 3));
  REQUIRE(nn.candidates(std::string("unknown"), 0, 3).empty());
  REQUIRE_THROWS_AS(nn.candidates(std::int64_t{60}, 0, 3), std::out_of_range);
  REQUIRE_THROWS_AS(embedding_neighbours(matrix_view<double>{e, vocab + 1, dim}), std::invalid_argument);
}

TEST_CASE("synonym_substitution: replaces eligible words by WordNet synonyms", "[text][synonym]") {
  const synonym_substitution<> syn{.source = {.db = wn()}, .rate = 1.0};
  words w = words::split("The dog breathes quickly. Dog (dog)");
  w.is_protected = {false, false, false, false, true, false};
  ptp::generator gen{.seed = 9};
  const auto out = syn(w, gen, ptp::mode::train);
  REQUIRE(gen.offset == w.size());
  REQUIRE(out.size() == w.size());
  REQUIRE(out.text[0] == "The");  // stop word
  REQUIRE(out.text[4] == "Dog");  // protected
  const auto dog_syn = wn().synonyms("dog");
  auto spaced = [](std::string s) {
    std::replace(s.begin(), s.end(), '_', ' ');
    return s;
  };
  bool found = false;
  for (const auto& s : dog_syn) found = found || spaced(s) == out.text[1];
  REQUIRE(found);
  REQUIRE(out.text[3].ends_with("."));  // punctuation kept
  const auto q = wn().synonyms("quickly");
  found = false;
  for (const auto& s : q) found = found || spaced(s) + "." == out.text[3];
  REQUIRE(found);
  REQUIRE(out.text[5].front() == '(');
  REQUIRE(out.text[5].back() == ')');
  REQUIRE(out.text[5] != "(dog)");

  // same seed → same output; eval and rate 0 → identity
  ptp::generator g1{.seed = 9};
  REQUIRE(syn(w, g1, ptp::mode::train) == out);
  ptp::generator g2{.seed = 9};
  REQUIRE(syn(w, g2, ptp::mode::eval) == w);
  REQUIRE(synonym_substitution<>{.source = {.db = wn()}, .rate = 0.0}(w, g2, ptp::mode::train) == w);
  REQUIRE(g2.offset == 0);
}

TEST_CASE("synonym_substitution: case pattern copied; rate over eligible words within 5σ", "[text][synonym]") {
  std::string s = "respire";
  detail::match_case(s, "Breathe");
  REQUIRE(s == "Respire");
  s = "respire";
  detail::match_case(s, "BREATHE");
  REQUIRE(s == "RESPIRE");
  const synonym_substitution<> syn{.source = {.db = wn(), .part = pos::noun}, .rate = 0.25};
  const words w = words::split("dog cat house car tree river city book music water");  // all have noun synonyms
  ptp::generator gen{.seed = 77};
  std::size_t changed = 0;
  const std::size_t draws = 400;
  for (std::size_t d = 0; d < draws; ++d) {
    const auto out = syn(w, gen, ptp::mode::train);
    for (std::size_t i = 0; i < w.size(); ++i) changed += out.text[i] != w.text[i];
  }
  const double n = static_cast<double>(draws * w.size()), mean = n * 0.25, sd = std::sqrt(n * 0.25 * 0.75);
  REQUIRE(std::abs(static_cast<double>(changed) - mean) <= 5 * sd);
}

TEST_CASE("memoized_candidates: the same substitutions as the plain source, one memo entry per word", "[text][synonym]") {
  const memoized_candidates memo(wordnet_candidates{.db = wn()});
  const synonym_substitution<> plain{.source = {.db = wn()}, .rate = 0.5};
  const synonym_substitution<memoized_candidates<wordnet_candidates>> cached{.source = memo, .rate = 0.5};
  const words w = words::split("The quick dog breathes, the (old) cat runs and jumps over the fence; BIG houses.");
  std::size_t changed = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    ptp::generator g1{.seed = seed}, g2{.seed = seed};
    const auto a = plain(w, g1, ptp::mode::train), b = cached(w, g2, ptp::mode::train);
    REQUIRE(a == b);
    REQUIRE(g1.offset == g2.offset);
    for (std::size_t i = 0; i < w.size(); ++i) changed += a.text[i] != w.text[i];
  }
  REQUIRE(changed > 60);  // the comparison covered real substitutions
  const auto entries = memo.size();
  REQUIRE(entries > 0);
  REQUIRE(entries <= w.size());
  ptp::generator g{.seed = 61};
  (void)cached(w, g, ptp::mode::train);
  REQUIRE(memo.size() == entries);  // copies share the memo; known words are not asked again
  REQUIRE(memo.candidates("breathe", 0, 0) == wordnet_candidates{.db = wn()}.candidates("breathe", 0, 0));
  REQUIRE(memo.candidates("breathe", 0, 2) == wordnet_candidates{.db = wn()}.candidates("breathe", 0, 2));  // k is part of the key
}

// ---- bad input -------------------------------------------------------------------------

namespace {

struct temp_db {
  fs::path dir;
  temp_db() {
    dir = fs::temp_directory_path() / ("ptp_wn_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    for (std::string stem : {"noun", "verb", "adj", "adv"}) {
      write("data." + stem, "");
      write("index." + stem, "");
      write(stem + ".exc", "");
    }
  }
  ~temp_db() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name, std::ios::binary) << text; }
};

// A license header line (two leading spaces), then a synset line at its true byte offset.
const std::string license_header = "  1 This is the license header.  \n";

std::string offset_of_first_synset() {
  std::string off = std::to_string(license_header.size());
  off.insert(0, 8 - off.size(), '0');
  return off;
}

std::string good_noun_data() {
  const std::string off = offset_of_first_synset();
  return license_header + off + " 05 n 02 cat 0 true_cat 0 001 @ " + off + " n 0000 | a small feline; \"the cat sat\"  \n";
}

}  // namespace

TEST_CASE("wordnet: a tiny well-formed database loads", "[text][wordnet][bad-input]") {
  temp_db t;
  t.write("data.noun", good_noun_data());
  t.write("index.noun", "  1 license\ncat n 1 1 @ 1 0 " + offset_of_first_synset() + "  \n");
  t.write("noun.exc", "cats cat\n");
  const wordnet db(t.dir);
  REQUIRE(db.synset_count(pos::noun) == 1);
  REQUIRE(db.morphy("cats", pos::noun) == std::vector<std::string>{"cat"});
  REQUIRE(db.synonyms("cats", pos::noun) == std::vector<std::string>{"true_cat"});
  REQUIRE(strings(db.synsets("cat", pos::noun).front()->examples()) == std::vector<std::string>{"the cat sat"});
}

TEST_CASE("wordnet: missing directory or file → exception naming it", "[text][wordnet][bad-input]") {
  try {
    wordnet db(fs::path("/nonexistent/ptp/wordnet"));
    FAIL("no exception");
  } catch (const wordnet_error& e) {
    REQUIRE(std::string(e.what()).find("/nonexistent/ptp/wordnet") != std::string::npos);
    REQUIRE(e.line() == 0);
  }
  temp_db t;
  fs::remove(t.dir / "verb.exc");
  try {
    wordnet db(t.dir);
    FAIL("no exception");
  } catch (const wordnet_error& e) {
    REQUIRE(e.file() == (t.dir / "verb.exc").string());
    REQUIRE(std::string(e.what()).find("verb.exc: cannot open") != std::string::npos);
  }
}

TEST_CASE("wordnet: malformed lines → exception naming file and line", "[text][wordnet][bad-input]") {
  SECTION("data line with a bad word count") {
    temp_db t;
    std::string data = good_noun_data();
    std::string off = std::to_string(data.size());
    off.insert(0, 8 - off.size(), '0');
    data += off + " 05 n zz broken 0 000 | oops\n";  // line 3
    t.write("data.noun", data);
    try {
      wordnet db(t.dir);
      FAIL("no exception");
    } catch (const wordnet_error& e) {
      REQUIRE(e.file() == (t.dir / "data.noun").string());
      REQUIRE(e.line() == 3);
      REQUIRE(std::string(e.what()).find("data.noun:3: bad w_cnt 'zz'") != std::string::npos);
    }
  }
  SECTION("data line whose offset is not its byte offset") {
    temp_db t;
    t.write("data.verb", "00000007 29 v 01 breathe 0 000 00 | gloss\n");
    try {
      wordnet db(t.dir);
      FAIL("no exception");
    } catch (const wordnet_error& e) {
      REQUIRE(std::string(e.what()).find("data.verb:1: synset_offset 7 differs") != std::string::npos);
    }
  }
  SECTION("data line without a gloss") {
    temp_db t;
    t.write("data.adv", "00000000 02 r 01 fast 0 000\n");
    try {
      wordnet db(t.dir);
      FAIL("no exception");
    } catch (const wordnet_error& e) {
      REQUIRE(std::string(e.what()).find("data.adv:1: missing '|'") != std::string::npos);
    }
  }
  SECTION("index line pointing at a missing synset") {
    temp_db t;
    t.write("data.noun", good_noun_data());
    t.write("index.noun", "cat n 1 0 1 0 " + offset_of_first_synset() + "\ndog n 1 0 1 0 00099999\n");
    try {
      wordnet db(t.dir);
      FAIL("no exception");
    } catch (const wordnet_error& e) {
      REQUIRE(e.line() == 2);
      REQUIRE(std::string(e.what()).find("index.noun:2: synset_offset 99999 is not in data.noun") != std::string::npos);
    }
  }
  SECTION("exception line without a base form") {
    temp_db t;
    t.write("adj.exc", "better good\nworse\n");
    try {
      wordnet db(t.dir);
      FAIL("no exception");
    } catch (const wordnet_error& e) {
      REQUIRE(std::string(e.what()).find("adj.exc:2:") != std::string::npos);
    }
  }
}

namespace {
// Hides wordnet_candidates::sample, so synonym_substitution takes the candidates() path.
struct list_only {
  wordnet_candidates inner;
  std::vector<candidate> candidates(std::string_view w, std::size_t pos, std::size_t k) const {
    return inner.candidates(w, pos, k);
  }
};
}  // namespace

TEST_CASE("synonym_substitution: the sample() fast path draws what candidates() would", "[text][synonym]") {
  const words w = words::split("The quick dog ran home, breathing hard; good movies were running late.");
  for (std::uint64_t seed = 0; seed < 25; ++seed) {
    for (std::size_t k : {0u, 2u}) {
      ptp::generator g1{.seed = seed}, g2{.seed = seed};
      const synonym_substitution<> fast{.source = {.db = wn()}, .rate = 0.7, .max_candidates = k};
      const synonym_substitution<list_only> slow{.source = {.inner = {.db = wn()}}, .rate = 0.7, .max_candidates = k};
      const auto a = fast(w, g1, ptp::mode::train);
      REQUIRE(a == slow(w, g2, ptp::mode::train));
      REQUIRE(g1.offset == g2.offset);
    }
  }
}

TEST_CASE("wordnet: lexicographer files by number; every synset of a part in file order", "[text][wordnet]") {
  // lexnames(5WN): 0 adj.all, 3 noun.Tops, 5 noun.animal, 18 noun.person, 44 adj.ppl
  CHECK(lexicographer_file(0) == "adj.all");
  CHECK(lexicographer_file(3) == "noun.Tops");
  CHECK(lexicographer_file(5) == "noun.animal");
  CHECK(lexicographer_file(18) == "noun.person");
  CHECK(lexicographer_file(44) == "adj.ppl");
  CHECK(lexicographer_file(45).empty());
  const wordnet wn;
  const auto dog = wn.synsets("dog", pos::noun).front();    // dog.n.01: a member of the genus Canis
  CHECK(lexicographer_file(dog->lex_filenum) == "noun.animal");
  const auto run = wn.synsets("run", pos::verb).front();
  CHECK(lexicographer_file(run->lex_filenum).starts_with("verb."));
  const auto all = wn.all_synsets(pos::noun);
  CHECK(all.size() == wn.synset_count(pos::noun));
  CHECK(all.size() == 82115);  // WordNet 3.0's noun synsets
  CHECK(std::is_sorted(all.begin(), all.end(), [](const synset& a, const synset& b) { return a.offset < b.offset; }));
  CHECK(wn.at(pos::noun, dog->offset) == &all[static_cast<std::size_t>(dog - all.data())]);
}
