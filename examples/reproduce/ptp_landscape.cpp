// ptp_landscape — the paper's loss-landscape picture (PAPER.md §6) on the demo task
// (`./ptp landscape`): trains a prompt on WordNet WiC (wordnet_wic.hpp, the runner with the
// demo's defaults) for each method, or loads it with --checkpoint, then evaluates the loss
// surface with ptp::landscape around the trained solution on a fixed batch of dev examples:
//   --space embeddings  (default) the input word embeddings move (mask: the real tokens)
//   --space prompt      the deep prefix's parameters move (parameter_space, landscape_space.hpp)
// Every method uses the same directions seed; the plot (tools/plot_landscape.sh) uses one z
// scale for all. Writes, atomically, per method: landscape-<space>-<method>.csv (a,b,loss) and
// .json (sharpness numbers), and landscape-<space>.tsv (one line per method).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <ptp/landscape.hpp>

#include "landscape_space.hpp"
#include "methods.hpp"
#include "sweep_driver.hpp"
#include "demo_task.hpp"

namespace {

using namespace ptp::repro;
namespace fs = std::filesystem;

void write_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("write failed: " + tmp.string());
  }
  fs::rename(tmp, path);
}

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

std::string json_of(const std::string& method, const landscape_cli& lc, const ptp::landscape::surface& s, const run_result* r,
                    std::uint64_t seed) {
  nlohmann::json j{{"method", method},
                   {"space", lc.space},
                   {"seed", seed},
                   {"direction_seed", lc.direction_seed},
                   {"points", lc.opt.points},
                   {"radius", lc.opt.radius},
                   {"sharpness_radius", lc.opt.sharpness_radius},
                   {"filter_normalize", lc.opt.filter_normalize},
                   {"examples", lc.examples},
                   {"center_loss", s.center_loss},
                   {"max_increase", s.max_increase},
                   {"mean_increase", s.mean_increase},
                   {"direction_cosine", s.direction_cosine}};
  if (r) {
    j["test_accuracy"] = r->report.count("accuracy") ? r->report.at("accuracy") : 0.0;
    j["best_epoch"] = r->best_epoch;
    j["train_seconds"] = r->wall_seconds;
  }
  return j.dump(1) + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ptp landscape: loss surface around the trained prompt (WordNet WiC demo task), per method"};
  common_cli cli;
  cli.base.epochs = 2;
  cli.base.m.pgd_steps = 1;
  cli.base.batch_size = 16;
  cli.base.lr = 1e-2;
  cli.base.prefix_length = 8;
  cli.base.max_length = 64;
  cli.base.warmup_ratio = 0.06;
  cli.base.show_progress = false;
  cli.methods = "vanilla,ptp-rn";
  cli.seeds = "1";
  wordnet_wic_options wo{.train_pairs = 128, .dev_pairs = 64, .test_pairs = 128};
  landscape_cli lc;
  std::string wordnet_dir;
  cli.add(app);
  app.add_option("--train-pairs", wo.train_pairs)->capture_default_str();
  app.add_option("--dev-pairs", wo.dev_pairs)->capture_default_str();
  app.add_option("--test-pairs", wo.test_pairs)->capture_default_str();
  app.add_option("--data-seed", wo.seed, "seed of the WordNet WiC split")->capture_default_str();
  app.add_option("--wordnet-dir", wordnet_dir, "WordNet dictionary dir (default $WNSEARCHDIR or /usr/share/wordnet)");
  app.add_flag("--progress", cli.base.show_progress, "per-epoch progress on stderr");
  app.add_option("--space", lc.space, "embeddings (input word embeddings) | prompt (deep prefix parameters)")->capture_default_str();
  app.add_option("--points", lc.opt.points, "grid points per axis")->capture_default_str();
  app.add_option("--radius", lc.opt.radius, "grid half-width (filter-normalised units)")->capture_default_str();
  app.add_option("--sharpness-radius", lc.opt.sharpness_radius, "r of max_increase")->capture_default_str();
  app.add_flag("!--no-filter-normalize", lc.opt.filter_normalize, "unit global norm instead of Li et al. per-row normalisation");
  app.add_option("--direction-seed", lc.direction_seed, "seed of the random direction (the same for every method)")->capture_default_str();
  app.add_option("--examples", lc.examples, "dev examples in the fixed batch")->capture_default_str();
  app.add_option("--out-dir", lc.out_dir, "where the CSV/JSON/TSV go")->capture_default_str();
  app.add_option("--checkpoint", lc.checkpoint,
                 "checkpoint dir: <dir>/<method>-seed<seed>.pt is loaded when present (no training), else written after training");
  CLI11_PARSE(app, argc, argv);
  try {
    cli.finish();
    auto& cfg = cli.base;
    const auto seeds = parse_seeds(cli.seeds);
    cfg.seed = seeds.front();
    fs::create_directories(lc.out_dir);
    if (!lc.checkpoint.empty()) fs::create_directories(lc.checkpoint);
    const ptp::text::wordnet wn = wordnet_dir.empty() ? ptp::text::wordnet() : ptp::text::wordnet(wordnet_dir);
    const auto task = build_wordnet_wic(wn, wo);
    const run_data data = wordnet_wic_run_data(task, cli);
    std::ostringstream tsv;
    tsv << "method\tcenter_loss\tmax_increase\tmean_increase\ttest_accuracy\n";
    for (const auto& method : split_list(cli.methods)) {
      cfg.method = method;
      const auto t0 = std::chrono::steady_clock::now();
      const fs::path ck = lc.checkpoint.empty() ? fs::path() : fs::path(lc.checkpoint) / (method + "-seed" + std::to_string(cfg.seed) + ".pt");
      ptp::landscape::surface s;
      std::optional<run_result> res;
      if (!ck.empty() && fs::exists(ck)) {
        at::set_num_threads(cfg.threads);
        ::torch::manual_seed(cfg.seed);
        const auto device = ptp::repro::detail::parse_device(cfg.device);
        auto [backbone, rep] = ptp::torch::load_pretrained_encoder(cfg.model_dir, ptp::torch::load_options{.freeze = true, .strict = false, .device = device});
        (void)rep;
        const model_tokenizer tok(cfg.model_dir, static_cast<std::size_t>(cfg.max_length));
        const std::int64_t prompt_tokens = cfg.prompt == "soft" || cfg.prompt == "ptuning" ? cfg.prefix_length : 0;
        const input_encoder enc(tok, data.info, cfg.head, prompt_tokens, cfg.max_length);
        prompt_model model(backbone, cfg, data.info, enc.verbalizer_ids(), device);
        ptp::torch::load_checkpoint(ck, model.parts());
        trained_run tr{model, tok, enc, prompt_tokens, device};
        s = analyse(tr, data, lc);
        std::printf("%s: loaded %s\n", method.c_str(), ck.string().c_str());
      } else {
        const auto [step, tm] = method_step(method, cfg.m);
        res = run_with_step(cfg, data, step, tm, [&](trained_run& tr) {
          if (!ck.empty()) ptp::torch::save_checkpoint(ck, tr.model.parts());
          s = analyse(tr, data, lc);
        });
        std::printf("%s: trained %d epochs (best %d), test accuracy %.4f\n", method.c_str(), cfg.epochs, res->best_epoch,
                    res->report.count("accuracy") ? res->report.at("accuracy") : 0.0);
      }
      const fs::path base = fs::path(lc.out_dir) / ("landscape-" + lc.space + "-" + method);
      std::ostringstream csv;
      csv << "a,b,loss\n";
      csv.precision(9);
      const std::size_t n = s.axis.size();
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) csv << s.axis[i] << ',' << s.axis[j] << ',' << s.at(i, j) << '\n';
      write_atomic(base.string() + ".csv", csv.str());
      write_atomic(base.string() + ".json", json_of(method, lc, s, res ? &*res : nullptr, cfg.seed));
      tsv << method << '\t' << s.center_loss << '\t' << s.max_increase << '\t' << s.mean_increase << '\t'
          << (res && res->report.count("accuracy") ? std::to_string(res->report.at("accuracy")) : std::string("-")) << '\n';
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%s (%s space): L(x0) %.4f, max increase within r=%.2g %.4f, mean increase %.4f, cos(d1,d2) %.1e  [%.1f s]\n",
                  method.c_str(), lc.space.c_str(), s.center_loss, lc.opt.sharpness_radius, s.max_increase, s.mean_increase,
                  s.direction_cosine, wall);
      std::fflush(stdout);
    }
    write_atomic(fs::path(lc.out_dir) / ("landscape-" + lc.space + ".tsv"), tsv.str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptp_landscape: %s\n", e.what());
    return 1;
  }
  return 0;
}
