// Readers and input formats of include/ptp/data/{jsonl,superglue}.hpp: hand-written
// fixtures (MultiRC and ReCoRD nesting included), every real FewGLUE / SuperGLUE file with
// its exact example count, and the error paths (file, line, field; invalid UTF-8; empty
// files; arbitrary bytes never crash).
#include <ptp/data/jsonl.hpp>
#include <ptp/data/superglue.hpp>
#include <ptp/random.hpp>

#include "catch.hpp"
#include "temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace pd = ptp::data;
using ptp_test::temp_dir;

namespace {

/// Runs `fn` and returns the data_error it throws (fails the test if it throws none).
template <class Fn>
pd::data_error expect_data_error(Fn&& fn) {
  try {
    fn();
  } catch (const pd::data_error& e) {
    return e;
  }
  FAIL("expected a ptp::data::data_error");
  throw std::logic_error("unreachable");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

// ---- fixtures ----------------------------------------------------------------------------------

TEST_CASE("BoolQ: fields, optional labels, both input formats", "[reproduce][superglue]") {
  temp_dir dir;
  const auto path = dir.write("boolq.jsonl",
                              R"({"question": "is it blue", "passage": "The sky is blue.", "idx": 7, "label": true})"
                              "\n\n"  // a blank line is skipped but counted
                              R"({"question": "is it red", "passage": "Grass is green.", "idx": 8})"
                              "\n");
  const auto ex = pd::read_boolq(path);
  REQUIRE(ex.size() == 2);
  CHECK(ex[0].idx == 7);
  CHECK(ex[0].question == "is it blue");
  CHECK(ex[0].label == true);
  CHECK(ex[0].label_id() == 1);
  CHECK_FALSE(ex[1].label.has_value());  // a test split has no label
  CHECK_FALSE(ex[1].label_id().has_value());
  CHECK(pd::ptuning_v2::input(ex[0]) == pd::text_pair{"is it blue", "The sky is blue."});
  const auto c = pd::pet::pattern(ex[0]);
  CHECK(c.render() == "The sky is blue. . [P] Question: is it blue ? Answer: [MASK] .");
  CHECK(c.prompt_tokens() == 1);
  CHECK(pd::pet::verbalizer(pd::task::boolq) == std::vector<std::string>{"No", "Yes"});
}

TEST_CASE("CB and RTE: label names, ids, patterns", "[reproduce][superglue]") {
  temp_dir dir;
  const auto cb = pd::read_cb(dir.write("cb.jsonl",
      R"({"premise": "A man sleeps.", "hypothesis": "A man rests", "label": "entailment", "idx": 0})" "\n"
      R"({"premise": "A man sleeps.", "hypothesis": "A man runs", "label": "contradiction", "idx": 1})" "\n"
      R"({"premise": "A man sleeps.", "hypothesis": "A man dreams", "label": "neutral", "idx": 2})" "\n"));
  REQUIRE(cb.size() == 3);
  CHECK(cb[0].label_id() == 0);
  CHECK(cb[1].label_id() == 1);
  CHECK(cb[2].label == pd::cb_label::neutral);
  CHECK(pd::ptuning_v2::input(cb[1]) == pd::text_pair{"A man sleeps.", "A man runs"});
  CHECK(pd::pet::pattern(cb[2]).render() == "A man sleeps. [SEP] A man dreams ? [P] answer: [MASK]");
  CHECK(pd::pet::verbalizer(pd::task::cb) == std::vector<std::string>{"Yes", "No", "Maybe"});

  const auto rte = pd::read_rte(dir.write("rte.jsonl",
      R"({"premise": "Paris is in France.", "hypothesis": "Paris is French.", "label": "not_entailment", "idx": 4})" "\n"
      R"({"premise": "P", "hypothesis": "H", "idx": 5})" "\n"));
  REQUIRE(rte.size() == 2);
  CHECK(rte[0].label == pd::rte_label::not_entailment);
  CHECK(rte[0].label_id() == 1);
  CHECK_FALSE(rte[1].label);
  // final punctuation of the hypothesis goes (PT-Fewshot RtePVP)
  CHECK(pd::pet::pattern(rte[0]).render() == "Paris is in France. Question: Paris is French ? [P] Answer: [MASK] .");
  CHECK(pd::pet::verbalizer(pd::task::rte) == std::vector<std::string>{"Yes", "No"});

  const auto e = expect_data_error([&] {
    (void)pd::read_cb(dir.write("cb_bad.jsonl",
        R"({"premise": "p", "hypothesis": "h", "label": "entailment", "idx": 0})" "\n"
        R"({"premise": "p", "hypothesis": "h", "label": "maybe", "idx": 1})" "\n"));
  });
  CHECK(e.line() == 2);
  CHECK(e.field() == "label");
  CHECK(contains(e.what(), "cb_bad.jsonl:2: field 'label': unknown label 'maybe'"));
}

TEST_CASE("COPA: multiple choice, mirrors, cloze", "[reproduce][superglue]") {
  temp_dir dir;
  const auto ex = pd::read_copa(dir.write("copa.jsonl",
      R"({"premise": "The glass slipped from my hand.", "choice1": "My fingers were wet.", "choice2": "The radio was on.", "question": "cause", "label": 0, "idx": 1})" "\n"
      R"({"premise": "I opened the window.", "choice1": "Cold air came in.", "choice2": "The door locked.", "question": "effect", "idx": 2})" "\n"));
  REQUIRE(ex.size() == 2);
  CHECK(ex[0].question == pd::copa_question::cause);
  CHECK(ex[1].question == pd::copa_question::effect);
  CHECK(ex[0].label == 0);
  CHECK_FALSE(ex[1].label);
  const auto v2 = pd::ptuning_v2::input(ex[0]);
  CHECK(v2[0] == pd::text_pair{"The glass slipped from my hand. because", "My fingers were wet."});
  CHECK(v2[1] == pd::text_pair{"The glass slipped from my hand. because", "The radio was on."});
  CHECK(pd::ptuning_v2::input(ex[1])[0].first == "I opened the window. so");
  const auto m = pd::mirrored(ex[0]);
  CHECK(m.choice1 == ex[0].choice2);
  CHECK(m.label == 1);
  const auto c = pd::pet::pattern(ex[1], 3);
  CHECK(c.render() == "cold air came in or the door locked ? I opened the window so [P] [MASK] [MASK] [MASK] .");
  CHECK(c.candidates == std::vector<std::string>{"cold air came in", "the door locked"});
  CHECK_THROWS_AS(pd::pet::verbalizer(pd::task::copa), std::invalid_argument);

  const auto e = expect_data_error([&] {
    (void)pd::read_copa(dir.write("copa_bad.jsonl",
        R"({"premise": "p", "choice1": "a", "choice2": "b", "question": "why", "label": 0, "idx": 1})" "\n"));
  });
  CHECK(e.line() == 1);
  CHECK(e.field() == "question");
}

TEST_CASE("WiC and WSC: templates and span repair", "[reproduce][superglue]") {
  temp_dir dir;
  const auto wic = pd::read_wic(dir.write("wic.jsonl",
      R"({"word": "bank", "sentence1": "He sat on the bank.", "sentence2": "The bank lent money.", "idx": 3, "label": false, "start1": 14, "end1": 18, "start2": 4, "end2": 8, "version": 1.1})" "\n"));
  REQUIRE(wic.size() == 1);
  CHECK(wic[0].start1 == 14);
  CHECK(wic[0].end2 == 8);
  CHECK(wic[0].label_id() == 0);
  CHECK(pd::ptuning_v2::input(wic[0]) ==
        pd::text_pair{"He sat on the bank. The bank lent money. Does bank have the same meaning in both sentences?", std::nullopt});
  CHECK(pd::ptuning_v2::input(wic[0], pd::ptuning_v2::template_id::bert) ==
        pd::text_pair{"bank: He sat on the bank.", "bank: The bank lent money."});
  CHECK(pd::pet::pattern(wic[0]).render() == "He sat on the bank. [SEP] The bank lent money. [P] *bank *? [MASK]");

  const auto wsc = pd::read_wsc(dir.write("wsc.jsonl",
      R"({"text": "The cat chased the mouse because it was hungry.", "target": {"span1_index": 0, "span1_text": "The cat", "span2_index": 6, "span2_text": "it"}, "idx": 0, "label": true})" "\n"
      R"({"text": "I waited for him,\" she said.", "target": {"span1_index": 0, "span1_text": "I", "span2_index": 3, "span2_text": "him"}, "idx": 1, "label": false})" "\n"
      R"({"text": "Tom thanked Bob because he helped.", "target": {"span1_index": 2, "span1_text": "Bob", "span2_index": 5, "span2_text": "he"}, "idx": 2})" "\n"));
  REQUIRE(wsc.size() == 3);
  // P-tuning v2 dataset.py, template 0: span2_word + ": " + text, paired with span1_text
  CHECK(pd::ptuning_v2::input(wsc[0]) == pd::text_pair{"it: The cat chased the mouse because it was hungry.", "The cat"});
  CHECK(pd::ptuning_v2::input(wsc[0], pd::ptuning_v2::template_id::bert) ==
        pd::text_pair{"The cat chased the mouse because *it* was hungry.", "The cat"});
  CHECK(pd::pet::pattern(wsc[0], 2).render() ==
        "The cat chased the mouse because *it* was hungry. [P] pronoun '* it *' refers to [MASK] [MASK] .");
  CHECK(pd::pet::pattern(wsc[0]).candidates == std::vector<std::string>{"The cat"});
  // `him,"` is split so the pronoun stands alone (PT-Fewshot WscProcessor)
  const auto w1 = pd::repaired_words(wsc[1]);
  CHECK(w1.words == std::vector<std::string>{"I", "waited", "for", "him", ",\"", "she", "said."});
  CHECK(w1.span2_index == 3);
  // an index one word off is moved onto the pronoun
  const auto w2 = pd::repaired_words(wsc[2]);
  CHECK(w2.span2_index == 4);
  CHECK(w2.words[w2.span2_index] == "he");
  CHECK(pd::pet::pattern(wsc[2]).render() == "Tom thanked Bob because *he* helped. [P] pronoun '* he *' refers to [MASK] .");

