// ptp/data/superglue.hpp — the eight SuperGLUE tasks: readers, P-tuning v2 inputs, PET cloze patterns.
//
// Readers take any split by path (train.jsonl, val.jsonl, test.jsonl, FewGLUE's
// dev32.jsonl) in the official SuperGLUE jsonl format (Wang et al. 2019, "SuperGLUE: A
// Stickier Benchmark"; field names as on the task pages and in the data READMEs under
// ../shared/data). Labels are optional everywhere: test splits have none. Every problem
// is a ptp::data::data_error naming FILE:LINE and the field (ptp/data/jsonl.hpp).
//
// Flattening: MultiRC becomes one example per (paragraph, question, answer option) and
// keeps the paragraph and question idx so EM can group the options of one question again
// (ptp/data/metrics.hpp). ReCoRD becomes one example per query, with the candidate
// entities cut from the passage's entity spans and the gold answers.
//
// Two input formats (docs/algorithms.md §5):
//  * ptp::data::ptuning_v2::input(...) — the text (pairs) that THUDM/P-tuning-v2 hands to
//    the tokenizer, tasks/superglue/dataset.py (commit b1520c9a), reimplemented here.
//  * ptp::data::pet::pattern(...) — the PET-style cloze patterns with a [P] where a prompt
//    token goes and [MASK] where the verbalizer token goes, of THUDM/P-tuning PT-Fewshot,
//    data_utils/task_pvps.py pattern_id = 1 (commit f4225d4d), reimplemented here.
#pragma once

#include "ptp/data/jsonl.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ptp::data {

// ---- tasks ---------------------------------------------------------------------------------

/// The eight SuperGLUE tasks, in the benchmark's alphabetical order.
enum class task { boolq, cb, copa, multirc, record, rte, wic, wsc };

inline constexpr std::array<task, 8> all_tasks = {task::boolq, task::cb,  task::copa, task::multirc,
                                                  task::record, task::rte, task::wic,  task::wsc};

/// The task's name as the data folders spell it: "BoolQ", "CB", "COPA", "MultiRC", "ReCoRD",
/// "RTE", "WiC", "WSC".
[[nodiscard]] constexpr std::string_view task_name(task t) noexcept {
  constexpr std::array<std::string_view, 8> names = {"BoolQ", "CB", "COPA", "MultiRC",
                                                     "ReCoRD", "RTE", "WiC", "WSC"};
  return names[static_cast<std::size_t>(t)];
}

/// The task named `name`, case-insensitively ("boolq", "BoolQ", "record", ...).
[[nodiscard]] inline task parse_task(std::string_view name) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string wanted = lower(name);
  for (const task t : all_tasks)
    if (lower(task_name(t)) == wanted) return t;
  throw std::invalid_argument("unknown SuperGLUE task '" + std::string(name) +
                              "' (expected BoolQ, CB, COPA, MultiRC, ReCoRD, RTE, WiC or WSC)");
}

// ---- examples ------------------------------------------------------------------------------
// Label ids follow the order of the HuggingFace `super_glue` dataset's ClassLabel names,
// which is what P-tuning v2's classification head was trained against.

/// BoolQ: a yes/no question about a passage. Label: true = "yes".
struct boolq_example {
  std::int64_t idx = 0;
  std::string question;
  std::string passage;
  std::optional<bool> label;
  /// 0 = false, 1 = true.
  [[nodiscard]] std::optional<int> label_id() const { return label ? std::optional<int>(*label ? 1 : 0) : std::nullopt; }
};

/// CB (CommitmentBank) labels, ids in HF super_glue order.
enum class cb_label { entailment = 0, contradiction = 1, neutral = 2 };
inline constexpr std::array<std::string_view, 3> cb_label_names = {"entailment", "contradiction", "neutral"};

/// CB: three-way entailment.
struct cb_example {
  std::int64_t idx = 0;
  std::string premise;
  std::string hypothesis;
  std::optional<cb_label> label;
  [[nodiscard]] std::optional<int> label_id() const { return label ? std::optional<int>(static_cast<int>(*label)) : std::nullopt; }
};

/// RTE labels, ids in HF super_glue order.
enum class rte_label { entailment = 0, not_entailment = 1 };
inline constexpr std::array<std::string_view, 2> rte_label_names = {"entailment", "not_entailment"};

