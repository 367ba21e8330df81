// The shards of a sweep's grid and their merge (include/ptp/sweep.hpp): --shard i/n and the
// Slurm array variables select every job of the grid exactly once; the merge of the shards'
// results files equals the unsharded sweep's file and summary; a run recorded with two
// identities is refused, naming both files; a run recorded twice is kept once and reported.
#include <ptp/sweep.hpp>

#include "catch.hpp"
#include "temp_dir.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace fs = std::filesystem;
namespace sw = ptp::sweep;
using ptp_test::temp_dir;

namespace {

struct job {
  std::string task, method;
  std::uint64_t seed = 0;
};

// The grid in the programs' canonical order: task-major, then seed, then method.
std::vector<job> grid(const std::vector<std::string>& tasks, const std::vector<std::string>& methods, std::uint64_t seeds) {
  std::vector<job> out;
  for (const auto& t : tasks)
    for (std::uint64_t s = 1; s <= seeds; ++s)
      for (const auto& m : methods) out.push_back({t, m, s});
  return out;
}

// A deterministic stand-in for training: the metrics of one job.
sw::run_record finish(const job& j, double lr = 5e-3) {
  sw::run_record r{.task = j.task, .method = j.method, .config = {{"lr", lr}, {"prefix_length", 16}}, .seed = j.seed};
  const double h = static_cast<double>(std::hash<std::string>{}(j.task + j.method + std::to_string(j.seed)) % 1000);
  r.metrics = {{"accuracy", 0.5 + h / 4000.0}, {"f1", 0.25 + h / 8000.0}};
  r.wall_seconds = 1.0 + static_cast<double>(j.seed);
  r.finished_at = "2026-01-01T00:00:00Z";
  return r;
}

// Sets of environment variables for slurm_shard.
auto env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::map<std::string, std::tuple<std::map<std::string, double>, std::string>> by_key(const std::vector<sw::run_record>& rs) {
  std::map<std::string, std::tuple<std::map<std::string, double>, std::string>> out;
  for (const auto& r : rs) out[r.run_key()] = {r.metrics, r.finished_at};
  return out;
}

}  // namespace

TEST_CASE("the shards of a grid cover every job exactly once", "[sweep][shard]") {
  const auto g = grid({"CB", "RTE", "WiC"}, {"vanilla", "ptp-rn", "ptp-adv"}, 5);  // 45 jobs
  for (const std::size_t n : {1u, 2u, 3u, 7u}) {
    std::map<std::tuple<std::string, std::string, std::uint64_t>, int> seen;
    std::size_t smallest = SIZE_MAX, largest = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t size = 0;
      for (const auto& j : sw::select_shard(g, sw::shard{i, n})) {
        ++seen[{j.task, j.method, j.seed}];
        ++size;
      }
      smallest = std::min(smallest, size);
      largest = std::max(largest, size);
    }
    INFO("n = " << n);
    CHECK(seen.size() == g.size());
    for (const auto& [k, times] : seen) CHECK(times == 1);
    CHECK(largest - smallest <= 1);  // round robin: balanced to one job
  }
  // job j goes to shard j mod n, in the grid's order
  const auto second = sw::select_shard(g, sw::shard{1, 7});
  REQUIRE(second.size() == 7);  // 1, 8, ..., 43
  CHECK(second[0].task == "CB");
  CHECK(second[0].method == "ptp-rn");
  CHECK(second[0].seed == 1);
  CHECK(second[1].method == "ptp-adv");  // job 8: CB, seed 3, third method
  CHECK(second[1].seed == 3);
  // more shards than jobs: the last ones are empty, which is fine
  CHECK(sw::select_shard(grid({"CB"}, {"vanilla"}, 2), sw::shard{5, 7}).empty());
}

