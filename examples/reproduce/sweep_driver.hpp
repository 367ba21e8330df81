// examples/reproduce/sweep_driver.hpp — seeds × methods × tasks through the runner, one JSON
// line per finished run (ptp::sweep: atomic appends, re-runs skip finished runs), summary
// Markdown + CSV after every run, progress over the runs; and the CLI flags every program
// shares (CLI11).
#pragma once

#include <CLI/CLI.hpp>
#include <ptp/adapters/torch/distributed.hpp>
#include <ptp/progress.hpp>
#include <ptp/sweep.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "method_table.hpp"
#include "packaged_models.hpp"
#include "programs.hpp"
#include "runner.hpp"

namespace ptp::repro {

/// "1-5" or "1,2,7" (or a mix: "1-3,9") → seeds.
inline std::vector<std::uint64_t> parse_seeds(const std::string& s) {
  std::vector<std::uint64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const auto dash = item.find('-');
    if (dash == std::string::npos) {
      out.push_back(std::stoull(item));
    } else {
      const auto a = std::stoull(item.substr(0, dash)), b = std::stoull(item.substr(dash + 1));
      if (b < a) throw std::invalid_argument("seed range " + item + " is empty");
      for (auto k = a; k <= b; ++k) out.push_back(k);
    }
  }
  if (out.empty()) throw std::invalid_argument("no seeds in '" + s + "'");
  return out;
}

/// Splits "a,b,c".
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct sweep_job;

/// The flags every reproduction program shares, bound to a run_config and the sweep lists.
struct common_cli {
  run_config base;
  std::string tasks, methods = "vanilla,ptp-rn,ptp-adv", seeds = "1-5", head = "classifier";
  std::string out, checkpoint_dir, model;
  std::size_t stop_after = 0;
  std::size_t max_train = 0, max_eval = 0;
  std::string shard;               ///< --shard i/n
  std::vector<std::string> merge;  ///< --merge FILE...