/// RTE: two-way entailment.
struct rte_example {
  std::int64_t idx = 0;
  std::string premise;
  std::string hypothesis;
  std::optional<rte_label> label;
  [[nodiscard]] std::optional<int> label_id() const { return label ? std::optional<int>(static_cast<int>(*label)) : std::nullopt; }
};

/// COPA's question: is the right choice the cause or the effect of the premise?
enum class copa_question { cause, effect };

/// COPA: choose the more plausible of two alternatives. Label: 0 = choice1, 1 = choice2.
struct copa_example {
  std::int64_t idx = 0;
  std::string premise;
  std::string choice1;
  std::string choice2;
  copa_question question = copa_question::cause;
  std::optional<int> label;
  [[nodiscard]] std::optional<int> label_id() const { return label; }
};

/// The COPA example with its two choices swapped (and the label flipped). PET and
/// P-tuning (PT-Fewshot task_processors.py, CopaProcessor) add these mirrors to the
/// training set; call it there, never on evaluation splits.
[[nodiscard]] inline copa_example mirrored(const copa_example& ex) {
  copa_example m = ex;
  std::swap(m.choice1, m.choice2);
  if (m.label) m.label = 1 - *m.label;
  return m;
}

/// MultiRC, flattened: one answer option of one question about one paragraph. Label:
/// true = the option is correct. (paragraph_idx, question_idx) identifies the question
/// for EM; answer_idx is the option's own idx.
struct multirc_example {
  std::int64_t paragraph_idx = 0;
  std::int64_t question_idx = 0;
  std::int64_t answer_idx = 0;
  std::string paragraph;
  std::string question;
  std::string answer;
  std::optional<bool> label;
  [[nodiscard]] std::optional<int> label_id() const { return label ? std::optional<int>(*label ? 1 : 0) : std::nullopt; }
};

/// One entity span of a ReCoRD passage, as byte offsets into the UTF-8 passage text:
/// [begin, end). (The file gives inclusive code point offsets; the reader converts.)
struct record_span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// ReCoRD, flattened: one cloze query about a passage. `candidates` are the distinct
/// entity strings cut from the passage's entity spans, sorted (byte order, as HF
/// super_glue does); `answers` the distinct gold answer texts in file order (empty on
/// test splits). `query` still holds "@placeholder".
struct record_example {
  std::int64_t passage_idx = 0;
  std::int64_t query_idx = 0;
  std::string source;
  std::string passage;
  std::string query;
  std::vector<record_span> entity_spans;
  std::vector<std::string> candidates;
  std::vector<std::string> answers;
  /// 1 where the candidate is a gold answer, else 0 (the binary targets P-tuning v2 trains on).
  [[nodiscard]] std::vector<int> candidate_labels() const {
    std::vector<int> out;
    out.reserve(candidates.size());
    for (const auto& c : candidates) out.push_back(std::find(answers.begin(), answers.end(), c) != answers.end());
    return out;
  }
};

/// WiC: is `word` used with the same sense in both sentences? Offsets are character
/// offsets of the word in each sentence, as given. Label: true = same sense.
struct wic_example {
  std::int64_t idx = 0;
  std::string word;
  std::string sentence1;
  std::string sentence2;
  std::int64_t start1 = 0, end1 = 0, start2 = 0, end2 = 0;
  std::optional<bool> label;
  [[nodiscard]] std::optional<int> label_id() const { return label ? std::optional<int>(*label ? 1 : 0) : std::nullopt; }
};

/// WSC: does the pronoun span2 refer to the noun phrase span1? Span indices count
/// whitespace-separated words of `text`. Label: true = it does.
struct wsc_example {
  std::int64_t idx = 0;
  std::string text;
  std::int64_t span1_index = 0;
  std::string span1_text;
  std::int64_t span2_index = 0;
  std::string span2_text;
  std::optional<bool> label;
  [[nodiscard]] std::optional<int> label_id() const { return label ? std::optional<int>(*label ? 1 : 0) : std::nullopt; }
};

// ---- readers -------------------------------------------------------------------------------

namespace detail {

[[nodiscard]] inline std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) words.emplace_back(s.substr(start, i - start));
  }
  return words;
}

[[nodiscard]] inline std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