  const auto e = expect_data_error([&] {
    (void)pd::read_wsc(dir.write("wsc_bad.jsonl",
        R"({"text": "Short text.", "target": {"span1_index": 0, "span1_text": "Short", "span2_index": 9, "span2_text": "it"}, "idx": 0})" "\n"));
  });
  CHECK(e.field() == "target.span2_index");
  CHECK(e.line() == 1);
}

TEST_CASE("MultiRC: nested paragraphs/questions/answers are flattened with their ids", "[reproduce][superglue]") {
  temp_dir dir;
  const auto path = dir.write("multirc.jsonl",
      R"({"idx": 10, "version": 1.1, "passage": {"text": "Anna has a dog and a cat.", "questions": [)"
      R"({"question": "What does Anna have?", "idx": 100, "answers": [{"text": "A dog", "idx": 1000, "label": 1}, {"text": "A horse", "idx": 1001, "label": 0}]},)"
      R"({"question": "How many pets?", "idx": 101, "answers": [{"text": "Two", "idx": 1002, "label": 1}, {"text": "One", "idx": 1003, "label": 0}, {"text": "2", "idx": 1004, "label": 1}]}]}})" "\n"
      R"({"idx": 11, "version": 1.1, "passage": {"text": "Bo runs.", "questions": [{"question": "Who runs?", "idx": 102, "answers": [{"text": "Bo", "idx": 1005}]}]}})" "\n");
  const auto ex = pd::read_multirc(path);
  REQUIRE(ex.size() == 6);
  CHECK(ex[0].paragraph_idx == 10);
  CHECK(ex[0].question_idx == 100);
  CHECK(ex[0].answer_idx == 1000);
  CHECK(ex[0].label == true);
  CHECK(ex[1].label == false);
  CHECK(ex[4].question == "How many pets?");
  CHECK(ex[4].answer == "2");
  CHECK(ex[4].question_idx == 101);
  CHECK(ex[5].paragraph_idx == 11);
  CHECK(ex[5].paragraph == "Bo runs.");
  CHECK_FALSE(ex[5].label);
  CHECK(pd::ptuning_v2::input(ex[2]) == pd::text_pair{"Anna has a dog and a cat.", "How many pets? Two"});
  CHECK(pd::pet::pattern(ex[0]).render() ==
        "Anna has a dog and a cat. . Question: What does Anna have? ? Is it A dog ? [P] [MASK] .");

  const auto e = expect_data_error([&] {
    (void)pd::read_multirc(dir.write("multirc_bad.jsonl",
        R"({"idx": 1, "passage": {"text": "t", "questions": [{"question": "q", "idx": 1, "answers": [{"text": "a", "idx": 1, "label": 0}]}]}})" "\n"
        R"({"idx": 2, "passage": {"text": "t", "questions": [{"question": "q", "idx": 2, "answers": [{"text": "a", "idx": 2}]}, {"question": "q2", "idx": 3, "answers": [{"idx": 3, "label": 1}]}]}})" "\n"));
  });
  CHECK(e.line() == 2);
  CHECK(e.field() == "passage.questions[1].answers[0].text");
  CHECK(contains(e.what(), "multirc_bad.jsonl:2: field 'passage.questions[1].answers[0].text': missing"));

  const auto e2 = expect_data_error([&] {
    (void)pd::read_multirc(dir.write("multirc_bad2.jsonl",
        R"({"idx": 1, "passage": {"text": "t", "questions": [{"question": "q", "idx": 1, "answers": [{"text": "a", "idx": 1, "label": 2}]}]}})" "\n"));
  });
  CHECK(e2.field() == "passage.questions[0].answers[0].label");
}

