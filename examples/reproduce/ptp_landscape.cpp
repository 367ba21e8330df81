// ptp_landscape — the paper's loss-landscape picture (docs/algorithms.md §6) around a trained prompt
// (`./ptp landscape`), for each method: the prompt is loaded from --checkpoint (written by a
// sweep's --save-checkpoints, or by an earlier ptp_landscape run) or trained here, then the
// loss surface is evaluated with ptp::landscape on a fixed batch of the task's selection split
// (or of --eval-file):
//   --data demo       the demo's WordNet task (default; the runner with the demo's settings)
//   --data superglue  a SuperGLUE task as ptp_superglue builds it (--task, --data-dir, ...)
//   --data fewglue    a FewGLUE task as ptp_fewglue builds it (P-tuning cloze, tuned backbone)
//   --space embeddings  (default) the input word embeddings move (mask: the real tokens)
//   --space prompt      the deep prefix's parameters move (parameter_space, landscape_space.hpp)
// The model flags must match the checkpoint's run (each family starts from its program's
// defaults). Every method uses the same directions seed; the plot (tools/plot_landscape.sh)
// uses one z scale for all. Writes, atomically, per method: landscape-<space>-<method>.csv
// (a,b,loss) and .json (sharpness numbers), and landscape-<space>.tsv (one line per method,
// naming its CSV), whose path is the last line printed ("surfaces: PATH").
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <ptp/landscape.hpp>

#include "landscape_space.hpp"
#include "sweep_driver.hpp"
#include "demo_task.hpp"

