// Fuzz target: the SuperGLUE JSON-lines readers (include/ptp/data/superglue.hpp, jsonl.hpp).
//   byte 0 % 8 picks the task (BoolQ, CB, COPA, MultiRC, ReCoRD, RTE, WiC, WSC, in
//   ptp::data::all_tasks order); the rest is written to a file and read with read_task.
// Reading either succeeds — then every example goes through the P-tuning v2 inputs and the
// PET cloze patterns, the ReCoRD spans are checked against the passage, and the WSC spans are
// repaired — or throws ptp::data::data_error (file, line, field). Nothing else may escape.
#include <string>
#include <type_traits>
#include <variant>

#include <ptp/data/superglue.hpp>

#include "common.hpp"

namespace {
namespace sg = ptp::data;

template <class Example>
void use(const Example& ex) {
  if constexpr (std::is_same_v<Example, sg::record_example>) {
    for (const auto& s : ex.entity_spans)
      if (s.begin > s.end || s.end > ex.passage.size()) ptp_fuzz::finding("ReCoRD span outside the passage");
    (void)ex.candidate_labels();
    (void)sg::ptuning_v2::input(ex);
  } else if constexpr (std::is_same_v<Example, sg::copa_example>) {
    (void)sg::ptuning_v2::input(ex);
    (void)sg::pet::pattern(ex, 3);
  } else if constexpr (std::is_same_v<Example, sg::wsc_example>) {
    // The reader guarantees both span indices name a word; repair and both templates rely on it.
    (void)sg::ptuning_v2::input(ex, sg::ptuning_v2::template_id::roberta);
    (void)sg::ptuning_v2::input(ex, sg::ptuning_v2::template_id::bert);
    (void)sg::pet::pattern(ex, 2);
  } else if constexpr (std::is_same_v<Example, sg::wic_example>) {
    (void)sg::ptuning_v2::input(ex, sg::ptuning_v2::template_id::roberta);
    (void)sg::ptuning_v2::input(ex, sg::ptuning_v2::template_id::bert);
    (void)sg::pet::pattern(ex);
  } else {
    (void)sg::ptuning_v2::input(ex);
    (void)sg::pet::pattern(ex);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const sg::task t = sg::all_tasks[data[0] % sg::all_tasks.size()];
  const auto path = ptp_fuzz::scratch_dir::get().write("task.jsonl", ptp_fuzz::text(data + 1, size - 1));
  try {
    const auto examples = sg::read_task(t, path);
    if (sg::size(examples) == 0) ptp_fuzz::finding("a file without examples was accepted");
    std::visit([](const auto& v) { for (const auto& ex : v) use(ex); }, examples);
  } catch (const sg::data_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
