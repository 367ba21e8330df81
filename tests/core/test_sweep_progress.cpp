// The sweep results file (include/ptp/sweep.hpp): append, re-read, skip finished runs,
// summary tables checked by hand, torn last line detected/reported/repaired, concurrent
// appenders; and the progress display (include/ptp/progress.hpp).
#include <ptp/progress.hpp>
#include <ptp/sweep.hpp>

#include "catch.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace sw = ptp::sweep;
using ptp_test::temp_dir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

sw::run_record run(std::string task, std::string method, std::uint64_t seed, double acc) {
  sw::run_record r;
  r.task = std::move(task);
  r.method = std::move(method);
  r.seed = seed;
  r.config = {{"lr", 5e-3}, {"prefix_length", 128}};
  r.metrics = {{"accuracy", acc}};
  r.wall_seconds = 12.5;
  return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("sweep: append, re-read, skip finished runs, summary", "[reproduce][sweep]") {
  temp_dir dir;
  const fs::path path = dir.path / "results.jsonl";
  {
    sw::results_file results(path);  // no file yet: a new sweep
    CHECK(results.records().empty());
    CHECK_FALSE(results.torn());
    CHECK_FALSE(results.done(run("RTE", "ptp", 1, 0).run_key()));
    results.append(run("RTE", "ptp", 1, 0.80));
    results.append(run("RTE", "ptp", 2, 0.90));
    results.append(run("RTE", "vanilla", 1, 0.70));
    auto cb = run("CB", "ptp", 1, 0.875);
    cb.metrics["f1"] = 0.8;
    results.append(cb);
    CHECK(results.done(run("RTE", "ptp", 2, 0).run_key()));
  }
  const std::string text = slurp(path);
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);
  CHECK(text.back() == '\n');

  // a re-run reads the file back and skips what is done
  sw::results_file again(path);
  REQUIRE(again.records().size() == 4);
  const auto& r0 = again.records()[0];
  CHECK(r0.task == "RTE");
  CHECK(r0.method == "ptp");
  CHECK(r0.seed == 1);
  CHECK(r0.metrics.at("accuracy") == 0.80);
  CHECK(r0.wall_seconds == 12.5);
  CHECK(r0.config.at("prefix_length") == 128);
  CHECK(r0.finished_at.size() == 20);  // 2024-01-02T03:04:05Z
  CHECK(r0.run_key() == sw::run_key("RTE", "ptp", r0.config, 1));
  int executed = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    auto r = run("RTE", "ptp", seed, 0.85);
    if (again.done(r.run_key())) continue;
    ++executed;
    again.append(r);
  }
  CHECK(executed == 1);  // seeds 1 and 2 were done
  // a different configuration is a different run
  auto other = run("RTE", "ptp", 1, 0.5);
  other.config["lr"] = 1e-2;
  CHECK_FALSE(again.done(other.run_key()));

  // summary: RTE/ptp accuracy {0.80, 0.90, 0.85}: mean 0.85, std sqrt((0.0025+0.0025+0)/2) = 0.05
  const auto rows = sw::summarize(sw::read_results(path).records);
  REQUIRE(rows.size() == 4);  // CB/ptp accuracy, CB/ptp f1, RTE/ptp accuracy, RTE/vanilla accuracy
  CHECK(rows[0].task == "CB");
  CHECK(rows[0].metric == "accuracy");
  CHECK(rows[1].metric == "f1");
  CHECK(rows[2].method == "ptp");
  CHECK(rows[2].stats.n == 3);
  CHECK(rows[2].stats.mean == Approx(0.85));
  CHECK(rows[2].stats.stddev == Approx(0.05));
  CHECK(rows[2].stats.min == 0.80);
  CHECK(rows[2].stats.max == 0.90);
  CHECK(rows[3].method == "vanilla");
  CHECK(rows[3].stats.n == 1);

  const std::string md = sw::summary_markdown(rows);
  CHECK(contains(md, "| task | method | metric | n | mean ± std | min | max |\n"));
  CHECK(contains(md, "| RTE | ptp | accuracy | 3 | 85.00 ± 5.00 | 80.00 | 90.00 |\n"));
  CHECK(contains(md, "| RTE | vanilla | accuracy | 1 | 70.00 ± n/a | 70.00 | 70.00 |\n"));
  CHECK(contains(md, "| CB | ptp | f1 | 1 | 80.00 ± n/a | 80.00 | 80.00 |\n"));
  const std::string csv = sw::summary_csv(rows);
  CHECK(contains(csv, "task,method,metric,n,mean,std,min,max\n"));
  CHECK(contains(csv, "RTE,vanilla,accuracy,1,0.69999999999999996,,0.69999999999999996,0.69999999999999996\n"));
  CHECK(contains(csv, "RTE,ptp,accuracy,3,"));

  // the tables are written atomically: both exist, no temp file is left behind
  sw::write_summary(sw::read_results(path).records, dir.path / "summary.md", dir.path / "summary.csv");
  CHECK(slurp(dir.path / "summary.md") == md);
  CHECK(slurp(dir.path / "summary.csv") == csv);
  sw::write_summary(sw::read_results(path).records, dir.path / "summary.md", dir.path / "summary.csv");  // overwrite
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
  CHECK(entries == 3);  // results.jsonl, summary.md, summary.csv

  // a duplicated run key (two workers did the same run) counts once
  auto records = sw::read_results(path).records;
  records.push_back(records.front());
  CHECK(sw::summarize(records)[2].stats.n == 3);
  // non-finite metrics are refused before anything is written
  auto bad = run("RTE", "ptp", 9, NAN);
  CHECK_THROWS_AS(again.append(bad), std::invalid_argument);
  CHECK(sw::read_results(path).records.size() == 5);
}