namespace {

using namespace ptp::repro;
namespace fs = std::filesystem;

struct landscape_cli {
  std::string space = "embeddings", out_dir = "results/landscape", checkpoint;
  ptp::landscape::options opt{.points = 11, .radius = 1.0, .filter_normalize = true, .sharpness_radius = 0.5};
  std::uint64_t direction_seed = 7;
  std::size_t examples = 32;
};

/// The surface of one trained run; returns the summary line's numbers.
ptp::landscape::surface analyse(trained_run& tr, const run_data& data, const landscape_cli& lc) {
  std::vector<example> dev(data.select.begin(), data.select.begin() + static_cast<std::ptrdiff_t>(std::min(lc.examples, data.select.size())));
  const auto encoded = tr.enc.all(dev);
  std::vector<const encoded_example*> v;
  for (const auto& e : encoded) v.push_back(&e);
  const auto b = collate(v, tr.tok.pad(), tr.prompt_tokens, tr.device);
  auto& model = tr.model;
  ptp::torch::eval_scope scope(model.modules());  // dropout off for every evaluation, gradient included
  const at::Tensor e0 = model.embed(b);
  ptp::generator gen{.seed = lc.direction_seed};
  if (lc.space == "embeddings") {
    ptp::torch::autograd_model f([&model, &b](const at::Tensor& e, const at::Tensor& m) { return model.forward(b, e, m); },
                                 model.head_parameters(), b.attention, b.labels, {.modules = model.modules()});
    on_host<ptp::torch::autograd_model, 3> h(f, e0.options());
    const auto x0 = to_host<3>(e0);
    const auto mask = to_host<2>(b.perturb);
    return ptp::landscape::loss_surface(h, x0, gen, lc.opt, &mask);
  }
  if (lc.space != "prompt") throw std::invalid_argument("--space must be embeddings or prompt");
  at::Tensor w;
  for (const auto& np : model.parts().named_parameters())
    if (np.key() == "prefix.embedding.weight") w = np.value();
  if (!w.defined()) throw std::runtime_error("--space prompt needs --prompt prefix (the deep prefix's table)");
  const auto hidden = model.backbone()->config().hidden_size;
  if (w.size(1) % hidden != 0) throw std::runtime_error("--space prompt: prefix table width is not a multiple of hidden");
  // rows: one layer's key or value vector of one prefix token (the "filters" of Li et al.)
  parameter_space f(w, [&] { return ::torch::nn::functional::cross_entropy(model.forward(b, e0, b.attention), b.labels); },
                    {w.size(0), w.size(1) / hidden, hidden});
  on_host<parameter_space, 3> h(f, w.options());
  const auto x0 = to_host<3>(f.point());
  auto s = ptp::landscape::loss_surface(h, x0, gen, lc.opt);
  f.restore();
  return s;
}

std::string json_of(const std::string& task, const std::string& method, const landscape_cli& lc, const run_data& data,
                    const ptp::landscape::surface& s, const run_result* r, std::uint64_t seed) {
  nlohmann::json j{{"task", task},
                   {"method", method},
                   {"space", lc.space},
                   {"seed", seed},
                   {"direction_seed", lc.direction_seed},
                   {"points", lc.opt.points},
                   {"radius", lc.opt.radius},
                   {"sharpness_radius", lc.opt.sharpness_radius},
                   {"filter_normalize", lc.opt.filter_normalize},
                   {"examples", std::min(lc.examples, data.select.size())},
                   {"surface_split", data.select_name},
                   {"center_loss", s.center_loss},
                   {"max_increase", s.max_increase},
                   {"mean_increase", s.mean_increase},
                   {"direction_cosine", s.direction_cosine}};
  if (r) {
    j["report_split"] = data.report_name;
    j["report_accuracy"] = r->report.count("accuracy") ? r->report.at("accuracy") : 0.0;
    j["best_epoch"] = r->best_epoch;
    j["train_seconds"] = r->wall_seconds;
  }
  return j.dump(1) + "\n";
}

// Where the task data comes from (--data and its files).
struct data_flags {
  std::string family = "demo", data_dir, train_file, split_file, eval_file;
};

void add_flags(CLI::App& app, data_flags& df, landscape_cli& lc) {
  app.add_option("--data", df.family, "demo (the demo's WordNet task, --demo-task) | superglue | fewglue: the task data and the model defaults")
      ->capture_default_str();
  app.add_option("--data-dir", df.data_dir, "superglue: folder of <Task>/train.jsonl; fewglue: of <Task>/{train,dev32}.jsonl");
  app.add_option("--train-file", df.train_file, "superglue: training jsonl");
  app.add_option("--split-file", df.split_file, "superglue: selection jsonl (default: 10% of train, seed 42)");
  app.add_option("--eval-file", df.eval_file, "jsonl of the task to evaluate the surface on (default: the selection split)");
  app.add_option("--space", lc.space, "embeddings (input word embeddings) | prompt (deep prefix parameters)")->capture_default_str();
  app.add_option("--points", lc.opt.points, "grid points per axis")->capture_default_str();
  app.add_option("--radius", lc.opt.radius, "grid half-width (filter-normalised units)")->capture_default_str();
  app.add_option("--sharpness-radius", lc.opt.sharpness_radius, "r of max_increase")->capture_default_str();
  app.add_flag("!--no-filter-normalize", lc.opt.filter_normalize, "unit global norm instead of Li et al. per-row normalisation");
  app.add_option("--direction-seed", lc.direction_seed, "seed of the random direction (the same for every method)")->capture_default_str();
  app.add_option("--examples", lc.examples, "examples in the fixed batch")->capture_default_str();
  app.add_option("--out-dir", lc.out_dir, "where the CSV/JSON/TSV go")->capture_default_str();
  app.add_option("--checkpoint", lc.checkpoint,
                 "a checkpoint file (*.pt, one method), or a dir: <dir>/<task>-<method>-seed<seed>.pt is loaded when present "
                 "(no training), else written after training");
}

// The task's data as the family's program builds it, and the task's name.
std::pair<run_data, std::string> load_data(const data_flags& df, const demo_options& demo, const common_cli& cli) {
  run_data data;
  std::string task_name;
  auto tpl = ptp::data::ptuning_v2::template_id::bert;
  if (df.family == "demo") {
    auto d = build_demo(demo, cli);
    data = std::move(d.data);
    task_name = d.task_name;
  } else {
    const auto tasks = split_list(cli.tasks);
    if (tasks.size() != 1) throw std::invalid_argument("--task: give exactly one task");
    task_name = tasks.front();
    tpl = template_for(cli.base.model_dir);
    if (df.family == "superglue")
      data = superglue_data(task_name, {.data_dir = df.data_dir, .train_file = df.train_file, .split_file = df.split_file,
                                        .max_train = cli.max_train, .max_eval = cli.max_eval}, tpl);
    else
      data = fewglue_data(task_name, {.data_dir = df.data_dir, .mirror_copa = cli.base.head == head_kind::cloze,
                                      .max_train = cli.max_train, .max_eval = cli.max_eval}, tpl);
  }
  if (!df.eval_file.empty()) {
    if (!data.info.task) throw std::invalid_argument("--eval-file: the demo's task is built from WordNet, not read from jsonl");
    data.select = load_examples(*data.info.task, df.eval_file, tpl);
    data.select_name = df.eval_file;
  }
  return {std::move(data), task_name};
}

// One method's surface: its prompt loaded from `ck` when there is one, else trained (and saved
// to `ck` when named); writes its CSV and JSON; returns its line of the TSV.
std::string surface_of(const run_config& cfg, const run_data& data, const std::string& task_name, const fs::path& ck,
                       const landscape_cli& lc) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string& method = cfg.method;
  ptp::landscape::surface s;
  std::optional<run_result> res;
  if (!ck.empty() && fs::exists(ck)) {
    run_model rm(cfg, data);  // assembled as the run that saved it was
    rm.model.load(ck);
    trained_run tr = rm.trained();
    s = analyse(tr, data, lc);
    std::printf("%s: loaded %s\n", method.c_str(), ck.string().c_str());
  } else {
    res = run_method(cfg, data, [&](trained_run& tr) {
      if (!ck.empty()) tr.model.save(ck);
      s = analyse(tr, data, lc);
    });
    std::printf("%s: trained %d epochs (best %d), %s accuracy %.4f\n", method.c_str(), cfg.epochs, res->best_epoch,
                data.report_name.c_str(), res->report.count("accuracy") ? res->report.at("accuracy") : 0.0);
  }
  const fs::path base = fs::path(lc.out_dir) / ("landscape-" + lc.space + "-" + method);
  std::ostringstream csv;
  csv << "a,b,loss\n";
  csv.precision(9);
  const std::size_t n = s.axis.size();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) csv << s.axis[i] << ',' << s.axis[j] << ',' << s.at(i, j) << '\n';
  ptp::sweep::write_file_atomically(base.string() + ".csv", csv.str());
  ptp::sweep::write_file_atomically(base.string() + ".json", json_of(task_name, method, lc, data, s, res ? &*res : nullptr, cfg.seed));
  std::ostringstream tsv;
  tsv << method << '\t' << s.center_loss << '\t' << s.max_increase << '\t' << s.mean_increase << '\t'
      << (res && res->report.count("accuracy") ? std::to_string(res->report.at("accuracy")) : std::string("-")) << '\t'
      << base.string() << ".csv\n";
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s (%s space): L(x0) %.4f, max increase within r=%.2g %.4f, mean increase %.4f, cos(d1,d2) %.1e  [%.1f s]\n",
              method.c_str(), lc.space.c_str(), s.center_loss, lc.opt.sharpness_radius, s.max_increase, s.mean_increase,
              s.direction_cosine, wall);
  std::fflush(stdout);
  return tsv.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ptp landscape: loss surface around a trained prompt, per method (demo, SuperGLUE or FewGLUE task data)"};
  common_cli cli;
  demo_options demo;
  landscape_cli lc;
  data_flags df;
  cli.add(app);
  add_demo_options(app, demo);
  app.add_flag("--progress", cli.base.show_progress, "per-epoch progress on stderr");
  add_flags(app, df, lc);
  CLI11_PARSE(app, argc, argv);
  // the family's program defaults, then the command line again so explicit flags win
  if (df.family == "superglue") superglue_defaults(cli);
  else if (df.family == "fewglue") fewglue_defaults(cli);
  else if (df.family == "demo") {
    demo_defaults(cli);
  } else {
    std::fprintf(stderr, "ptp_landscape: --data must be demo, superglue or fewglue, not '%s'\n", df.family.c_str());
    return 1;
  }
  cli.methods = "vanilla,ptp-rn";
  cli.seeds = "1";
  app.clear();
  CLI11_PARSE(app, argc, argv);
  try {
    cli.finish();
    auto& cfg = cli.base;
    const auto seeds = parse_seeds(cli.seeds);
    cfg.seed = seeds.front();
    const auto methods = split_list(cli.methods);
    fs::create_directories(lc.out_dir);
    const bool checkpoint_file = fs::path(lc.checkpoint).extension() == ".pt";
    if (checkpoint_file && methods.size() != 1)
      throw std::invalid_argument("--checkpoint " + lc.checkpoint + " is one run's file: give its one --method");
    if (checkpoint_file && !fs::exists(lc.checkpoint)) throw std::invalid_argument("--checkpoint: no file " + lc.checkpoint);
    if (!lc.checkpoint.empty() && !checkpoint_file) fs::create_directories(lc.checkpoint);
    const auto [data, task_name] = load_data(df, demo, cli);
    std::printf("%s: surface on %zu examples of %s\n", task_name.c_str(), std::min(lc.examples, data.select.size()),
                data.select_name.c_str());
    std::string tsv = "method\tcenter_loss\tmax_increase\tmean_increase\treport_accuracy\tcsv\n";
    for (const auto& method : methods) {
      cfg.method = method;
      const fs::path ck = lc.checkpoint.empty() ? fs::path()
                          : checkpoint_file   ? fs::path(lc.checkpoint)
                                              : checkpoint_path(lc.checkpoint, task_name, method, cfg.seed);
      tsv += surface_of(cfg, data, task_name, ck, lc);
    }
    const fs::path table = fs::path(lc.out_dir) / ("landscape-" + lc.space + ".tsv");
    ptp::sweep::write_file_atomically(table, tsv);
    std::printf("surfaces: %s\n", table.string().c_str());  // `./ptp landscape` plots what this table lists
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptp_landscape: %s\n", e.what());
    return 1;
  }
  return 0;
}