  void add(CLI::App& app) {
    app.add_option("--task,--tasks", tasks, "task(s), comma-separated (BoolQ, CB, COPA, RTE, WiC, WSC)");
    std::string names;
    for (auto n : method_names()) names += (names.empty() ? "" : ", ") + std::string(n);
    app.add_option("--method,--methods", methods, "method(s), comma-separated: " + names + " (listed below)")->capture_default_str();
    app.footer(methods_help());
    app.add_option("--seeds", seeds, "seeds: 1-5 or 1,2,3")->capture_default_str();
    app.add_option("--epochs", base.epochs)->capture_default_str();
    app.add_option("--lr", base.lr, "prompt/head learning rate")->capture_default_str();
    app.add_option("--backbone-lr", base.backbone_lr, "backbone learning rate (with --tune-backbone)")->capture_default_str();
    app.add_flag("--tune-backbone,!--freeze-backbone", base.tune_backbone, "tune the encoder too");
    app.add_flag("--tune-word-embeddings,!--freeze-word-embeddings", base.tune_word_embeddings,
                 "with --tune-backbone: the word embeddings too (PT-Fewshot tunes every parameter)");
    app.add_option("--backbone-weight-decay", base.backbone_weight_decay,
                   "backbone AdamW decay, biases and norms excluded (PET); < 0: --weight-decay on all")->capture_default_str();
    app.add_option("--head-lr", base.head_lr, "the head's learning rate (classifier or cloze transform); < 0: --lr")->capture_default_str();
    app.add_option("--max-steps", base.max_steps, "optimizer steps in all (0: --epochs)")->capture_default_str();
    app.add_option("--eval-every", base.eval_every, "evaluate the selection split every N steps (0: each epoch)")->capture_default_str();
    app.add_option("--patience", base.patience, "stop after N evaluations without a strict improvement (0: never)")->capture_default_str();
    app.add_flag("--later-wins-ties", base.later_wins_ties, "selection keeps a later evaluation that ties the best (PT-Fewshot)");
    app.add_option("--max-grad-norm", base.max_grad_norm, "clip the global gradient norm (0: no clipping)")->capture_default_str();
    app.add_option("--warmup-steps", base.warmup_steps, "warm-up steps (< 0: --warmup-ratio)")->capture_default_str();
    app.add_option("--batch-size", base.batch_size)->capture_default_str();
    app.add_option("--eval-batch-size", base.eval_batch_size)->capture_default_str();
    app.add_option("--max-length", base.max_length)->capture_default_str();
    app.add_option("--prefix-length", base.prefix_length, "deep-prefix length / prompt tokens")->capture_default_str();
    app.add_option("--pattern-id", base.pattern_id, "P-tuning: [P] tokens per slot (PT-Fewshot pattern_id; 0: --prefix-length; -1: 1, WSC 2)")->capture_default_str();
    app.add_flag("--prefix-projection", base.prefix_projection, "P-tuning v2 reparameterisation");
    app.add_option("--prompt", base.prompt, "prefix | ptuning | soft | none")->capture_default_str();
    app.add_option("--head", head, "classifier | cloze")->capture_default_str();
    app.add_option("--cloze-head", base.cloze_head,
                   "auto (the checkpoint's MLM head, else an untrained transform) | fitted (else a head fitted on WordNet glosses) | "
                   "classifier (linear on the [MASK] state)")
        ->capture_default_str();
    app.add_option("--weight-decay", base.weight_decay)->capture_default_str();
    app.add_option("--warmup-ratio", base.warmup_ratio)->capture_default_str();
    app.add_option("--model-dir", base.model_dir, "HF checkpoint dir (default: the packaged MiniLM)");
    app.add_option("--model", model, "minilm | mpnet (the packaged encoders) | a checkpoint dir")->excludes("--model-dir");
    app.add_option("--device", base.device, "cpu | cuda")->capture_default_str();
    app.add_option("--threads", base.threads, "torch intra-op threads")->capture_default_str();
    // the last --out wins: `./ptp demo` passes its default first and the user's flags after it
    app.add_option("--out", out, "results jsonl (one line per finished run; re-runs skip finished runs)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--stop-after", stop_after, "stop after this many newly finished runs (0: all)");
    app.add_option("--save-checkpoints", checkpoint_dir,
                   "save each run's selected prompt (and tuned backbone) as DIR/<task>-<method>-seed<seed>.pt (for ptp_landscape)");
    app.add_option("--max-train", max_train, "use at most this many training examples (0: all; CPU budget)");
    app.add_option("--max-eval", max_eval, "use at most this many selection/report examples each (0: all)");
    add_method_flags(app, base.m);
    app.add_flag("--quiet", [this](std::int64_t) { base.show_progress = false; }, "no per-epoch progress");
  }

  /// The sweep programs' --shard and --merge (a sharded sweep on a cluster, then its merge).
  void add_sharding(CLI::App& app) {
    app.add_option("--shard", shard,
                   "run shard i of n (0 <= i < n) of the task x method x seed grid: job j of the grid (task, then seed, then "
                   "method) goes to shard j mod n; results in <out stem>.shard-i-of-n.jsonl (and .summary.md/.csv), resumed "
                   "like --out. Without --shard, a Slurm array task (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT or "
                   "SLURM_ARRAY_TASK_MIN/MAX) runs its own shard. Merge the shards with --merge");
    app.add_option("--merge", merge,
                   "merge these shard results files into --out (and its .summary.md/.csv) and print the table; runs nothing. "
                   "A run recorded twice is kept once and reported; the same task/method/seed with two configurations is refused")
        ->excludes("--shard");
  }

  /// The share of `jobs` (the whole grid, in plan order) that this process runs: --shard, else
  /// the Slurm array variables, else all of it. A shard writes `out`'s shard file: `out` is
  /// renamed to it.
  std::vector<sweep_job> select_shard(const std::vector<sweep_job>& jobs);