TEST_CASE("sweep: a torn last line is reported, and cut off by the next append", "[reproduce][sweep]") {
  temp_dir dir;
  const fs::path path = dir.path / "results.jsonl";
  sw::append_result(path, run("RTE", "ptp", 1, 0.8));
  sw::append_result(path, run("RTE", "ptp", 2, 0.9));
  const std::string fragment = R"({"key": "RTE/ptp/seed=3/{}", "task": "RTE", "met)";
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);  // what a crash mid-append leaves
    out << fragment;
  }
  const auto contents = sw::read_results(path);
  CHECK(contents.records.size() == 2);
  REQUIRE(contents.torn);
  CHECK(contents.torn->line == 3);
  CHECK(contents.torn->bytes == fragment.size());

  sw::results_file results(path);
  REQUIRE(results.torn());
  CHECK(results.torn()->line == 3);
  CHECK_FALSE(results.done("RTE/ptp/seed=3/{}"));  // the torn run is not done: it runs again
  const auto report = results.append(run("RTE", "ptp", 3, 0.85));
  CHECK(report.torn_bytes_removed == fragment.size());
  const auto repaired = sw::read_results(path);
  CHECK(repaired.records.size() == 3);
  CHECK_FALSE(repaired.torn);
  CHECK(repaired.records[2].seed == 3);

  // a torn write cut inside a UTF-8 sequence is still just a torn tail
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "{\"task\": \"Zo\xC3";
  }
  CHECK(sw::read_results(path).torn);
  // a file that is nothing but a fragment
  const fs::path lone = dir.write("lone.jsonl", "{\"task\"");
  CHECK(sw::read_results(lone).records.empty());
  CHECK(sw::read_results(lone).torn->line == 1);
  CHECK(sw::append_result(lone, run("CB", "ptp", 1, 0.5)).torn_bytes_removed == 7);
  CHECK(sw::read_results(lone).records.size() == 1);
}

TEST_CASE("sweep: malformed complete lines are errors naming file, line and field", "[reproduce][sweep]") {
  temp_dir dir;
  const fs::path path = dir.path / "results.jsonl";
  sw::append_result(path, run("RTE", "ptp", 1, 0.8));
  const std::string good = slurp(path);

  const auto p1 = dir.write("a.jsonl", good + "{\"task\": oops}\n" + good);
  try {
    (void)sw::read_results(p1);
    FAIL("expected data_error");
  } catch (const ptp::data::data_error& e) {
    CHECK(e.line() == 2);
    CHECK(e.file() == p1.string());
    CHECK(contains(e.what(), "a.jsonl:2: malformed JSON"));
  }
  const auto p2 = dir.write("b.jsonl", good + R"({"task": "RTE", "method": "m", "seed": 1, "wall_seconds": 1})" "\n");
  try {
    (void)sw::read_results(p2);
    FAIL("expected data_error");
  } catch (const ptp::data::data_error& e) {
    CHECK(e.line() == 2);
    CHECK(e.field() == "metrics");
  }
  const auto p3 = dir.write("c.jsonl", R"({"task": "RTE", "method": "m", "seed": 1, "wall_seconds": 1, "metrics": {"accuracy": "high"}})" "\n");
  try {
    (void)sw::read_results(p3);
    FAIL("expected data_error");
  } catch (const ptp::data::data_error& e) {
    CHECK(e.line() == 1);
    CHECK(e.field() == "metrics.accuracy");
  }
  // an empty results file is a new sweep, not an error
  CHECK(sw::read_results(dir.write("empty.jsonl", "")).records.empty());
}