TEST_CASE("ReCoRD: code point spans, candidates, answers, one pair per candidate", "[reproduce][superglue]") {
  temp_dir dir;
  // "Zoë" holds a two-byte code point, so every later span is one byte off its code point offset
  const auto path = dir.write("record.jsonl",
      "{\"source\": \"Daily Mail\", \"idx\": 5, \"passage\": {\"text\": \"Zo\\u00eb met Tom in Paris.\\n@highlight\\nTom won\", "
      "\"entities\": [{\"start\": 0, \"end\": 2}, {\"start\": 8, \"end\": 10}, {\"start\": 15, \"end\": 19}, {\"start\": 33, \"end\": 35}]}, "
      "\"qas\": [{\"query\": \"@placeholder won the race\", \"idx\": 50, \"answers\": [{\"start\": 8, \"end\": 10, \"text\": \"Tom\"}, {\"start\": 33, \"end\": 35, \"text\": \"Tom\"}]}, "
      "{\"query\": \"They met in @placeholder.\", \"idx\": 51, \"answers\": [{\"start\": 15, \"end\": 19, \"text\": \"Paris\"}]}]}\n"
      "{\"source\": \"CNN\", \"idx\": 6, \"passage\": {\"text\": \"Ann sang.\", \"entities\": [{\"start\": 0, \"end\": 2}]}, "
      "\"qas\": [{\"query\": \"@placeholder sang\", \"idx\": 60}]}\n");
  const auto ex = pd::read_record(path);
  REQUIRE(ex.size() == 3);
  CHECK(ex[0].passage_idx == 5);
  CHECK(ex[0].query_idx == 50);
  CHECK(ex[0].source == "Daily Mail");
  CHECK(ex[0].passage == "Zo\xC3\xAB met Tom in Paris.\n@highlight\nTom won");
  REQUIRE(ex[0].entity_spans.size() == 4);
  CHECK(ex[0].entity_spans[0].begin == 0);
  CHECK(ex[0].entity_spans[0].end == 4);   // "Zoë" is 4 bytes
  CHECK(ex[0].entity_spans[1].begin == 9);
  CHECK(ex[0].entity_spans[3].begin == 34);
  CHECK(ex[0].entity_spans[3].end == 37);
  CHECK(ex[0].candidates == std::vector<std::string>{"Paris", "Tom", "Zo\xC3\xAB"});  // distinct, sorted
  CHECK(ex[0].answers == std::vector<std::string>{"Tom"});                           // distinct
  CHECK(ex[0].candidate_labels() == std::vector<int>{0, 1, 0});
  CHECK(ex[1].query_idx == 51);
  CHECK(ex[1].answers == std::vector<std::string>{"Paris"});
  CHECK(ex[1].candidates == ex[0].candidates);
  CHECK(ex[2].answers.empty());  // test split: no answers
  CHECK(ex[2].candidates == std::vector<std::string>{"Ann"});

  const auto pairs = pd::ptuning_v2::input(ex[0]);
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[1].first == "Zo\xC3\xAB met Tom in Paris.\n- Tom won");
  CHECK(pairs[1].second == "Tom won the race");
  CHECK(pairs[0].second == "Paris won the race");
  CHECK(pd::ptuning_v2::fill_placeholder("@placeholder and @placeholder", "X") == "X and X");

  const auto e = expect_data_error([&] {
    (void)pd::read_record(dir.write("record_bad.jsonl",
        "{\"idx\": 1, \"passage\": {\"text\": \"Zo\\u00eb\", \"entities\": [{\"start\": 0, \"end\": 3}]}, \"qas\": [{\"query\": \"@placeholder\", \"idx\": 1}]}\n"));
  });
  CHECK(e.field() == "passage.entities[0].end");
  CHECK(contains(e.what(), "outside the passage text"));
}