template <class Example, class Parse>
std::vector<Example> read_each(const std::filesystem::path& path, Parse parse) {
  std::vector<Example> out;
  for_each_jsonl(path, [&](const json_record& r) { parse(r, out); });
  return out;
}

template <class Enum, std::size_t N>
std::optional<Enum> label_from_names(const json_record& r, const std::array<std::string_view, N>& names) {
  const auto s = r.optional_string("label");
  if (!s) return std::nullopt;
  for (std::size_t i = 0; i < N; ++i)
    if (*s == names[i]) return static_cast<Enum>(i);
  std::string expected;
  for (std::size_t i = 0; i < N; ++i) expected += (i ? ", " : "") + std::string(names[i]);
  throw r.error("label", "unknown label '" + *s + "' (expected one of " + expected + ")");
}

}  // namespace detail

/// BoolQ: {"question", "passage", "idx", "label"?: bool}.
[[nodiscard]] inline std::vector<boolq_example> read_boolq(const std::filesystem::path& path) {
  return detail::read_each<boolq_example>(path, [](const json_record& r, auto& out) {
    out.push_back({.idx = r.integer("idx"), .question = r.string("question"), .passage = r.string("passage"),
                   .label = r.optional_boolean("label")});
  });
}

/// CB: {"premise", "hypothesis", "idx", "label"?: "entailment"|"contradiction"|"neutral"}.
[[nodiscard]] inline std::vector<cb_example> read_cb(const std::filesystem::path& path) {
  return detail::read_each<cb_example>(path, [](const json_record& r, auto& out) {
    out.push_back({.idx = r.integer("idx"), .premise = r.string("premise"), .hypothesis = r.string("hypothesis"),
                   .label = detail::label_from_names<cb_label>(r, cb_label_names)});
  });
}

/// RTE: {"premise", "hypothesis", "idx", "label"?: "entailment"|"not_entailment"}.
[[nodiscard]] inline std::vector<rte_example> read_rte(const std::filesystem::path& path) {
  return detail::read_each<rte_example>(path, [](const json_record& r, auto& out) {
    out.push_back({.idx = r.integer("idx"), .premise = r.string("premise"), .hypothesis = r.string("hypothesis"),
                   .label = detail::label_from_names<rte_label>(r, rte_label_names)});
  });
}

/// COPA: {"premise", "choice1", "choice2", "question": "cause"|"effect", "idx", "label"?: 0|1}.
[[nodiscard]] inline std::vector<copa_example> read_copa(const std::filesystem::path& path) {
  return detail::read_each<copa_example>(path, [](const json_record& r, auto& out) {
    copa_example ex{.idx = r.integer("idx"), .premise = r.string("premise"), .choice1 = r.string("choice1"),
                    .choice2 = r.string("choice2"), .question = copa_question::cause, .label = std::nullopt};
    const std::string q = r.string("question");
    if (q == "cause") ex.question = copa_question::cause;
    else if (q == "effect") ex.question = copa_question::effect;
    else throw r.error("question", "expected \"cause\" or \"effect\", got \"" + q + "\"");
    if (const auto label = r.optional_integer("label")) {
      if (*label != 0 && *label != 1) throw r.error("label", "expected 0 or 1, got " + std::to_string(*label));
      ex.label = static_cast<int>(*label);
    }
    out.push_back(std::move(ex));
  });
}

/// MultiRC: {"idx", "passage": {"text", "questions": [{"question", "idx", "answers":
/// [{"text", "idx", "label"?: 0|1}]}]}}, flattened to one example per answer option.
[[nodiscard]] inline std::vector<multirc_example> read_multirc(const std::filesystem::path& path) {
  return detail::read_each<multirc_example>(path, [](const json_record& r, auto& out) {
    const std::int64_t paragraph_idx = r.integer("idx");
    const json_record passage = r.object("passage");
    const std::string text = passage.string("text");
    const auto questions = passage.array("questions");
    if (questions.empty()) throw passage.error("questions", "no questions");
    for (const auto& q : questions) {
      const std::string question = q.string("question");
      const std::int64_t question_idx = q.integer("idx");
      const auto answers = q.array("answers");
      if (answers.empty()) throw q.error("answers", "no answer options");
      for (const auto& a : answers) {
        multirc_example ex{.paragraph_idx = paragraph_idx, .question_idx = question_idx,
                           .answer_idx = a.integer("idx"), .paragraph = text, .question = question,
                           .answer = a.string("text"), .label = std::nullopt};
        if (const auto label = a.optional_integer("label")) {
          if (*label != 0 && *label != 1) throw a.error("label", "expected 0 or 1, got " + std::to_string(*label));
          ex.label = *label == 1;
        }
        out.push_back(std::move(ex));
      }
    }
  });
}