  /// --merge: merges the shard files into --out, writes its summary tables and prints the
  /// score table. Returns the program's exit status.
  int run_merge(const char* program) const;

  /// Call after parsing: checks the method names, resolves the head and the default model.
  void finish() {
    join_torchrun();
    check_methods(split_list(methods));
    if (head == "classifier") base.head = head_kind::classifier;
    else if (head == "cloze") base.head = head_kind::cloze;
    else throw std::invalid_argument("--head must be classifier or cloze");
    if (!model.empty()) base.model_dir = find_model(model);
    if (base.model_dir.empty()) base.model_dir = find_default_model();
    base.max_train = max_train;
    base.max_eval = max_eval;
  }

  /// Under torchrun (its variables set), this process's data-parallel group, else null.
  std::unique_ptr<ptp::torch::distributed::group> group;

 private:
  // Joins torchrun's group once (finish() may run twice). Ranks other than 0 write nothing:
  // no progress, and their stdout (the same table as rank 0's) goes to /dev/null.
  void join_torchrun() {
    if (joined_) return;
    joined_ = true;
    group = ptp::torch::distributed::join_from_env(at::Device(base.device));
    if (!group) return;
    if (!group->root()) {
      base.show_progress = false;
      if (!std::freopen("/dev/null", "w", stdout)) throw std::runtime_error("rank " + std::to_string(group->rank()) + ": cannot silence stdout");
    } else {
      std::fprintf(stderr, "torchrun: %d ranks (%s), this is rank 0; collective timeout %.0f s\n", group->size(),
                   base.device == "cpu" ? "Gloo" : "NCCL", std::chrono::duration<double>(ptp::torch::distributed::collective_timeout()).count());
    }
  }
  bool joined_ = false;
};


/// ptp_superglue's defaults: P-tuning v2 deep prefix (16 tokens), frozen backbone.
inline void superglue_defaults(common_cli& cli) {
  cli.tasks = "RTE";
  cli.base.prompt = "prefix";
  cli.base.epochs = 10;
  cli.base.batch_size = 16;
  cli.base.lr = 1e-2;
  cli.base.prefix_length = 16;
}

/// ptp_fewglue's defaults: PT-Fewshot's recipe (THUDM/P-tuning PT-Fewshot cli.py and
/// pet/wrapper.py train()): cloze head, P-tuning encoder with one [P] token per slot (WSC 2),
/// every model parameter tuned at 1e-5 with weight decay 0.1 (biases and norms without),
/// the prompt encoder at its own rate (1e-4 where the run scripts set it) without decay,
/// linear decay, gradient norm clipped at 1, dev32 evaluated every 20 steps with ties going
/// to the later evaluation, stop after 10 evaluations without improvement; batch 16, 250
/// steps (the CB/BoolQ scripts'). The presets pt-fewshot/<Task> and cpu/<Task> (programs.hpp)
/// set the per-task numbers.
inline void fewglue_defaults(common_cli& cli) {
  cli.tasks = "RTE";
  cli.head = "cloze";
  cli.base.prompt = "ptuning";
  cli.base.pattern_id = -1;  // PT-Fewshot's run scripts: one [P] token per slot (--pattern_ids 1), WSC 2
  cli.base.tune_backbone = true;
  cli.base.tune_word_embeddings = true;
  cli.base.backbone_lr = 1e-5;
  cli.base.backbone_weight_decay = 0.1;
  cli.base.weight_decay = 0.0;  // transformers' AdamW default, which PT-Fewshot's embedding optimizer keeps
  cli.base.lr = 1e-4;
  cli.base.max_grad_norm = 1.0;
  cli.base.eval_every = 20;
  cli.base.patience = 10;
  cli.base.later_wins_ties = true;
  cli.base.batch_size = 16;
  cli.base.max_steps = 250;
  cli.base.warmup_steps = 0;
  cli.base.max_length = 256;
}