TEST_CASE("read_task dispatches on the task name", "[reproduce][superglue]") {
  CHECK(pd::parse_task("boolq") == pd::task::boolq);
  CHECK(pd::parse_task("ReCoRD") == pd::task::record);
  CHECK(pd::parse_task("MULTIRC") == pd::task::multirc);
  CHECK_THROWS_AS(pd::parse_task("sst2"), std::invalid_argument);
  for (const auto t : pd::all_tasks) CHECK(pd::parse_task(pd::task_name(t)) == t);
}

// ---- errors ------------------------------------------------------------------------------------

TEST_CASE("jsonl: malformed lines, missing fields and wrong types name file, line and field", "[reproduce][jsonl]") {
  temp_dir dir;
  const std::string good = R"({"premise": "p", "hypothesis": "h", "label": "entailment", "idx": 1})";

  SECTION("malformed JSON") {
    const auto path = dir.write("rte.jsonl", good + "\n" + good + "\n" + R"({"premise": "p", "hypothesis": )" + "\n");
    const auto e = expect_data_error([&] { (void)pd::read_rte(path); });
    CHECK(e.file() == path.string());
    CHECK(e.line() == 3);
    CHECK(e.field().empty());
    CHECK(contains(e.what(), path.string() + ":3: malformed JSON"));
  }
  SECTION("trailing garbage after the object") {
    const auto path = dir.write("rte.jsonl", good + " x\n");
    CHECK(expect_data_error([&] { (void)pd::read_rte(path); }).line() == 1);
  }
  SECTION("a line that is not an object") {
    const auto path = dir.write("rte.jsonl", good + "\n[1, 2]\n");
    const auto e = expect_data_error([&] { (void)pd::read_rte(path); });
    CHECK(e.line() == 2);
    CHECK(contains(e.what(), "expected a JSON object"));
  }
  SECTION("missing field") {
    const auto path = dir.write("rte.jsonl", good + "\n" + R"({"premise": "p", "label": "entailment", "idx": 2})" + "\n");
    const auto e = expect_data_error([&] { (void)pd::read_rte(path); });
    CHECK(e.line() == 2);
    CHECK(e.field() == "hypothesis");
    CHECK(contains(e.what(), ":2: field 'hypothesis': missing"));
  }
  SECTION("wrong types") {
    const auto p1 = dir.write("a.jsonl", R"({"premise": "p", "hypothesis": "h", "idx": "7"})" "\n");
    auto e = expect_data_error([&] { (void)pd::read_rte(p1); });
    CHECK(e.field() == "idx");
    CHECK(contains(e.what(), "expected an integer, got string"));
    const auto p2 = dir.write("b.jsonl", R"({"premise": "p", "hypothesis": "h", "idx": 1.5})" "\n");
    CHECK(contains(expect_data_error([&] { (void)pd::read_rte(p2); }).what(), "floating-point"));
    const auto p3 = dir.write("c.jsonl", R"({"question": "q", "passage": "p", "idx": 1, "label": "true"})" "\n");
    e = expect_data_error([&] { (void)pd::read_boolq(p3); });
    CHECK(e.field() == "label");
    CHECK(contains(e.what(), "expected true or false"));
    const auto p4 = dir.write("d.jsonl", R"({"idx": 1, "passage": {"text": "t", "questions": {"q": 1}}})" "\n");
    e = expect_data_error([&] { (void)pd::read_multirc(p4); });
    CHECK(e.field() == "passage.questions");
    CHECK(contains(e.what(), "expected an array, got object"));
    const auto p5 = dir.write("e.jsonl", R"({"premise": "p", "hypothesis": "h", "idx": 99999999999999999999})" "\n");
    CHECK(expect_data_error([&] { (void)pd::read_rte(p5); }).field() == "idx");
  }
  SECTION("empty file, blank-only file, missing file, directory") {
    auto e = expect_data_error([&] { (void)pd::read_rte(dir.write("empty.jsonl", "")); });
    CHECK(e.line() == 0);
    CHECK(contains(e.what(), "empty file"));
    CHECK(contains(expect_data_error([&] { (void)pd::read_rte(dir.write("blank.jsonl", "\n  \n\r\n")); }).what(),
                   "empty file"));
    e = expect_data_error([&] { (void)pd::read_rte(dir.path / "nope.jsonl"); });
    CHECK(contains(e.what(), "nope.jsonl: cannot open"));
    CHECK(contains(expect_data_error([&] { (void)pd::read_rte(dir.path); }).what(), "directory"));
  }
  SECTION("CRLF line ends are accepted") {
    const auto ex = pd::read_rte(dir.write("crlf.jsonl", good + "\r\n" + good + "\r\n"));
    CHECK(ex.size() == 2);
  }
  SECTION("nesting far too deep is an error, not a stack overflow") {
    const std::string deep = "{\"a\": " + std::string(200000, '[') + std::string(200000, ']') + "}\n";
    const auto e = expect_data_error([&] { (void)pd::read_rte(dir.write("deep.jsonl", deep)); });
    CHECK(contains(e.what(), "nested deeper"));
  }
}