TEST_CASE("sweep: concurrent appenders never lose or mix lines", "[reproduce][sweep]") {
  temp_dir dir;
  const fs::path path = dir.path / "results.jsonl";
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int k = 0; k < 20; ++k) sw::append_result(path, run("RTE", "worker" + std::to_string(w), static_cast<std::uint64_t>(k), 0.5));
    });
  for (auto& t : workers) t.join();
  const auto contents = sw::read_results(path);
  CHECK(contents.records.size() == 80);
  CHECK_FALSE(contents.torn);
  std::set<std::string> keys;
  for (const auto& r : contents.records) keys.insert(r.run_key());
  CHECK(keys.size() == 80);
}

// ---- progress ----------------------------------------------------------------------------------

namespace {
std::string read_back(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[512];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
  return s;
}
}  // namespace

TEST_CASE("progress: durations, status text, lines off a terminal, bar on request", "[reproduce][progress]") {
  CHECK(ptp::format_duration(0) == "00:00");
  CHECK(ptp::format_duration(61) == "01:01");
  CHECK(ptp::format_duration(3661) == "1:01:01");
  CHECK(ptp::format_duration(NAN) == "--:--");
  CHECK(ptp::format_duration(-1) == "--:--");

  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ptp::progress p("train RTE", 1024, {}, f);
    CHECK_FALSE(p.is_bar());  // a file is no terminal
    // 512 of 1024 after 10 s: 51.2 it/s, 512 left → 10 s
    CHECK(p.status(512, 10.0) == "512/1024  50.0%  51.2 it/s  ETA 00:10");
    CHECK(p.status(0, 0.0) == "0/1024  0.0%  0 it/s  ETA --:--");
  }
  {
    ptp::progress lines("epoch", 4, {.style = ptp::progress_style::lines, .log_interval = 0.0}, f);
    for (int i = 0; i < 4; ++i) lines.advance();
    lines.finish();
    CHECK(lines.done() == 4);
  }
  std::string text = read_back(f);
  CHECK(contains(text, "epoch: 1/4  25.0%"));
  CHECK(contains(text, "epoch: 4/4  100.0%"));
  CHECK(contains(text, "elapsed"));
  CHECK_FALSE(contains(text, "\r"));
  std::fclose(f);

  f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ptp::progress bar("sweep", 10, {.style = ptp::progress_style::bar, .redraw_interval = 0.0, .width = 10, .unit = "run"}, f);
    CHECK(bar.is_bar());
    bar.update(5);
  }  // the destructor finishes the line
  text = read_back(f);
  CHECK(contains(text, "\rsweep [#####.....]  5/10  50.0%"));
  CHECK(contains(text, "run/s"));
  CHECK(contains(text, "ETA"));
  CHECK(text.back() == '\n');
  std::fclose(f);

  // a resumed sweep: skipped steps fill the count but not the rate (30 found done, then 2
  // run in 10 s: 0.2 run/s, 43 left → 215 s), and are not drawn one by one
  f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ptp::progress resumed("sweep", 75, {.style = ptp::progress_style::lines, .log_interval = 0.0, .unit = "run"}, f);
    resumed.skip(30);
    CHECK(resumed.done() == 30);
    CHECK(resumed.status(32, 10.0) == "32/75  42.7% (30 skipped)  0.2 run/s  ETA 03:35");
    CHECK(resumed.status(30, 0.001) == "30/75  40.0% (30 skipped)  0 run/s  ETA --:--");
  }
  text = read_back(f);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);  // the final line only
  std::fclose(f);

  // unknown total: counts and rate only
  ptp::progress unknown("scan", 0, {.style = ptp::progress_style::lines}, nullptr);
  CHECK(unknown.status(7, 2.0) == "7  3.5 it/s");
}