/// The metrics a run's JSON line records: the report split's under their own names, the
/// selection split's with a "select_" prefix, and bookkeeping (best_epoch, train_loss,
/// edits_per_example, the report split's majority rate and size) that the summary tables leave
/// out.
inline std::map<std::string, double> record_metrics(const run_result& r) {
  std::map<std::string, double> m = r.report;
  for (const auto& [k, v] : r.select) m["select_" + k] = v;
  m["best_epoch"] = r.best_epoch;
  m["best_step"] = static_cast<double>(r.best_step);
  m["steps"] = static_cast<double>(r.steps);
  m["train_loss"] = std::isfinite(r.final_train_loss) ? r.final_train_loss : -1.0;
  m["edits_per_example"] = r.text_edits_per_example;
  m["majority"] = r.majority;
  if (r.report_size > 0) m["report_size"] = static_cast<double>(r.report_size);
  return m;
}

/// The records with only score metrics (what the summary tables show).
inline std::vector<sweep::run_record> score_records(const std::vector<sweep::run_record>& in) {
  std::vector<sweep::run_record> out = in;
  for (auto& r : out)
    for (auto it = r.metrics.begin(); it != r.metrics.end();)
      it = (it->first == "best_epoch" || it->first == "best_step" || it->first == "steps" || it->first == "train_loss" ||
            it->first == "edits_per_example" || it->first == "majority" || it->first == "report_size") ? r.metrics.erase(it) : std::next(it);
  return out;
}

/// One job of a sweep.
struct sweep_job {
  std::string task, method;
  std::uint64_t seed = 0;
  run_config cfg;
};

/// What run_sweep did.
struct sweep_outcome {
  std::size_t finished = 0, skipped = 0;
  std::vector<sweep::run_record> records;  ///< every record of the results (file or memory)
  double wall_seconds = 0;
  bool stopped_early = false;
};

/// Where a sweep saves the trained prompt of one run (`--save-checkpoints DIR`), and where
/// ptp_landscape looks for it.
inline fs::path checkpoint_path(const fs::path& dir, const std::string& task, const std::string& method, std::uint64_t seed) {
  return dir / (task + "-" + method + "-seed" + std::to_string(seed) + ".pt");
}

/// The score table (percentage points): task | method | metric | n | mean ± std | min | max;
/// then each task's majority-class rate, whether each method learned (where the records carry
/// the report split's size), and every method paired against vanilla (mean difference ± SE
/// with its 95 % interval, std ratio, Pitman–Morgan p).
inline std::string sweep_report(const std::vector<sweep::run_record>& records) {
  std::string out = sweep::summary_markdown(sweep::summarize(score_records(records)));
  char line[256];
  for (const auto& [task, rate] : sweep::majority_rates(records)) {
    std::snprintf(line, sizeof line, "\n%s: majority-class rate of the report split %.2f %%\n", task.c_str(), 100 * rate);
    out += line;
  }
  if (const auto verdicts = sweep::learned_rows(records, "accuracy"); !verdicts.empty()) {
    out += "\nLearned = mean accuracy at least 2 binomial standard errors √(p(1 − p)/n) above the majority rate p:\n\n";
    out += sweep::learned_markdown(verdicts);
  }
  const auto paired = sweep::paired_rows(records, "vanilla", "accuracy");
  if (!paired.empty()) {
    out += "\nPaired against vanilla (same seed: same data order and initialisation), accuracy in points:\n\n";
    out += sweep::paired_markdown(paired);
  }
  return out;
}

/// Prints sweep_report.
inline void print_table(const std::vector<sweep::run_record>& records, std::FILE* out = stdout) {
  std::fputs(sweep_report(records).c_str(), out);
}