TEST_CASE("jsonl: invalid UTF-8 is reported with its line and byte", "[reproduce][jsonl]") {
  using pd::first_invalid_utf8;
  CHECK_FALSE(first_invalid_utf8("plain ASCII").has_value());
  CHECK_FALSE(first_invalid_utf8("Zo\xC3\xAB \xE2\x82\xAC \xF0\x9F\x98\x80").has_value());  // ë € 😀
  CHECK(first_invalid_utf8("ab\xC3(") == 2);            // bad continuation
  CHECK(first_invalid_utf8("\xC0\xAF") == 0);           // overlong '/'
  CHECK(first_invalid_utf8("x\xE0\x80\xAF") == 1);      // overlong 3-byte
  CHECK(first_invalid_utf8("\xED\xA0\x80") == 0);       // surrogate U+D800
  CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0);   // above U+10FFFF
  CHECK(first_invalid_utf8("ok\xE2\x82") == 2);         // truncated at the end
  CHECK(first_invalid_utf8("\x80") == 0);               // lone continuation
  CHECK(first_invalid_utf8("\xFF") == 0);

  temp_dir dir;
  const std::string good = R"({"premise": "p", "hypothesis": "h", "idx": 1})";
  const auto path = dir.write("utf8.jsonl", good + "\n" + "{\"premise\": \"caf\xC3\x28\", \"hypothesis\": \"h\", \"idx\": 2}\n");
  const auto e = expect_data_error([&] { (void)pd::read_rte(path); });
  CHECK(e.line() == 2);
  CHECK(contains(e.what(), ":2: invalid UTF-8 at byte offset 16"));
  // an escaped lone surrogate is rejected by the JSON parser, still with the line
  const auto p2 = dir.write("surrogate.jsonl", R"({"premise": "\ud800", "hypothesis": "h", "idx": 2})" "\n");
  CHECK(expect_data_error([&] { (void)pd::read_rte(p2); }).line() == 1);
}

