// Fuzz target: the sweep results reader (include/ptp/sweep.hpp: read_results, results_file).
// The input is written as results.jsonl and read; a torn last line (no '\n') must be
// reported, not parsed; every other line must be a valid record or the read throws
// ptp::data::data_error (file, line, field). A file that reads is then summarised
// (markdown + CSV tables), its keys are checked, and one record is appended through
// results_file (which cuts a torn tail first) and read back. Nothing else may escape.
#include <string>

#include <ptp/sweep.hpp>

#include "common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& dir = ptp_fuzz::scratch_dir::get();
  const std::string_view input = ptp_fuzz::text(data, size);
  const auto path = dir.write("results.jsonl", input);
  try {
    const auto contents = ptp::sweep::read_results(path);
    const bool torn_expected = !input.empty() && input.back() != '\n';
    if (contents.torn.has_value() != torn_expected) ptp_fuzz::finding("torn tail reported wrongly");
    if (contents.torn && contents.torn->bytes == 0) ptp_fuzz::finding("empty torn tail");
    for (const auto& r : contents.records) {
      if (r.run_key().empty()) ptp_fuzz::finding("empty run key");
      for (const auto& [name, value] : r.metrics)
        if (!std::isfinite(value)) ptp_fuzz::finding("non-finite metric '" + name + "' was read");
    }
    const auto rows = ptp::sweep::summarize(contents.records);
    (void)ptp::sweep::summary_markdown(rows);
    (void)ptp::sweep::summary_csv(rows);

    ptp::sweep::results_file results(path);
    ptp::sweep::run_record run;
    run.task = "RTE";
    run.method = "fuzz";
    run.seed = 1;
    run.metrics["accuracy"] = 0.5;
    if (!results.done(run.run_key())) {
      results.append(run);
      const auto again = ptp::sweep::read_results(path);
      if (again.torn) ptp_fuzz::finding("torn tail left after an append");
      if (again.records.size() != contents.records.size() + 1) ptp_fuzz::finding("append lost or duplicated a record");
    }
  } catch (const ptp::data::data_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