/// Writes sweep_report beside the results file `out` as <out stem>.summary.md, and the score
/// table at full precision as <out stem>.summary.csv.
inline void write_sweep_summary(const std::vector<sweep::run_record>& records, const std::string& out) {
  const fs::path p(out);
  const auto stem = p.parent_path() / p.stem();
  sweep::write_file_atomically(stem.string() + ".summary.md", sweep_report(records));
  sweep::write_file_atomically(stem.string() + ".summary.csv", sweep::summary_csv(sweep::summarize(score_records(records))));
}

/// Runs `jobs` (skipping those `out` already holds), appending one line per finished run to
/// `out` and rewriting `<out stem>.summary.md/.csv`; `out` empty keeps results in memory.
/// `data_of(task)` gives a task's splits (called once per task, cached); `runner(cfg,data)`
/// runs one job (default: the method by name). With `checkpoint_dir`, each run's selected
/// prompt is saved there (checkpoint_path) before its result line is written.
inline sweep_outcome run_sweep(const std::vector<sweep_job>& jobs, const std::string& out,
                               const std::function<run_data(const std::string&)>& data_of, std::size_t stop_after = 0,
                               const std::function<run_result(const run_config&, const run_data&)>& runner = nullptr,
                               const std::string& checkpoint_dir = {}) {
  if (runner && !checkpoint_dir.empty())
    throw std::invalid_argument("--save-checkpoints: not available with this program's own runner");
  if (!checkpoint_dir.empty()) fs::create_directories(checkpoint_dir);
  const auto t0 = std::chrono::steady_clock::now();
  sweep_outcome o;
  // Under torchrun every rank runs every job in step; rank 0 alone reads and writes the files
  // and tells the others which jobs are done.
  auto* const dp = ptp::torch::distributed::joined();
  const bool writer = !dp || dp->root();
  std::optional<sweep::results_file> results;
  if (!out.empty() && writer) {
    const fs::path p(out);
    if (p.has_parent_path()) fs::create_directories(p.parent_path());
    results.emplace(p);
    if (results->torn()) std::fprintf(stderr, "%s: ignoring a torn last line (an interrupted append)\n", out.c_str());
  }
  // The summary beside the results file, after every run and once at the end (so a sweep
  // whose results file was completed elsewhere — merged, or finished by another process —
  // still gets its table).
  auto write_summary = [&] { write_sweep_summary(results->records(), out); };
  std::map<std::string, run_data> cache;
  std::optional<progress> bar;
  if (writer) bar.emplace("sweep", jobs.size(), progress_options{.style = progress_style::lines, .log_interval = 0.0, .unit = "run"});
  std::vector<double> done(jobs.size(), 0.0);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const sweep::run_record r{.task = jobs[i].task, .method = jobs[i].method, .config = jobs[i].cfg.identity(), .seed = jobs[i].seed};
    done[i] = results && results->done(r.run_key()) ? 1.0 : 0.0;
  }
  if (dp) dp->all_reduce_sum(done);  // rank 0's flags (the others' are 0)
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& job = jobs[i];
    sweep::run_record rec{.task = job.task, .method = job.method, .config = job.cfg.identity(), .seed = job.seed};
    if (done[i] > 0) {
      ++o.skipped;
      if (bar) bar->skip();
      continue;
    }
    if (stop_after && o.finished >= stop_after) {
      o.stopped_early = true;
      break;
    }
    auto it = cache.find(job.task);
    if (it == cache.end()) it = cache.emplace(job.task, data_of(job.task)).first;
    run_config cfg = job.cfg;
    cfg.seed = job.seed;
    cfg.method = job.method;
    cfg.label = job.task + " " + job.method + " seed " + std::to_string(job.seed);
    if (dp && !out.empty()) cfg.resume_file = out + ".resume/" + job.task + "-" + job.method + "-seed" + std::to_string(job.seed) + ".pt";
    const auto r = runner ? runner(cfg, it->second)
                 : checkpoint_dir.empty()
                     ? run(cfg, it->second)
                     : run_method(cfg, it->second, [&](trained_run& tr) {
                         if (writer) tr.model.save(checkpoint_path(checkpoint_dir, job.task, job.method, job.seed));
                       });
    rec.metrics = record_metrics(r);
    rec.wall_seconds = r.wall_seconds;
    if (writer) std::fprintf(stderr, "%s: %s %.2f (best epoch %d, step %lld of %lld, %s %.2f) in %.1f s\n", cfg.label.c_str(),
                 it->second.report_name.c_str(), 100 * r.report.at("accuracy"), r.best_epoch, static_cast<long long>(r.best_step),
                 static_cast<long long>(r.steps), it->second.select_name.c_str(), 100 * r.select.at("accuracy"), r.wall_seconds);
    if (results) {
      results->append(rec);
      write_summary();
      if (!cfg.resume_file.empty()) fs::remove(cfg.resume_file);  // the run is in the results now
    } else {
      o.records.push_back(rec);
    }
    ++o.finished;
    if (bar) bar->advance();
  }
  if (bar) bar->finish();
  if (results) {
    if (o.finished == 0 && !results->records().empty()) write_summary();  // else already current
    o.records = results->records();
  }
  o.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

