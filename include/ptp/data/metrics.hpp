// ptp/data/metrics.hpp — the SuperGLUE metrics and the over-seeds summary.
//
// What each task reports (Wang et al. 2019, SuperGLUE, Table 1; the HuggingFace
// `super_glue` metric reproduces the official scorer):
//   BoolQ, COPA, RTE, WiC, WSC  accuracy
//   CB                          accuracy and macro-F1 (over the classes that occur)
//   MultiRC                     F1a (binary F1 over all answer options) and EM (share of
//                               questions whose options are all right); also F1m, the
//                               mean per-question macro-F1 the HF metric prints
//   ReCoRD                      EM and token F1, each the max over the gold answers, after
//                               SQuAD v1.1 normalisation (as THUDM/P-tuning-v2
//                               tasks/superglue/utils.py)
// and how a method is reported (docs/algorithms.md §7): mean ± sample standard deviation (n − 1),
// min and max over seeds.
//
// Every function checks its inputs (equal lengths, nothing empty) and throws
// std::invalid_argument rather than returning a number that means nothing.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptp::data {

namespace detail {
inline void check_pair(std::size_t predictions, std::size_t labels, const char* what) {
  if (predictions != labels)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(predictions) + " predictions but " +
                                std::to_string(labels) + " labels");
  if (predictions == 0) throw std::invalid_argument(std::string(what) + ": no examples");
}
[[nodiscard]] inline double f1_from_counts(std::size_t tp, std::size_t fp, std::size_t fn) {
  const std::size_t denominator = 2 * tp + fp + fn;
  return denominator == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denominator);
}
}  // namespace detail

/// The share of predictions equal to their labels.
[[nodiscard]] inline double accuracy(std::span<const int> predictions, std::span<const int> labels) {
  detail::check_pair(predictions.size(), labels.size(), "accuracy");
  std::size_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predictions[i] == labels[i];
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

/// Macro-F1: the mean over classes of F1_c = 2·TP/(2·TP + FP + FN), taken over the classes
/// that occur in the labels or the predictions (sklearn f1_score(average="macro") with its
/// default labels; a class never predicted correctly scores 0).
[[nodiscard]] inline double macro_f1(std::span<const int> predictions, std::span<const int> labels) {
  detail::check_pair(predictions.size(), labels.size(), "macro_f1");
  std::set<int> classes(labels.begin(), labels.end());
  classes.insert(predictions.begin(), predictions.end());
  double sum = 0.0;
  for (const int c : classes) {
    std::size_t tp = 0, fp = 0, fn = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      tp += predictions[i] == c && labels[i] == c;
      fp += predictions[i] == c && labels[i] != c;
      fn += predictions[i] != c && labels[i] == c;
    }
    sum += detail::f1_from_counts(tp, fp, fn);
  }
  return sum / static_cast<double>(classes.size());
}

/// Binary F1 of class 1 (positive) against everything else; 0 when neither the labels nor
/// the predictions hold a positive (sklearn's zero_division default).
[[nodiscard]] inline double binary_f1(std::span<const int> predictions, std::span<const int> labels) {
  detail::check_pair(predictions.size(), labels.size(), "binary_f1");
  std::size_t tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    tp += predictions[i] == 1 && labels[i] == 1;
    fp += predictions[i] == 1 && labels[i] != 1;
    fn += predictions[i] != 1 && labels[i] == 1;
  }
  return detail::f1_from_counts(tp, fp, fn);
}

/// CB's two numbers.
struct cb_scores {
  double accuracy = 0.0;
  double macro_f1 = 0.0;
};
[[nodiscard]] inline cb_scores cb_metrics(std::span<const int> predictions, std::span<const int> labels) {
  return {accuracy(predictions, labels), macro_f1(predictions, labels)};
}

// ---- MultiRC -------------------------------------------------------------------------------

/// One scored MultiRC answer option: which question it belongs to, prediction and label
/// (0/1). Build it from a multirc_example's paragraph_idx and question_idx.
struct multirc_prediction {
  std::int64_t paragraph_idx = 0;
  std::int64_t question_idx = 0;
  int prediction = 0;
  int label = 0;
};

struct multirc_scores {
  double f1a = 0.0;  ///< binary F1 over all answer options
  double em = 0.0;   ///< share of questions with every option right
  double f1m = 0.0;  ///< mean over questions of the per-question macro-F1 (HF super_glue "f1_m")
};

/// MultiRC F1a, EM and F1m. Questions are grouped by (paragraph_idx, question_idx), so
/// the options of one question need not be adjacent.
[[nodiscard]] inline multirc_scores multirc_metrics(std::span<const multirc_prediction> options) {
  if (options.empty()) throw std::invalid_argument("multirc_metrics: no answer options");
  std::vector<int> predictions, labels;
  std::map<std::pair<std::int64_t, std::int64_t>, std::pair<std::vector<int>, std::vector<int>>> questions;
  for (const auto& o : options) {
    predictions.push_back(o.prediction);
    labels.push_back(o.label);
    auto& q = questions[{o.paragraph_idx, o.question_idx}];
    q.first.push_back(o.prediction);
    q.second.push_back(o.label);
  }
  multirc_scores s;
  s.f1a = binary_f1(predictions, labels);
  double em = 0.0, f1m = 0.0;
  for (const auto& [key, q] : questions) {
    em += q.first == q.second ? 1.0 : 0.0;
    f1m += macro_f1(q.first, q.second);
  }
  s.em = em / static_cast<double>(questions.size());
  s.f1m = f1m / static_cast<double>(questions.size());
  return s;
}