TEST_CASE("sweep: paired differences against vanilla, std ratio, majority rate", "[reproduce][sweep]") {
  // vanilla {0.5, 0.6, 0.7}, ptp {0.6, 0.6, 0.9} on seeds 1–3, plus a ptp seed 4 with no
  // vanilla partner (left out of the pairing): differences {0.1, 0, 0.2} → mean 0.1, sd 0.1,
  // SE 0.1/√3; std ratio sd{0.6,0.6,0.9} / sd{0.5,0.6,0.7} = 0.17320508/0.1.
  std::vector<sw::run_record> rs;
  const double van[] = {0.5, 0.6, 0.7}, ptp[] = {0.6, 0.6, 0.9};
  for (std::uint64_t s = 1; s <= 3; ++s) {
    rs.push_back(run("T", "vanilla", s, van[s - 1]));
    rs.push_back(run("T", "ptp", s, ptp[s - 1]));
  }
  rs.push_back(run("T", "ptp", 4, 0.1));
  rs.push_back(rs.front());  // a run recorded twice counts once
  for (auto& r : rs) r.metrics["majority"] = 0.25;
  const auto rows = sw::paired_rows(rs, "vanilla", "accuracy");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].method == "ptp");
  CHECK(rows[0].n == 3);
  CHECK(rows[0].mean_diff == Approx(0.1).margin(1e-12));
  CHECK(rows[0].se_diff == Approx(0.1 / std::sqrt(3.0)).epsilon(1e-9));
  CHECK(rows[0].std_ratio == Approx(std::sqrt(0.03) / 0.1).epsilon(1e-9));
  // 95 % interval: t(0.975, 2 df) = 4.302652729749464 (Student's table)
  CHECK(rows[0].ci_low == Approx(0.1 - 4.302652729749464 * 0.1 / std::sqrt(3.0)).epsilon(1e-9));
  CHECK(rows[0].ci_high == Approx(0.1 + 4.302652729749464 * 0.1 / std::sqrt(3.0)).epsilon(1e-9));
  // Pitman–Morgan: a + b = {1.1, 1.2, 1.6}, a − b = {0.1, 0, 0.2}: r² = 0.04² / (0.14 × 0.02) = 4/7,
  // t = r √1 / √(3/7) = 2/√3; with 1 df (Cauchy) the two-sided p is 1 − (2/π) atan t
  CHECK(rows[0].spread_t == Approx(2.0 / std::sqrt(3.0)).epsilon(1e-9));
  CHECK(rows[0].spread_p == Approx(1.0 - 2.0 / std::numbers::pi * std::atan(2.0 / std::sqrt(3.0))).epsilon(1e-9));
  const auto md = sw::paired_markdown(rows);
  CHECK(contains(md, "| T | ptp − vanilla | 3 | +10.00 ± 5.77 | -14.84 … +34.84 | 1.73 | 0.45 |"));
  CHECK(sw::majority_rates(rs).at("T") == 0.25);
  // one seed: no SE, no ratio
  const std::vector<sw::run_record> one{run("T", "vanilla", 1, 0.5), run("T", "ptp", 1, 0.7)};
  const auto r1 = sw::paired_rows(one, "vanilla", "accuracy");
  REQUIRE(r1.size() == 1);
  CHECK(std::isnan(r1[0].se_diff));
  CHECK(std::isnan(r1[0].ci_low));
  CHECK(std::isnan(r1[0].spread_p));
  CHECK(contains(sw::paired_markdown(r1), "+20.00 ± n/a | n/a | n/a | n/a |"));
}