TEST_CASE("--shard i/n is parsed and checked", "[sweep][shard]") {
  const auto s = sw::parse_shard("2/7");
  CHECK(s.index == 2);
  CHECK(s.count == 7);
  CHECK(sw::parse_shard("0/1").count == 1);
  CHECK_THROWS_WITH(sw::parse_shard("7/7"), Catch::Contains("--shard") && Catch::Contains("not in 0..6"));
  CHECK_THROWS_WITH(sw::parse_shard("0/0"), Catch::Contains("--shard") && Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(sw::parse_shard("3"), Catch::Contains("--shard: '3' is not i/n"));
  CHECK_THROWS_WITH(sw::parse_shard("-1/4"), Catch::Contains("--shard: '-1'"));
  CHECK_THROWS_WITH(sw::parse_shard("1/x"), Catch::Contains("--shard: 'x'"));
  CHECK_THROWS_WITH(sw::parse_shard("1/2/3"), Catch::Contains("--shard: '2/3'"));
  CHECK_THROWS_WITH(sw::parse_shard(" 1/2"), Catch::Contains("--shard"));
}

TEST_CASE("the Slurm array variables give the shard", "[sweep][shard][slurm]") {
  CHECK_FALSE(sw::slurm_shard(env({})).has_value());  // not an array task
  CHECK_FALSE(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_COUNT", "4"}})).has_value());

  // --array=0-3 as Slurm sets it, and with COUNT alone
  auto s = sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"},
                                {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "3"}, {"SLURM_ARRAY_TASK_STEP", "1"}}));
  REQUIRE(s.has_value());
  CHECK(s->index == 2);
  CHECK(s->count == 4);
  s = sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  REQUIRE(s.has_value());
  CHECK(s->index == 3);
  CHECK(s->count == 4);
  // --array=1-5: the index counts from MIN
  s = sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "5"}}));
  REQUIRE(s.has_value());
  CHECK(s->index == 0);
  CHECK(s->count == 5);
  s = sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "5"}}));
  CHECK(s->index == 4);

  // errors name the variable
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "1"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_ID=4 is not below SLURM_ARRAY_TASK_COUNT=4"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "0"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_COUNT") && Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "x2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_ID: 'x2' is not a non-negative integer"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", ""}})),
                    Catch::Contains("SLURM_ARRAY_TASK_COUNT: ''"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "0"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_MIN is set without SLURM_ARRAY_TASK_MAX"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MAX", "3"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_MAX is set without SLURM_ARRAY_TASK_MIN"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "3"}, {"SLURM_ARRAY_TASK_MAX", "1"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_MAX=1 is below SLURM_ARRAY_TASK_MIN=3"));
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "5"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_ID=7 is outside SLURM_ARRAY_TASK_MIN=1..SLURM_ARRAY_TASK_MAX=5"));
  // --array=1,5: COUNT 2 but MIN..MAX spans 5 — inconsistent
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "2"},
                                         {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "5"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_COUNT=2 does not match SLURM_ARRAY_TASK_MIN=1..SLURM_ARRAY_TASK_MAX=5"));
  // --array=0-6:2
  CHECK_THROWS_WITH(sw::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "0"},
                                         {"SLURM_ARRAY_TASK_MAX", "6"}, {"SLURM_ARRAY_TASK_STEP", "2"}})),
                    Catch::Contains("SLURM_ARRAY_TASK_STEP=2"));
}

TEST_CASE("a shard's results file is named after --out", "[sweep][shard]") {
  CHECK(sw::shard_path("runs/results.jsonl", {1, 3}) == fs::path("runs/results.shard-1-of-3.jsonl"));
  CHECK(sw::shard_path("results", {0, 2}) == fs::path("results.shard-0-of-2.jsonl"));
}

