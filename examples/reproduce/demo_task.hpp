// demo_task.hpp — the demo's WordNet WiC task as the runner's data, shared by ptp_demo and
// ptp_landscape so both train on exactly the same examples.
#pragma once

#include "sweep_driver.hpp"
#include "wordnet_wic.hpp"

namespace ptp::repro {

/// WordNet WiC in WiC's P-tuning v2 input format (BERT family: "w: s1", "w: s2"), capped by
/// the command line's --max-train / --max-eval.
inline run_data wordnet_wic_run_data(const wordnet_wic& task, const common_cli& cli) {
  const auto tpl = ptp::data::ptuning_v2::template_id::bert;
  run_data data{.info = info(ptp::data::task::wic),
                .train = to_examples(task.train, tpl),
                .select = to_examples(task.dev, tpl),
                .report = to_examples(task.test, tpl),
                .select_name = "dev",
                .report_name = "test"};
  cap(data.train, cli.max_train);
  cap(data.select, cli.max_eval);
  cap(data.report, cli.max_eval);
  return data;
}

}  // namespace ptp::repro
