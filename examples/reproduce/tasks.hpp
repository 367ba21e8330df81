// examples/reproduce/tasks.hpp — what the reproduction runner trains on: SuperGLUE examples
// turned into model inputs for both backbones (docs/algorithms.md §5), and each task's metrics.
//  * P-tuning v2 (classifier head): ptp::data::ptuning_v2::input — one text pair per
//    example, or one per choice for COPA (multiple choice);
//  * P-tuning v1 (cloze head): ptp::data::pet::pattern — a PET cloze with [P] prompt slots
//    and [MASK]s, answered through the task's verbalizer (or, for COPA, by scoring the two
//    candidate continuations in the masks).
#pragma once

#include <ptp/data/metrics.hpp>
#include <ptp/data/superglue.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace ptp::repro {

/// Which output layer answers the task (docs/algorithms.md §5).
enum class head_kind {
  classifier,  ///< P-tuning v2: pooled → dropout → Linear(hidden, labels) (COPA: Linear(hidden, 1) per choice)
  cloze,       ///< P-tuning: masked-LM logits at [MASK] restricted to the verbalizer (COPA: candidate scores)
};

/// One training or evaluation example, in both backbones' forms.
struct example {
  std::vector<data::text_pair> choices;  ///< P-tuning v2 input(s): 1 = classification, 2 = COPA's choices
  std::optional<data::pet::cloze> cloze;  ///< P-tuning pattern (when the task has one)
  int label = 0;                          ///< class id, or the right choice
};

/// A task's shape: labels, multiple choice, verbalizer.
struct task_info {
  std::optional<data::task> task;       ///< the SuperGLUE task; none for the demo's own tasks
  std::string name;                     ///< "RTE", … (data folder spelling)
  std::size_t labels = 2;               ///< classes (choices for COPA)
  bool multiple_choice = false;         ///< COPA
  std::vector<std::string> verbalizer;  ///< label words of the cloze head (empty: candidates)
};

/// The shape of task `t`.
inline task_info info(data::task t) {
  task_info i{.task = t, .name = std::string(data::task_name(t))};
  switch (t) {
    case data::task::cb: i.labels = 3; break;
    case data::task::copa: i.multiple_choice = true; break;
    case data::task::record: throw std::invalid_argument("ReCoRD is not supported by the reproduction runner (entity ranking)");
    default: break;
  }
  if (t != data::task::copa && t != data::task::wsc) i.verbalizer = data::pet::verbalizer(t);
  return i;
}

namespace detail {

template <class Ex>
int required_label(const Ex& ex, const std::filesystem::path& where) {
  const auto l = ex.label_id();
  if (!l) throw std::runtime_error(where.string() + ": example idx " + std::to_string(ex.idx) + " has no label");
  return *l;
}

inline example make_example(const data::copa_example& ex, int label, data::ptuning_v2::template_id) {
  example e;
  const auto pair = data::ptuning_v2::input(ex);
  e.choices.assign(pair.begin(), pair.end());
  e.cloze = data::pet::pattern(ex, 1);  // the runner sets the mask count per tokenizer
  e.label = label;
  return e;
}
inline example make_example(const data::wic_example& ex, int label, data::ptuning_v2::template_id t) {
  return {{data::ptuning_v2::input(ex, t)}, data::pet::pattern(ex), label};
}
inline example make_example(const data::wsc_example& ex, int label, data::ptuning_v2::template_id t) {
  return {{data::ptuning_v2::input(ex, t)}, std::nullopt, label};  // P-tuning's WSC is generative: no cloze here
}
template <class Ex>
example make_example(const Ex& ex, int label, data::ptuning_v2::template_id) {
  return {{data::ptuning_v2::input(ex)}, data::pet::pattern(ex), label};
}

}  // namespace detail

/// Converts read examples (any SuperGLUE example type with label_id()).
/// `mirror_copa` adds PET/P-tuning's swapped-choice copies (training sets of the cloze head).
template <class Ex>
std::vector<example> to_examples(const std::vector<Ex>& in, data::ptuning_v2::template_id t,
                                 const std::filesystem::path& where = "<memory>", bool mirror_copa = false) {
  std::vector<example> out;
  out.reserve(in.size());
  for (const auto& ex : in) {
    out.push_back(detail::make_example(ex, detail::required_label(ex, where), t));
    if constexpr (std::is_same_v<Ex, data::copa_example>)
      if (mirror_copa) {
        const auto m = data::mirrored(ex);
        out.push_back(detail::make_example(m, detail::required_label(m, where), t));
      }
  }
  return out;
}

/// Reads a task's jsonl file as examples. MultiRC and ReCoRD are refused (the runner scores
/// per-example classification and COPA-style choices only).
inline std::vector<example> load_examples(data::task t, const std::filesystem::path& path, data::ptuning_v2::template_id tpl,
                                          bool mirror_copa = false) {
  if (t == data::task::multirc || t == data::task::record)
    throw std::invalid_argument(std::string(data::task_name(t)) + " is not supported by the reproduction runner");
  const auto all = data::read_task(t, path);
  return std::visit(
      [&](const auto& v) -> std::vector<example> {
        using Ex = typename std::decay_t<decltype(v)>::value_type;
        if constexpr (std::is_same_v<Ex, data::multirc_example> || std::is_same_v<Ex, data::record_example>)
          throw std::logic_error("unreachable");
        else
          return to_examples(v, tpl, path, mirror_copa);
      },
      all);
}

/// The task's metrics on predictions: accuracy always; CB adds macro-F1 ("f1").
inline std::map<std::string, double> score(std::optional<data::task> t, const std::vector<int>& predictions, const std::vector<int>& labels) {
  std::map<std::string, double> m{{"accuracy", data::accuracy(predictions, labels)}};
  if (t == data::task::cb) m["f1"] = data::macro_f1(predictions, labels);
  return m;
}

/// The number the best epoch is chosen by: accuracy, or for CB the mean of accuracy and
/// macro-F1 (**our choice**; the SuperGLUE CB score is that mean).
inline double selection_score(std::optional<data::task> t, const std::map<std::string, double>& m) {
  return t == data::task::cb ? 0.5 * (m.at("accuracy") + m.at("f1")) : m.at("accuracy");
}

}  // namespace ptp::repro