// ---- ReCoRD --------------------------------------------------------------------------------

namespace detail {
// Python's \w for the ASCII range; bytes of multi-byte UTF-8 sequences count as word
// characters (true for letters such as é, not for the few non-ASCII punctuation marks).
[[nodiscard]] inline bool word_byte(unsigned char c) noexcept {
  return c >= 0x80 || std::isalnum(c) || c == '_';
}
}  // namespace detail

/// SQuAD v1.1 answer normalisation: lower-case, remove punctuation (ASCII, Python's
/// string.punctuation), remove the articles a/an/the as whole words, collapse whitespace.
/// Case and punctuation act on ASCII only (our choice: Python lowers Unicode too).
[[nodiscard]] inline std::string normalize_answer(std::string_view s) {
  std::string t;
  t.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && std::ispunct(c)) continue;
    t.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
  }
  // articles → ' ' where they stand between word boundaries (re.sub(r'\b(a|an|the)\b', ' ', t))
  std::string u;
  u.reserve(t.size());
  for (std::size_t i = 0; i < t.size();) {
    const bool boundary_before = i == 0 || !detail::word_byte(static_cast<unsigned char>(t[i - 1]));
    std::size_t matched = 0;
    if (boundary_before) {
      for (const std::string_view article : {"a", "an", "the"}) {
        const std::size_t end = i + article.size();
        if (std::string_view(t).substr(i, article.size()) == article &&
            (end == t.size() || !detail::word_byte(static_cast<unsigned char>(t[end])))) {
          matched = article.size();
          break;
        }
      }
    }
    if (matched != 0) {
      u.push_back(' ');
      i += matched;
    } else {
      u.push_back(t[i++]);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < u.size();) {
    while (i < u.size() && std::isspace(static_cast<unsigned char>(u[i]))) ++i;
    const std::size_t start = i;
    while (i < u.size() && !std::isspace(static_cast<unsigned char>(u[i]))) ++i;
    if (i > start) {
      if (!out.empty()) out.push_back(' ');
      out.append(u, start, i - start);
    }
  }
  return out;
}

/// 1 when prediction and gold normalise to the same string, else 0.
[[nodiscard]] inline double record_exact_match(std::string_view prediction, std::string_view gold) {
  return normalize_answer(prediction) == normalize_answer(gold) ? 1.0 : 0.0;
}

/// SQuAD token F1 between the normalised token bags; 0 when they share no token (also when
/// either side normalises to nothing, as in SQuAD v1.1).
[[nodiscard]] inline double record_token_f1(std::string_view prediction, std::string_view gold) {
  auto tokens = [](const std::string& s) {
    std::map<std::string, std::size_t> bag;
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t sp = s.find(' ', i);
      const std::size_t end = sp == std::string::npos ? s.size() : sp;
      if (end > i) ++bag[s.substr(i, end - i)], ++n;
      i = end + 1;
    }
    return std::pair{bag, n};
  };
  const auto [p, np] = tokens(normalize_answer(prediction));
  const auto [g, ng] = tokens(normalize_answer(gold));
  std::size_t same = 0;
  for (const auto& [tok, count] : p)
    if (const auto it = g.find(tok); it != g.end()) same += std::min(count, it->second);
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(np);
  const double recall = static_cast<double>(same) / static_cast<double>(ng);
  return 2.0 * precision * recall / (precision + recall);
}

struct record_scores {
  double em = 0.0;  ///< mean over queries of max over golds of exact match
  double f1 = 0.0;  ///< mean over queries of max over golds of token F1
};

/// ReCoRD EM and F1 over queries: predictions[i] is the chosen entity of query i and
/// golds[i] its gold answers (at least one each).
[[nodiscard]] inline record_scores record_metrics(std::span<const std::string> predictions,
                                                  std::span<const std::vector<std::string>> golds) {
  detail::check_pair(predictions.size(), golds.size(), "record_metrics");
  record_scores s;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    if (golds[i].empty())
      throw std::invalid_argument("record_metrics: query " + std::to_string(i) + " has no gold answer");
    double em = 0.0, f1 = 0.0;
    for (const auto& g : golds[i]) {
      em = std::max(em, record_exact_match(predictions[i], g));
      f1 = std::max(f1, record_token_f1(predictions[i], g));
    }
    s.em += em;
    s.f1 += f1;
  }
  s.em /= static_cast<double>(predictions.size());
  s.f1 /= static_cast<double>(predictions.size());
  return s;
}

// ---- over seeds ------------------------------------------------------------------------------

/// One metric over n seeds: mean, sample standard deviation (n − 1 in the denominator;
/// NaN when n < 2, where it is undefined), min and max.
struct seed_summary {
  std::size_t n = 0;
  double mean = 0.0;
  double stddev = std::numeric_limits<double>::quiet_NaN();
  double min = 0.0;
  double max = 0.0;
};

/// Summarises `values` (one per seed); two passes, so the deviation is not cancelled away.
[[nodiscard]] inline seed_summary summarize(std::span<const double> values) {
  if (values.empty()) throw std::invalid_argument("summarize: no values");
  seed_summary s;
  s.n = values.size();
  double sum = 0.0;
  for (const double v : values) {
    if (!std::isfinite(v)) throw std::invalid_argument("summarize: a value is not finite");
    sum += v;
  }
  s.mean = sum / static_cast<double>(s.n);
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  s.min = *lo;
  s.max = *hi;
  if (s.n >= 2) {
    double ss = 0.0;
    for (const double v : values) ss += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(ss / static_cast<double>(s.n - 1));
  }
  return s;
}

}  // namespace ptp::data