/// The jobs of tasks × methods × seeds (task-major, then seed, then method: the paired runs
/// of one seed finish together).
inline std::vector<sweep_job> plan(const std::vector<std::string>& tasks, const std::vector<std::string>& methods,
                                   const std::vector<std::uint64_t>& seeds, const run_config& base) {
  std::vector<sweep_job> jobs;
  for (const auto& t : tasks)
    for (auto s : seeds)
      for (const auto& m : methods) {
        sweep_job j{.task = t, .method = m, .seed = s, .cfg = base};
        j.cfg.method = m;
        j.cfg.seed = s;
        jobs.push_back(std::move(j));
      }
  return jobs;
}

inline std::vector<sweep_job> common_cli::select_shard(const std::vector<sweep_job>& jobs) {
  const std::optional<sweep::shard> s =
      !shard.empty() ? std::optional(sweep::parse_shard(shard)) : sweep::slurm_shard([](const char* n) { return std::getenv(n); });
  if (!s) return jobs;
  const std::string source = !shard.empty() ? "--shard" : "the Slurm array variables";
  if (out.empty()) throw std::invalid_argument(source + ": a sharded sweep needs --out (each shard writes <out stem>.shard-i-of-n.jsonl)");
  out = sweep::shard_path(out, *s).string();
  auto mine = sweep::select_shard(jobs, *s);
  std::fprintf(stderr, "shard %zu of %zu (from %s): %zu of the grid's %zu runs, results in %s\n", s->index, s->count, source.c_str(),
               mine.size(), jobs.size(), out.c_str());
  return mine;
}

inline int common_cli::run_merge(const char* program) const {
  try {
    if (out.empty()) throw std::invalid_argument("--merge: give the merged results file with --out");
    const std::vector<fs::path> files(merge.begin(), merge.end());
    const auto merged = sweep::merge_results(files);
    for (const auto& [file, torn] : merged.torn)
      std::fprintf(stderr, "%s: ignoring a torn last line %zu (an interrupted append)\n", file.c_str(), torn.line);
    for (const auto& d : merged.duplicates)
      std::fprintf(stderr, "duplicate run %s: in %s and again in %s; keeping the first\n", d.key.c_str(), d.kept_from.c_str(),
                   d.dropped_from.c_str());
    const fs::path p(out);
    if (p.has_parent_path()) fs::create_directories(p.parent_path());
    sweep::write_results(p, merged.records);
    write_sweep_summary(merged.records, out);
    print_table(merged.records);
    std::printf("\nmerged %zu runs from %zu files into %s (%zu duplicates dropped)\n", merged.records.size(), files.size(), out.c_str(),
                merged.duplicates.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  return 0;
}

}  // namespace ptp::repro