TEST_CASE("merging the shards' files gives the unsharded sweep's records and summary", "[sweep][merge]") {
  temp_dir dir;
  const auto g = grid({"CB", "RTE"}, {"vanilla", "ptp-rn", "ptp-adv"}, 3);  // 18 jobs
  sw::results_file whole(dir.path / "whole.jsonl");
  for (const auto& j : g) whole.append(finish(j));
  for (const std::size_t n : {2u, 3u}) {
    INFO("n = " << n);
    std::vector<fs::path> files;
    for (std::size_t i = 0; i < n; ++i) {
      const auto path = sw::shard_path(dir.path / "sharded.jsonl", {i, n});
      sw::results_file part(path);
      for (const auto& j : sw::select_shard(g, sw::shard{i, n})) part.append(finish(j));
      files.push_back(path);
    }
    const auto merged = sw::merge_results(files);
    CHECK(merged.duplicates.empty());
    CHECK(merged.torn.empty());
    CHECK(merged.records.size() == g.size());
    CHECK(by_key(merged.records) == by_key(whole.records()));
    // in the grid's order (task, seed, method — methods by name)
    for (std::size_t k = 1; k < merged.records.size(); ++k) {
      const auto& a = merged.records[k - 1];
      const auto& b = merged.records[k];
      CHECK(std::tie(a.task, a.seed, a.method) < std::tie(b.task, b.seed, b.method));
    }
    const auto out = dir.path / ("merged-" + std::to_string(n) + ".jsonl");
    sw::write_results(out, merged.records);
    const auto reread = sw::read_results(out);
    CHECK(by_key(reread.records) == by_key(whole.records()));
    CHECK(sw::summary_markdown(sw::summarize(reread.records)) == sw::summary_markdown(sw::summarize(whole.records())));
    CHECK(sw::summary_csv(sw::summarize(reread.records)) == sw::summary_csv(sw::summarize(whole.records())));
    CHECK(sw::paired_markdown(sw::paired_rows(reread.records, "vanilla", "accuracy")) ==
          sw::paired_markdown(sw::paired_rows(whole.records(), "vanilla", "accuracy")));
  }
}

TEST_CASE("a merge refuses two identities of one run and keeps one of a duplicated run", "[sweep][merge]") {
  temp_dir dir;
  const auto g = grid({"CB"}, {"vanilla", "ptp-rn"}, 2);
  const auto a = dir.path / "r.shard-0-of-2.jsonl", b = dir.path / "r.shard-1-of-2.jsonl";
  for (const auto& j : sw::select_shard(g, sw::shard{0, 2})) sw::append_result(a, finish(j));
  for (const auto& j : sw::select_shard(g, sw::shard{1, 2})) sw::append_result(b, finish(j));

  SECTION("a re-run of a dead shard: the duplicate is reported and kept once") {
    const auto rerun = dir.path / "r.shard-1-of-2.rerun.jsonl";
    sw::append_result(rerun, finish(g[1]));
    const auto merged = sw::merge_results({a, b, rerun});
    CHECK(merged.records.size() == g.size());
    REQUIRE(merged.duplicates.size() == 1);
    CHECK(merged.duplicates[0].key == finish(g[1]).run_key());
    CHECK(merged.duplicates[0].kept_from == b);
    CHECK(merged.duplicates[0].dropped_from == rerun);
    // the same file given twice: every run of it is a duplicate
    CHECK(sw::merge_results({a, a}).duplicates.size() == 2);
  }
  SECTION("another configuration for the same task/method/seed is refused, naming both files") {
    const auto other = dir.path / "other.jsonl";
    sw::append_result(other, finish(g[3], 1e-2));  // CB ptp-rn seed 2 at another lr
    CHECK_THROWS_WITH(sw::merge_results({a, b, other}),
                      Catch::Contains("CB/ptp-rn/seed=2 has two different run identities") && Catch::Contains(b.string()) &&
                          Catch::Contains(other.string()) && Catch::Contains("\"lr\":0.01"));
  }
  SECTION("a missing file is an error; a torn last line is reported and left out") {
    CHECK_THROWS_WITH(sw::merge_results({a, dir.path / "absent.jsonl"}), Catch::Contains("absent.jsonl: no such results file"));
    CHECK_THROWS_WITH(sw::merge_results({}), Catch::Contains("no results files"));
    { std::ofstream(b, std::ios::app) << R"({"key": "cut off)"; }
    const auto merged = sw::merge_results({a, b});
    CHECK(merged.records.size() == g.size());
    REQUIRE(merged.torn.size() == 1);
    CHECK(merged.torn[0].first == b);
    CHECK(merged.torn[0].second.line == 3);
  }
}