TEST_CASE("jsonl: arbitrary bytes never crash, they throw data_error", "[reproduce][jsonl]") {
  temp_dir dir;
  const std::string seed_line =
      R"({"idx": 10, "passage": {"text": "Anna has a dog.", "questions": [{"question": "What?", "idx": 1, "answers": [{"text": "A dog", "idx": 2, "label": 1}]}]}})";
  ptp::generator gen{.seed = 2023};
  int parsed = 0, rejected = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string line = seed_line;
    const auto edits = 1 + gen.below(4);
    for (std::uint64_t k = 0; k < edits; ++k) {
      const auto at = gen.below(line.size());
      switch (gen.below(3)) {
        case 0: line[at] = static_cast<char>(gen.below(256)); break;  // any byte, NUL and 0xFF included
        case 1: line.erase(at, 1 + gen.below(8)); break;
        default: line.insert(at, 1, "{}[]\",:\\"[gen.below(8)]); break;
      }
    }
    const auto path = dir.write("fuzz.jsonl", line + "\n");
    try {
      (void)pd::read_multirc(path);
      ++parsed;
    } catch (const pd::data_error& e) {
      CHECK(e.file() == path.string());
      ++rejected;
    }
  }
  CHECK(parsed + rejected == 400);
  CHECK(rejected > 0);
}