/// ReCoRD: {"idx", "source", "passage": {"text", "entities": [{"start", "end"}]},
/// "qas": [{"query", "idx", "answers"?: [{"start", "end", "text"}]}]}. Spans are
/// inclusive code point offsets (text[start..end]); one example per query.
[[nodiscard]] inline std::vector<record_example> read_record(const std::filesystem::path& path) {
  return detail::read_each<record_example>(path, [](const json_record& r, auto& out) {
    const std::int64_t passage_idx = r.integer("idx");
    const std::string source = r.optional_string("source").value_or("");
    const json_record passage = r.object("passage");
    const std::string text = passage.string("text");
    std::vector<record_span> spans;
    std::vector<std::string> candidates;
    for (const auto& e : passage.array("entities")) {
      const std::int64_t start = e.integer("start"), end = e.integer("end");
      if (start < 0) throw e.error("start", "negative offset");
      if (end < start) throw e.error("end", "end " + std::to_string(end) + " before start " + std::to_string(start));
      const auto b = utf8_byte_offset(text, static_cast<std::size_t>(start));
      const auto f = utf8_byte_offset(text, static_cast<std::size_t>(end) + 1);
      if (!b || !f) throw e.error("end", "span [" + std::to_string(start) + ", " + std::to_string(end) +
                                             "] lies outside the passage text");
      spans.push_back({*b, *f});
      candidates.push_back(text.substr(*b, *f - *b));
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    const auto qas = r.array("qas");
    if (qas.empty()) throw r.error("qas", "no queries");
    for (const auto& q : qas) {
      record_example ex{.passage_idx = passage_idx, .query_idx = q.integer("idx"), .source = source,
                        .passage = text, .query = q.string("query"), .entity_spans = spans,
                        .candidates = candidates, .answers = {}};
      if (ex.query.find("@placeholder") == std::string::npos) throw q.error("query", "has no @placeholder");
      for (const auto& a : q.optional_array("answers")) {
        std::string answer = a.string("text");
        if (std::find(ex.answers.begin(), ex.answers.end(), answer) == ex.answers.end())
          ex.answers.push_back(std::move(answer));
      }
      out.push_back(std::move(ex));
    }
  });
}

/// WiC: {"word", "sentence1", "sentence2", "start1", "end1", "start2", "end2", "idx", "label"?: bool}.
[[nodiscard]] inline std::vector<wic_example> read_wic(const std::filesystem::path& path) {
  return detail::read_each<wic_example>(path, [](const json_record& r, auto& out) {
    out.push_back({.idx = r.integer("idx"), .word = r.string("word"), .sentence1 = r.string("sentence1"),
                   .sentence2 = r.string("sentence2"), .start1 = r.integer("start1"), .end1 = r.integer("end1"),
                   .start2 = r.integer("start2"), .end2 = r.integer("end2"), .label = r.optional_boolean("label")});
  });
}

/// WSC: {"text", "target": {"span1_index", "span1_text", "span2_index", "span2_text"},
/// "idx", "label"?: bool}. Both span indices must name a word of `text`.
[[nodiscard]] inline std::vector<wsc_example> read_wsc(const std::filesystem::path& path) {
  return detail::read_each<wsc_example>(path, [](const json_record& r, auto& out) {
    const json_record target = r.object("target");
    wsc_example ex{.idx = r.integer("idx"), .text = r.string("text"), .span1_index = target.integer("span1_index"),
                   .span1_text = target.string("span1_text"), .span2_index = target.integer("span2_index"),
                   .span2_text = target.string("span2_text"), .label = r.optional_boolean("label")};
    const auto words = static_cast<std::int64_t>(detail::split_words(ex.text).size());
    if (ex.span1_index < 0 || ex.span1_index >= words)
      throw target.error("span1_index", "word index " + std::to_string(ex.span1_index) + " outside the text's " +
                                            std::to_string(words) + " words");
    if (ex.span2_index < 0 || ex.span2_index >= words)
      throw target.error("span2_index", "word index " + std::to_string(ex.span2_index) + " outside the text's " +
                                            std::to_string(words) + " words");
    out.push_back(std::move(ex));
  });
}

/// All examples of one task's file, whichever the task.
using any_examples = std::variant<std::vector<boolq_example>, std::vector<cb_example>, std::vector<copa_example>,
                                  std::vector<multirc_example>, std::vector<record_example>,
                                  std::vector<rte_example>, std::vector<wic_example>, std::vector<wsc_example>>;

/// Reads `path` as task `t`; the variant holds that task's example vector.
[[nodiscard]] inline any_examples read_task(task t, const std::filesystem::path& path) {
  switch (t) {
    case task::boolq: return read_boolq(path);
    case task::cb: return read_cb(path);
    case task::copa: return read_copa(path);
    case task::multirc: return read_multirc(path);
    case task::record: return read_record(path);
    case task::rte: return read_rte(path);
    case task::wic: return read_wic(path);
    case task::wsc: return read_wsc(path);
  }
  throw std::invalid_argument("unknown task");
}

/// The number of (flattened) examples in `examples`.
[[nodiscard]] inline std::size_t size(const any_examples& examples) {
  return std::visit([](const auto& v) { return v.size(); }, examples);
}

// ---- WSC span repair -------------------------------------------------------------------------

/// A WSC text as words, with span indices that really point at the spans. A few SuperGLUE
/// WSC lines are off by one or glue punctuation to the pronoun (`him,"` for "him"); PET and
/// P-tuning repair them the same way (PT-Fewshot task_processors.py, WscProcessor): try
/// the neighbouring word (±1), and split the word when it starts with the pronoun.
struct wsc_words {
  std::vector<std::string> words;
  std::size_t span1_index = 0;
  std::size_t span2_index = 0;
};

[[nodiscard]] inline wsc_words repaired_words(const wsc_example& ex) {
  wsc_words w{.words = detail::split_words(ex.text), .span1_index = static_cast<std::size_t>(ex.span1_index),
              .span2_index = static_cast<std::size_t>(ex.span2_index)};
  if (ex.span2_index < 0 || w.span2_index >= w.words.size() || ex.span1_index < 0 || w.span1_index >= w.words.size())
    throw std::invalid_argument("WSC example " + std::to_string(ex.idx) + ": span index outside the text");
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const auto span1 = detail::split_words(lower(ex.span1_text));
  auto span1_at = [&](std::int64_t at) {
    if (at < 0 || static_cast<std::size_t>(at) + span1.size() > w.words.size()) return false;
    for (std::size_t k = 0; k < span1.size(); ++k)
      if (lower(w.words[static_cast<std::size_t>(at) + k]) != span1[k]) return false;
    return true;
  };
  const auto i1 = static_cast<std::int64_t>(w.span1_index);
  if (!span1_at(i1)) {
    if (span1_at(i1 - 1)) w.span1_index = static_cast<std::size_t>(i1 - 1);
    else if (span1_at(i1 + 1)) w.span1_index = static_cast<std::size_t>(i1 + 1);
  }
  auto word_is = [&](std::int64_t at) {
    return at >= 0 && static_cast<std::size_t>(at) < w.words.size() && w.words[static_cast<std::size_t>(at)] == ex.span2_text;
  };
  const auto i2 = static_cast<std::int64_t>(w.span2_index);
  if (!word_is(i2)) {
    if (word_is(i2 - 1)) w.span2_index = static_cast<std::size_t>(i2 - 1);
    else if (word_is(i2 + 1)) w.span2_index = static_cast<std::size_t>(i2 + 1);
    std::string& word = w.words[w.span2_index];
    if (word != ex.span2_text && !ex.span2_text.empty() && word.starts_with(ex.span2_text)) {
      std::string rest = word.substr(ex.span2_text.size());
      word = ex.span2_text;
      w.words.insert(w.words.begin() + static_cast<std::ptrdiff_t>(w.span2_index) + 1, std::move(rest));
    }
  }
  return w;
}

// ---- (a) P-tuning v2 inputs ----------------------------------------------------------------

/// What goes to the tokenizer: one text, or a pair (`second` set) encoded as
/// [CLS] first [SEP] second [SEP] (BERT) or <s> first </s></s> second </s> (RoBERTa).
struct text_pair {
  std::string first;
  std::optional<std::string> second;
  friend bool operator==(const text_pair&, const text_pair&) = default;
};

namespace ptuning_v2 {

/// P-tuning v2's `template_id`: 0 is the RoBERTa template, 1 the BERT one (WiC and WSC
/// differ; the other tasks have one format).
enum class template_id { roberta = 0, bert = 1 };

/// BoolQ: (question, passage).
[[nodiscard]] inline text_pair input(const boolq_example& ex) { return {ex.question, ex.passage}; }
/// CB: (premise, hypothesis).
[[nodiscard]] inline text_pair input(const cb_example& ex) { return {ex.premise, ex.hypothesis}; }
/// RTE: (premise, hypothesis).
[[nodiscard]] inline text_pair input(const rte_example& ex) { return {ex.premise, ex.hypothesis}; }
/// MultiRC: (paragraph, "question answer"), binary per answer option.
[[nodiscard]] inline text_pair input(const multirc_example& ex) { return {ex.paragraph, ex.question + " " + ex.answer}; }

/// WiC. RoBERTa: ("s1 s2 Does w have the same meaning in both sentences?");
/// BERT: ("w: s1", "w: s2").
[[nodiscard]] inline text_pair input(const wic_example& ex, template_id t = template_id::roberta) {
  if (t == template_id::bert) return {ex.word + ": " + ex.sentence1, ex.word + ": " + ex.sentence2};
  return {ex.sentence1 + " " + ex.sentence2 + " Does " + ex.word + " have the same meaning in both sentences?",
          std::nullopt};
}

/// WSC. RoBERTa: ("span2_text: text", span1_text) — dataset.py builds
/// `span2_word + ": " + text` and pairs it with span1_text; BERT: (text with the pronoun
/// word marked as *word*, span1_text). Like dataset.py, no span repair here.
[[nodiscard]] inline text_pair input(const wsc_example& ex, template_id t = template_id::roberta) {
  if (t == template_id::bert) {
    auto words = detail::split_words(ex.text);
    auto& w = words.at(static_cast<std::size_t>(ex.span2_index));
    w = "*" + w + "*";
    return {detail::join_words(words), ex.span1_text};
  }
  return {ex.span2_text + ": " + ex.text, ex.span1_text};
}

/// COPA as multiple choice: choice k is ("premise because" | "premise so", choice k);
/// a Linear(hidden, 1) scores each, softmax over the two.
[[nodiscard]] inline std::array<text_pair, 2> input(const copa_example& ex) {
  const std::string first = ex.premise + (ex.question == copa_question::cause ? " because" : " so");
  return {text_pair{first, ex.choice1}, text_pair{first, ex.choice2}};
}

/// ReCoRD: the passage with every "@highlight\n" turned into "- ".
[[nodiscard]] inline std::string record_passage(const std::string& passage) {
  static constexpr std::string_view from = "@highlight\n", to = "- ";
  std::string out;
  out.reserve(passage.size());
  std::size_t i = 0;
  for (std::size_t hit; (hit = passage.find(from, i)) != std::string::npos; i = hit + from.size())
    out.append(passage, i, hit - i).append(to);
  return out.append(passage, i, std::string::npos);
}

/// `query` with every "@placeholder" replaced by `entity`.
[[nodiscard]] inline std::string fill_placeholder(const std::string& query, const std::string& entity) {
  static constexpr std::string_view placeholder = "@placeholder";
  std::string out;
  std::size_t i = 0;
  for (std::size_t hit; (hit = query.find(placeholder, i)) != std::string::npos; i = hit + placeholder.size())
    out.append(query, i, hit - i).append(entity);
  return out.append(query, i, std::string::npos);
}

/// ReCoRD: one pair (passage, query with the candidate in place of @placeholder) per
/// candidate, in `ex.candidates` order; label 1 when the candidate is gold
/// (record_example::candidate_labels). Prediction = the candidate with the highest
/// positive-class score; score with metrics.hpp record_scores.
[[nodiscard]] inline std::vector<text_pair> input(const record_example& ex) {
  const std::string passage = record_passage(ex.passage);
  std::vector<text_pair> out;
  out.reserve(ex.candidates.size());
  for (const auto& c : ex.candidates) out.push_back({passage, fill_placeholder(ex.query, c)});
  return out;
}

}  // namespace ptuning_v2

// ---- (b) PET cloze patterns (P-tuning v1, FewGLUE) -------------------------------------------

namespace pet {

/// What a piece of a cloze pattern is. P-tuning encodes each piece on its own and
/// concatenates the tokens: text pieces are tokenized; `prompt` is one trainable prompt
/// token (P-tuning writes a placeholder word "the" with block_flag = 1 and swaps its
/// embedding for the prompt encoder's output); `mask` is `masks` mask tokens; `separator`
/// is the model's separator token (PT-Fewshot writes the literal "[SEP]").
enum class part_kind { text, prompt, mask, separator };

/// One piece of a pattern. `shortenable` pieces are the ones truncation may cut (from
/// the end, longest shortenable sequence first, as PET's PVP.truncate).
struct part {
  part_kind kind = part_kind::text;
  std::string text;
  bool shortenable = false;
  std::size_t masks = 1;  ///< number of mask tokens when kind == mask
  friend bool operator==(const part&, const part&) = default;
};

/// A filled pattern. `candidates` are what the masks may become for tasks whose answer is
/// text rather than a label word (COPA: the two processed choices; WSC: span1's text).
struct cloze {
  std::vector<part> parts;
  std::vector<std::string> candidates;

  /// The pattern as one line for people and tests: pieces trimmed and joined by single
  /// spaces, prompt tokens as "[P]", masks as "[MASK]" (repeated), separators as "[SEP]".
  [[nodiscard]] std::string render() const {
    std::string out;
    auto add = [&](std::string_view s) {
      const auto b = s.find_first_not_of(' ');
      if (b == std::string_view::npos) return;
      s = s.substr(b, s.find_last_not_of(' ') - b + 1);
      if (!out.empty()) out += ' ';
      out += s;
    };
    for (const auto& p : parts) {
      switch (p.kind) {
        case part_kind::text: add(p.text); break;
        case part_kind::prompt: add("[P]"); break;
        case part_kind::separator: add("[SEP]"); break;
        case part_kind::mask:
          for (std::size_t k = 0; k < p.masks; ++k) add("[MASK]");
          break;
      }
    }
    return out;
  }
  /// How many prompt tokens the pattern holds.
  [[nodiscard]] std::size_t prompt_tokens() const {
    return static_cast<std::size_t>(std::count_if(parts.begin(), parts.end(), [](const part& p) { return p.kind == part_kind::prompt; }));
  }
};

namespace detail {
inline part text(std::string s, bool shortenable = false) { return {part_kind::text, std::move(s), shortenable, 1}; }
inline part prompt() { return {part_kind::prompt, {}, false, 1}; }
inline part mask(std::size_t n = 1) { return {part_kind::mask, {}, false, n}; }
inline part separator() { return {part_kind::separator, {}, false, 1}; }

/// Python's s.rstrip(string.punctuation): drop trailing ASCII punctuation.
[[nodiscard]] inline std::string rstrip_punctuation(std::string s) {
  while (!s.empty() && std::ispunct(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}
/// PET's lowercase_first: lower-case the first character (ASCII).
[[nodiscard]] inline std::string lowercase_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}
}  // namespace detail

/// The verbalizer: the word the [MASK] should become, indexed by label_id(). RTE
/// {entailment: Yes, not_entailment: No}; CB {entailment: Yes, contradiction: No,
/// neutral: Maybe}; BoolQ, WiC, WSC-as-classification and MultiRC {false: No, true: Yes}.
/// COPA and WSC in P-tuning are scored by filling the masks with candidate text instead
/// (cloze::candidates), ReCoRD has no pattern in PT-Fewshot: both throw here.
[[nodiscard]] inline std::vector<std::string> verbalizer(task t) {
  switch (t) {
    case task::rte: return {"Yes", "No"};
    case task::cb: return {"Yes", "No", "Maybe"};
    case task::boolq:
    case task::wic:
    case task::multirc: return {"No", "Yes"};
    case task::copa:
    case task::wsc:
    case task::record: break;
  }
  throw std::invalid_argument("no label verbalizer for " + std::string(task_name(t)) +
                              " (its answer is candidate text; see pet::cloze::candidates)");
}

/// RTE: `premise Question: hypothesis ? [P] Answer: [MASK] .` (final punctuation of the
/// hypothesis removed).
[[nodiscard]] inline cloze pattern(const rte_example& ex) {
  return {{detail::text(ex.premise, true), detail::text("Question:"),
           detail::text(detail::rstrip_punctuation(ex.hypothesis), true), detail::text("?"), detail::prompt(),
           detail::text("Answer:"), detail::mask(), detail::text(".")},
          {}};
}

/// CB: `premise [SEP] hypothesis ? [P] answer: [MASK]` (only the premise is shortenable).
[[nodiscard]] inline cloze pattern(const cb_example& ex) {
  return {{detail::text(ex.premise, true), detail::separator(), detail::text(ex.hypothesis), detail::text("?"),
           detail::prompt(), detail::text(" answer: "), detail::mask()},
          {}};
}

/// BoolQ: `passage . [P] Question: question ? Answer: [MASK] .`
[[nodiscard]] inline cloze pattern(const boolq_example& ex) {
  return {{detail::text(ex.passage, true), detail::text("."), detail::prompt(), detail::text(" Question: "),
           detail::text(ex.question, true), detail::text("? Answer: "), detail::mask(), detail::text(".")},
          {}};
}

/// MultiRC: `paragraph . Question: question ? Is it answer ? [P] [MASK] .`
[[nodiscard]] inline cloze pattern(const multirc_example& ex) {
  return {{detail::text(ex.paragraph, true), detail::text(". Question: "), detail::text(ex.question),
           detail::text("? Is it "), detail::text(ex.answer), detail::text("?"), detail::prompt(), detail::mask(),
           detail::text(".")},
          {}};
}

/// WiC: `sentence1 [SEP] sentence2 [P] *word *? [MASK]` (PT-Fewshot writes the marked
/// word as "*" + word + " *").
[[nodiscard]] inline cloze pattern(const wic_example& ex) {
  return {{detail::text(ex.sentence1, true), detail::separator(), detail::text(ex.sentence2, true),
           detail::prompt(), detail::text("*" + ex.word + " *?"), detail::mask()},
          {}};
}

/// COPA: `choice1 or choice2 ? premise because|so [P] [MASK]×masks .` with the premise's
/// and the choices' final punctuation removed and the choices' first letter lower-cased.
/// `masks` is the longer choice's token count (tokenizer-dependent, so the caller's);
/// candidates = the two processed choices, scored by filling the masks.
[[nodiscard]] inline cloze pattern(const copa_example& ex, std::size_t masks = 1) {
  std::string c1 = detail::rstrip_punctuation(detail::lowercase_first(ex.choice1));
  std::string c2 = detail::rstrip_punctuation(detail::lowercase_first(ex.choice2));
  cloze out{{detail::text(c1), detail::text("or"), detail::text(c2), detail::text("?"),
             detail::text(detail::rstrip_punctuation(ex.premise), true),
             detail::text(ex.question == copa_question::cause ? "because" : "so"), detail::prompt(),
             detail::mask(masks), detail::text(".")},
            {}};
  out.candidates = {std::move(c1), std::move(c2)};
  return out;
}

/// WSC: `text-with-*pronoun* [P] pronoun '* span2 *' refers to [MASK]×masks .` after span
/// repair (repaired_words). `masks` = span1's token count + padding: P-tuning draws the
/// padding from {0,1,2,3} for training and uses 1 for evaluation (the caller's). P-tuning
/// trains WSC on the positive examples only; candidates = {span1_text}.
[[nodiscard]] inline cloze pattern(const wsc_example& ex, std::size_t masks = 1) {
  wsc_words w = repaired_words(ex);
  auto& pronoun = w.words.at(w.span2_index);
  pronoun = "*" + pronoun + "*";
  return {{detail::text(ptp::data::detail::join_words(w.words), true), detail::prompt(), detail::text("pronoun '*"),
           detail::text(ex.span2_text), detail::text("*' refers to"), detail::mask(masks), detail::text(".")},
          {ex.span1_text}};
}

}  // namespace pet

}  // namespace ptp::data
