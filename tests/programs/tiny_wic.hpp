// tiny_wic.hpp — the tiny WordNet WiC runs shared by the programs tests and
// sweep_child: the data (WiC's P-tuning v2 BERT format), one-epoch settings on the packaged
// MiniLM.
#pragma once

#include "sweep_driver.hpp"
#include "wordnet_wic.hpp"

namespace ptp_test {

/// `train_pairs` training pairs, 4 dev, 4 test (balanced, split by lemma).
inline ptp::repro::run_data tiny_wic(const ptp::text::wordnet& wn, std::size_t train_pairs) {
  using namespace ptp::repro;
  const auto task = build_wordnet_wic(wn, {.train_pairs = train_pairs, .dev_pairs = 4, .test_pairs = 4});
  const auto tpl = ptp::data::ptuning_v2::template_id::bert;
  return {.info = info(ptp::data::task::wic),
          .train = to_examples(task.train, tpl),
          .select = to_examples(task.dev, tpl),
          .report = to_examples(task.test, tpl),
          .select_name = "dev",
          .report_name = "test"};
}

/// One epoch, max length 24, a 2-token prefix, no progress output.
inline ptp::repro::run_config tiny_config(std::int64_t batch_size, int threads) {
  ptp::repro::run_config cfg;
  cfg.model_dir = ptp::repro::find_default_model();
  cfg.epochs = 1;
  cfg.batch_size = batch_size;
  cfg.max_length = 24;
  cfg.prefix_length = 2;
  cfg.threads = threads;
  cfg.show_progress = false;
  return cfg;
}
}  // namespace ptp_test