// ---- the real data -----------------------------------------------------------------------------

namespace {
fs::path shared_data_dir() {
  const char* env = std::getenv("PTP_SHARED_DIR");
  INFO("PTP_SHARED_DIR must name the shared folder (set by ptp_add_test)");
  REQUIRE(env != nullptr);
  const fs::path data = fs::path(env) / "data";
  INFO("missing: " << data.string());
  REQUIRE(fs::is_directory(data / "fewglue"));
  REQUIRE(fs::is_directory(data / "superglue"));
  return data;
}

template <class Examples>
void check_labelled(const Examples& ex) {
  for (const auto& e : ex) {
    if constexpr (requires { e.label_id(); }) REQUIRE(e.label_id().has_value());
  }
}
}  // namespace

TEST_CASE("every real FewGLUE file reads with its exact example count", "[reproduce][data]") {
  const fs::path dir = shared_data_dir() / "fewglue";
  // flattened counts: MultiRC one per answer option (32 paragraphs, 32 questions each file);
  // ReCoRD one per query (32 passages, one query each)
  const std::map<std::pair<std::string, std::string>, std::size_t> expected = {
      {{"BoolQ", "train"}, 32},    {{"BoolQ", "dev32"}, 32},   {{"CB", "train"}, 32},     {{"CB", "dev32"}, 32},
      {{"COPA", "train"}, 32},     {{"COPA", "dev32"}, 32},    {{"MultiRC", "train"}, 154}, {{"MultiRC", "dev32"}, 167},
      {{"ReCoRD", "train"}, 32},   {{"ReCoRD", "dev32"}, 32},  {{"RTE", "train"}, 32},    {{"RTE", "dev32"}, 32},
      {{"WSC", "train"}, 32},      {{"WSC", "dev32"}, 32},     {{"WiC", "train"}, 32},    {{"WiC", "dev32"}, 32}};
  std::size_t files = 0;
  for (const auto t : pd::all_tasks) {
    for (const std::string split : {"train", "dev32"}) {
      const fs::path path = dir / std::string(pd::task_name(t)) / (split + ".jsonl");
      INFO(path.string());
      REQUIRE(fs::exists(path));
      const auto ex = pd::read_task(t, path);
      CHECK(pd::size(ex) == expected.at({std::string(pd::task_name(t)), split}));
      std::visit([](const auto& v) { check_labelled(v); }, ex);
      ++files;
    }
  }
  CHECK(files == 16);

  // MultiRC: 32 paragraphs and 32 questions per file; ReCoRD: every gold answer is a candidate
  for (const std::string split : {"train", "dev32"}) {
    const auto mrc = pd::read_multirc(dir / "MultiRC" / (split + ".jsonl"));
    std::set<std::int64_t> paragraphs;
    std::set<std::pair<std::int64_t, std::int64_t>> questions;
    for (const auto& e : mrc) {
      paragraphs.insert(e.paragraph_idx);
      questions.insert({e.paragraph_idx, e.question_idx});
    }
    CHECK(paragraphs.size() == 32);
    CHECK(questions.size() == 32);
    const auto rec = pd::read_record(dir / "ReCoRD" / (split + ".jsonl"));
    std::set<std::int64_t> passages;
    for (const auto& e : rec) {
      passages.insert(e.passage_idx);
      REQUIRE_FALSE(e.answers.empty());
      for (const auto& a : e.answers)
        CHECK(std::find(e.candidates.begin(), e.candidates.end(), a) != e.candidates.end());
      for (const auto& s : e.entity_spans) CHECK(s.end <= e.passage.size());
      CHECK(pd::ptuning_v2::input(e).size() == e.candidates.size());
    }
    CHECK(passages.size() == 32);
  }
}