TEST_CASE("sweep: learned = mean at least 2 binomial SE above the majority rate", "[reproduce][sweep]") {
  // CB's held-out split: 96 of 186 in the majority class, SE √(p(1 − p)/186) = 3.664 points,
  // so the bar is 51.613 + 7.329 = 58.942 %: a mean of 59.0 % learned, 58.9 % did not.
  std::vector<sw::run_record> rs{run("CB", "a", 1, 0.58), run("CB", "a", 2, 0.60), run("CB", "b", 1, 0.588),
                                 run("CB", "b", 2, 0.590), run("RTE", "a", 1, 0.9)};
  for (auto& r : rs) r.metrics["majority"] = r.task == "CB" ? 96.0 / 186 : 0.5;
  for (auto& r : rs)
    if (r.task == "CB") r.metrics["report_size"] = 186;  // RTE's records lack the size: no verdict
  const auto rows = sw::learned_rows(rs, "accuracy");
  REQUIRE(rows.size() == 2);
  const double bar = 96.0 / 186 + 2 * std::sqrt(96.0 / 186 * 90.0 / 186 / 186);
  CHECK(bar == Approx(0.589415).margin(1e-6));
  CHECK(rows[0].method == "a");
  CHECK(rows[0].bar == Approx(bar).epsilon(1e-12));
  CHECK(rows[0].mean == Approx(0.59).epsilon(1e-12));
  CHECK(rows[0].learned);
  CHECK(rows[1].method == "b");
  CHECK_FALSE(rows[1].learned);
  CHECK(contains(sw::learned_markdown(rows), "| CB | a | 2 | 59.00 | 51.61 | 186 | 58.94 | yes |"));
  CHECK(contains(sw::learned_markdown(rows), "| CB | b | 2 | 58.90 | 51.61 | 186 | 58.94 | no |"));
}

TEST_CASE("sweep: Pitman–Morgan spread test against its textbook form", "[reproduce][sweep]") {
  // The code correlates a + b with a − b; the textbook writes the same t through the variance
  // ratio F = var(a)/var(b) and r = corr(a, b): t = (F − 1) √(n − 2) / (2 √(F (1 − r²))).
  // With 3 df the t distribution's two-sided tail has a closed form:
  // P(|T| > t) = 1 − (2/π) (atan(t/√3) + (t/√3) / (1 + t²/3)).
  const double a[] = {0.61, 0.58, 0.66, 0.60, 0.63}, b[] = {0.55, 0.64, 0.70, 0.52, 0.61};
  std::vector<sw::run_record> rs;
  for (std::uint64_t s = 1; s <= 5; ++s) {
    rs.push_back(run("T", "vanilla", s, b[s - 1]));
    rs.push_back(run("T", "ptp", s, a[s - 1]));
  }
  const auto rows = sw::paired_rows(rs, "vanilla", "accuracy");
  REQUIRE(rows.size() == 1);
  double ma = 0, mb = 0;
  for (int i = 0; i < 5; ++i) ma += a[i] / 5, mb += b[i] / 5;
  double saa = 0, sbb = 0, sab = 0;
  for (int i = 0; i < 5; ++i) saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb), sab += (a[i] - ma) * (b[i] - mb);
  const double F = saa / sbb, r = sab / std::sqrt(saa * sbb);
  const double t = (F - 1) * std::sqrt(3.0) / (2 * std::sqrt(F * (1 - r * r)));
  CHECK(t < 0);  // the method spreads less here
  CHECK(rows[0].spread_t == Approx(t).epsilon(1e-9));
  const double u = std::abs(t) / std::sqrt(3.0);
  CHECK(rows[0].spread_p == Approx(1 - 2 / std::numbers::pi * (std::atan(u) + u / (1 + u * u))).epsilon(1e-9));
  CHECK(rows[0].std_ratio == Approx(std::sqrt(F)).epsilon(1e-9));
  // t(0.975, 4 df) = 2.776445105197793
  const double se = rows[0].se_diff;
  CHECK(rows[0].ci_high - rows[0].ci_low == Approx(2 * 2.776445105197793 * se).epsilon(1e-9));

  // a constant difference (up to rounding: 0.1 s + 0.25 − 0.1 s is not exactly 0.25): equal
  // spreads, t = 0 and p = 1, not a correlation of rounding noise
  std::vector<sw::run_record> shifted;
  for (std::uint64_t s = 1; s <= 4; ++s) {
    shifted.push_back(run("T", "vanilla", s, 0.1 * static_cast<double>(s)));
    shifted.push_back(run("T", "ptp", s, 0.1 * static_cast<double>(s) + 0.25));
  }
  const auto sh = sw::paired_rows(shifted, "vanilla", "accuracy");
  REQUIRE(sh.size() == 1);
  CHECK(sh[0].spread_t == 0.0);
  CHECK(sh[0].spread_p == 1.0);
}