TEST_CASE("every real SuperGLUE training file reads with its exact example count", "[reproduce][data]") {
  const fs::path dir = shared_data_dir() / "superglue";
  const auto cb = pd::read_cb(dir / "CB" / "train.jsonl");
  const auto copa = pd::read_copa(dir / "COPA" / "train.jsonl");
  const auto rte = pd::read_rte(dir / "RTE" / "train.jsonl");
  const auto wsc = pd::read_wsc(dir / "WSC" / "train.jsonl");
  CHECK(cb.size() == 250);
  CHECK(copa.size() == 400);
  CHECK(rte.size() == 2490);
  CHECK(wsc.size() == 554);
  check_labelled(cb);
  check_labelled(copa);
  check_labelled(rte);
  check_labelled(wsc);

  // every example formats in both styles; WSC span repair finds every pronoun (P-tuning asserts it)
  for (const auto& e : wsc) {
    const auto w = pd::repaired_words(e);
    INFO("WSC idx " << e.idx);
    CHECK(w.words.at(w.span2_index) == e.span2_text);
    CHECK(pd::pet::pattern(e).prompt_tokens() == 1);
    (void)pd::ptuning_v2::input(e, pd::ptuning_v2::template_id::bert);
  }
  for (const auto& e : rte) CHECK(pd::pet::pattern(e).prompt_tokens() == 1);
  for (const auto& e : cb) CHECK(pd::pet::pattern(e).prompt_tokens() == 1);
  std::size_t cause = 0;
  for (const auto& e : copa) cause += e.question == pd::copa_question::cause;
  CHECK(cause > 0);
  CHECK(cause < copa.size());
}
