// examples/reproduce/trainer.hpp — the training loop of one run, apart from how its model is
// built: AdamW over the recipe's parameter groups and the linear schedule, shuffled batches
// through the method's step, the selection split scored after each period (an epoch, or
// eval_every steps) with patience, and the best evaluation's tensors restored at the end.
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/adapters/torch/distributed.hpp>
#include <ptp/progress.hpp>
#include <ptp/random.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "evaluation.hpp"
#include "inputs.hpp"
#include "prompt_model.hpp"
#include "run_config.hpp"
#include "step.hpp"

namespace ptp::repro {

/// The tensors a step trains: the prompt and head, and the backbone when it is tuned.
inline std::vector<at::Tensor> trained_parameters(const run_config& cfg, const prompt_model& model) {
  auto params = model.head_parameters();
  if (cfg.tune_backbone)
    for (auto& p : model.backbone_parameters()) params.push_back(p);
  return params;
}

/// AdamW over the recipe's groups: prompt and head at --lr (the head at --head-lr when set),
/// a tuned backbone at --backbone-lr, with PET's decay groups when --backbone-weight-decay is set.
inline std::unique_ptr<::torch::optim::AdamW> make_optimizer(const run_config& cfg, const prompt_model& model) {
  std::vector<ptp::torch::adamw_group> groups;
  if (cfg.head_lr < 0) {
    groups.push_back({model.head_parameters(), cfg.lr, cfg.weight_decay});
  } else {
    for (bool prompt : {true, false})
      if (auto ps = model.parts_parameters(prompt); !ps.empty()) groups.push_back({std::move(ps), prompt ? cfg.lr : cfg.head_lr, cfg.weight_decay});
  }
  if (cfg.tune_backbone) {
    if (cfg.backbone_weight_decay < 0) {
      groups.push_back({model.backbone_parameters(), cfg.backbone_lr, cfg.weight_decay});
    } else {  // PET's grouping: biases and norm weights without decay
      for (bool decayed : {true, false})
        if (auto ps = model.backbone_parameters(decayed); !ps.empty())
          groups.push_back({std::move(ps), cfg.backbone_lr, decayed ? cfg.backbone_weight_decay : 0.0});
    }
  }
  return ptp::torch::adamw(std::move(groups), {.lr = cfg.lr, .weight_decay = cfg.weight_decay});
}

/// How many steps a run takes: batches an epoch, steps in all, epochs, warm-up steps.
struct step_plan {
  std::int64_t per_epoch, total;
  int epochs;
  std::int64_t warmup;

  static step_plan of(const run_config& cfg, std::size_t train_size) {
    const auto per_epoch = static_cast<std::int64_t>((train_size + cfg.batch_size - 1) / cfg.batch_size);
    const auto total = cfg.max_steps > 0 ? cfg.max_steps : per_epoch * cfg.epochs;
    const auto warmup = cfg.warmup_steps >= 0 ? cfg.warmup_steps : static_cast<std::int64_t>(cfg.warmup_ratio * static_cast<double>(total));
    return {per_epoch, total, static_cast<int>((total + per_epoch - 1) / per_epoch), warmup};
  }
};

/// One run's training: construct it (optimizer and schedule), then train() once.
class trainer {
 public:
  trainer(const run_config& cfg, const run_data& data, const batch_setup& setup, const evaluator& evaluate)
      : cfg_(cfg), data_(data), setup_(setup), evaluate_(evaluate), opt_(make_optimizer(cfg, setup.model)),
        plan_(step_plan::of(cfg, data.train.size())), sched_(*opt_, plan_.warmup, plan_.total) {}

  /// Trains on `train` (data.train encoded) with `step`, scoring `select` after each period;
  /// the model ends at the best evaluation. Fills everything of the result but the report.
  run_result train(const std::vector<encoded_example>& train, const std::vector<encoded_example>& select, const step_function& step) {
    auto* const dp = setup_.group;
    generator gen{.seed = cfg_.seed};
    generator order{.seed = cfg_.seed, .stream = 0x4F52444552ull};  // "ORDER": data order
    std::vector<std::size_t> idx(train.size());
    bool go_on = true;
    int first_epoch = 1;
    if (dp) {
      dp->broadcast(setup_.params);  // every rank starts from rank 0's values
      if (resume_exists()) first_epoch = resume(gen, order, go_on) + 1;
      dp->reset_stats();
    }
    const auto t_train = std::chrono::steady_clock::now();
    double train_seconds = 0;
    std::int64_t trained_examples = 0;
    for (int epoch = first_epoch; epoch <= plan_.epochs && go_on; ++epoch) {
      std::iota(idx.begin(), idx.end(), std::size_t{0});
      for (std::size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[order.below(i)]);
      for (std::int64_t s = 0; s < plan_.per_epoch && step_no_ < plan_.total; ++s) {
        if (!bar_) open_bar(epoch);
        const auto first = static_cast<std::size_t>(s * cfg_.batch_size);
        const auto chosen = std::span<const std::size_t>(idx).subspan(first, std::min(idx.size() - first, static_cast<std::size_t>(cfg_.batch_size)));
        const auto t0 = std::chrono::steady_clock::now();
        loss_sum_ += dp ? parallel_step(train, chosen, step, gen) : local_step(train, chosen, step, gen, {.max_grad_norm = cfg_.max_grad_norm});
        train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        trained_examples += static_cast<std::int64_t>(chosen.size());
        examples_ += static_cast<double>(chosen.size());
        ++loss_n_;
        ++step_no_;
        if (bar_) bar_->advance();
        if (cfg_.eval_every > 0 && (step_no_ % cfg_.eval_every == 0 || step_no_ == plan_.total)) go_on = evaluate_and_select(epoch, select) && go_on;
        if (!go_on) break;
      }
      if (cfg_.eval_every == 0) go_on = evaluate_and_select(epoch, select);
      if (dp && dp->root() && !cfg_.resume_file.empty()) save_resume(epoch, gen, order, go_on);
    }
    if (dp && dp->root()) {  // the throughput line (BENCHMARKS.md "Scaling out")
      const auto& t = dp->stats();
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_train).count();
      const double steps = static_cast<double>(std::max<std::int64_t>(1, t.gradient_reductions));
      std::fprintf(stderr,
                   "%s: data-parallel %d ranks x %d threads: %.2f train examples/s (%lld examples in %.1f s of steps; %.1f s with "
                   "evaluation); gradient all-reduce %.2f MB per step in %lld-byte buckets; %.2f s in it (%.1f %% of the steps' time); "
                   "%lld collectives in all\n",
                   cfg_.label.c_str(), dp->size(), cfg_.threads, train_seconds > 0 ? static_cast<double>(trained_examples) / train_seconds : 0.0,
                   static_cast<long long>(trained_examples), train_seconds, wall, 1e-6 * static_cast<double>(t.gradient_bytes) / steps,
                   static_cast<long long>(ptp::torch::distributed::group::bucket_bytes), t.gradient_seconds,
                   train_seconds > 0 ? 100.0 * t.gradient_seconds / train_seconds : 0.0, static_cast<long long>(t.collectives));
    }
    res_.steps = step_no_;
    res_.text_edits_per_example = examples_ > 0 ? edits_ / examples_ : 0.0;
    setup_.model.restore(best_state_);
    return res_;
  }

 private:
  double local_step(const std::vector<encoded_example>& train, std::span<const std::size_t> chosen, const step_function& step, generator& gen,
                    const ptp::torch::step_guard& guard) {
    text_batch b(setup_, pick(train, chosen), pick(data_.train, chosen));
    const double loss = step(b, gen, *opt_, sched_, guard);
    edits_ += b.edits();
    return loss;
  }

  // This rank's contiguous share of the batch, its noise keyed by the global row of its first
  // example, the gradients (and loss) summed over ranks weighted by the share.
  double parallel_step(const std::vector<encoded_example>& train, std::span<const std::size_t> chosen, const step_function& step,
                       generator& gen) {
    auto* const dp = setup_.group;
    const auto n = static_cast<std::int64_t>(chosen.size());
    const auto mine = ptp::torch::distributed::share_of(n, dp->rank(), dp->size());
    std::int64_t first_row = 0;  // rows of the examples before this rank's share
    for (std::int64_t k = 0; k < mine.begin; ++k) first_row += static_cast<std::int64_t>(train[chosen[static_cast<std::size_t>(k)]].rows.size());
    const double weight = static_cast<double>(mine.size()) / static_cast<double>(n);
    ptp::torch::step_guard guard{.max_grad_norm = cfg_.max_grad_norm};
    guard.synchronize = [&](::torch::optim::Optimizer& opt, double& loss, bool failed) {
      std::vector<double> extras{weight * (failed ? 0.0 : loss), failed ? 1.0 : 0.0};
      std::vector<at::Tensor> ps;
      for (auto& group : opt.param_groups())
        for (auto& p : group.params()) ps.push_back(p);
      dp->all_reduce_gradients(ps, weight, extras);
      loss = extras[0];
      return extras[1] > 0;
    };
    if (mine.size() == 0) return ptp::torch::train_step_without_data(*opt_, &sched_, guard);
    ptp::torch::keyed_noise keyed(first_row);
    return local_step(train, chosen.subspan(static_cast<std::size_t>(mine.begin), static_cast<std::size_t>(mine.size())), step, gen, guard);
  }

  // ---- the epoch-level resume point (data-parallel runs; rank 0 writes it) ----
  bool resume_exists() const {
    const bool here = !cfg_.resume_file.empty() && std::filesystem::exists(cfg_.resume_file);
    return setup_.group->broadcast_value(here ? 1.0 : 0.0) > 0;  // rank 0 decides for all
  }

  void save_resume(int epoch, const generator& gen, const generator& order, bool go_on) {
    ::torch::serialize::OutputArchive root, opt;
    const auto now = setup_.model.snapshot();
    for (std::size_t i = 0; i < now.size(); ++i) root.write("param" + std::to_string(i), now[i]);
    for (std::size_t i = 0; i < best_state_.size(); ++i) root.write("best" + std::to_string(i), best_state_[i]);
    opt_->save(opt);
    root.write("optimizer", opt);
    root.write("torch_cpu_rng", at::detail::getDefaultCPUGenerator().get_state());
    const nlohmann::json j{{"epoch", epoch},        {"go_on", go_on},         {"step", step_no_},          {"schedule", sched_.steps_taken()},
                           {"gen", {gen.seed, gen.stream, gen.offset}},         {"order", {order.seed, order.stream, order.offset}},
                           {"best", best_},         {"since_best", since_best_}, {"best_count", best_state_.size()},
                           {"params", now.size()},  {"loss_sum", loss_sum_},  {"loss_n", loss_n_},         {"edits", edits_},
                           {"examples", examples_}, {"best_epoch", res_.best_epoch}, {"best_step", res_.best_step},
                           {"select_curve", res_.select_curve}, {"select", res_.select}, {"final_train_loss", res_.final_train_loss}};
    const auto text = j.dump();
    root.write("state", at::tensor(std::vector<std::uint8_t>(text.begin(), text.end()), at::kByte));
    std::filesystem::create_directories(std::filesystem::path(cfg_.resume_file).parent_path());
    ptp::torch::save_archive(cfg_.resume_file, root);
  }

  // Loads the resume point on every rank; returns the epoch it was taken after.
  int resume(generator& gen, generator& order, bool& go_on) {
    ::torch::serialize::InputArchive root, opt;
    at::Tensor t;
    try {
      root.load_from(cfg_.resume_file);
      root.read("state", t);
    } catch (const c10::Error& e) {
      throw std::runtime_error(cfg_.resume_file + ": not a readable resume point: " + e.what_without_backtrace());
    }
    t = t.contiguous();
    const auto j = nlohmann::json::parse(std::string(t.data_ptr<std::uint8_t>(), t.data_ptr<std::uint8_t>() + t.numel()));
    auto now = setup_.model.snapshot();
    if (j.at("params").get<std::size_t>() != now.size())
      throw std::runtime_error(cfg_.resume_file + ": " + j.at("params").dump() + " trained tensors, this run has " + std::to_string(now.size()));
    for (std::size_t i = 0; i < now.size(); ++i) root.read("param" + std::to_string(i), now[i]);
    setup_.model.restore(now);
    best_state_.assign(j.at("best_count").get<std::size_t>(), at::Tensor());
    for (std::size_t i = 0; i < best_state_.size(); ++i) root.read("best" + std::to_string(i), best_state_[i]);
    root.read("optimizer", opt);
    opt_->load(opt);
    root.read("torch_cpu_rng", t);
    auto cpu_rng = at::detail::getDefaultCPUGenerator();
    cpu_rng.set_state(t);
    auto g3 = [](const nlohmann::json& a) { return generator{.seed = a[0], .stream = a[1], .offset = a[2]}; };
    gen = g3(j.at("gen"));
    order = g3(j.at("order"));
    go_on = j.at("go_on");
    step_no_ = j.at("step");
    sched_.set_steps_taken(j.at("schedule"));
    best_ = j.at("best");
    since_best_ = j.at("since_best");
    loss_sum_ = j.at("loss_sum");
    loss_n_ = j.at("loss_n");
    edits_ = j.at("edits");
    examples_ = j.at("examples");
    res_.best_epoch = j.at("best_epoch");
    res_.best_step = j.at("best_step");
    res_.select_curve = j.at("select_curve").get<std::vector<double>>();
    res_.select = j.at("select").get<std::map<std::string, double>>();
    res_.final_train_loss = j.at("final_train_loss");
    const int epoch = j.at("epoch");
    if (setup_.group->root()) std::fprintf(stderr, "%s: resumed after epoch %d (step %lld) from %s\n", cfg_.label.c_str(), epoch,
                                           static_cast<long long>(step_no_), cfg_.resume_file.c_str());
    return epoch;
  }

  // one progress bar per evaluation period: an epoch, or eval_every steps
  void open_bar(int epoch) {
    if (!cfg_.show_progress) return;
    const std::int64_t period = cfg_.eval_every > 0 ? cfg_.eval_every : plan_.per_epoch;
    const std::string what = cfg_.eval_every > 0 ? " steps " + std::to_string(step_no_ + 1) + "-" + std::to_string(std::min(plan_.total, step_no_ + period)) +
                                                       "/" + std::to_string(plan_.total)
                                                 : " epoch " + std::to_string(epoch) + "/" + std::to_string(plan_.epochs);
    bar_ = std::make_unique<progress>(cfg_.label + what, static_cast<std::size_t>(std::min(period, plan_.total - step_no_)),
                                      progress_options{.unit = "batch"});
  }

  // scores the selection split and keeps the best; false when patience runs out
  bool evaluate_and_select(int epoch, const std::vector<encoded_example>& select) {
    if (bar_) bar_->finish();
    bar_.reset();
    res_.final_train_loss = loss_sum_ / static_cast<double>(std::max<std::int64_t>(1, loss_n_));
    loss_sum_ = 0;
    loss_n_ = 0;
    const auto sel = evaluate_(select);
    const double sc = selection_score(data_.info.task, sel);
    res_.select_curve.push_back(sc);
    const bool improved = sc > best_;
    const bool keep = improved || (cfg_.later_wins_ties && sc >= best_);  // default: strictly better, ties keep the earlier
    if (cfg_.show_progress) {
      const std::string at = cfg_.eval_every > 0 ? "step " + std::to_string(step_no_) : "epoch " + std::to_string(epoch);
      std::fprintf(stderr, "%s %s: train loss %.4f, %s score %.4f%s\n", cfg_.label.c_str(), at.c_str(), res_.final_train_loss,
                   data_.select_name.c_str(), sc, keep ? " (best)" : "");
    }
    if (keep) {
      best_ = sc;
      res_.best_epoch = epoch;
      res_.best_step = step_no_;
      res_.select = sel;
      best_state_ = setup_.model.snapshot();
    }
    since_best_ = improved ? 0 : since_best_ + 1;  // PT-Fewshot counts ties as no improvement
    return cfg_.patience <= 0 || since_best_ < cfg_.patience;
  }

  const run_config& cfg_;
  const run_data& data_;
  const batch_setup& setup_;
  const evaluator& evaluate_;
  std::unique_ptr<::torch::optim::AdamW> opt_;
  step_plan plan_;
  ptp::torch::linear_warmup_decay sched_;
  run_result res_;
  double best_ = -1;
  int since_best_ = 0;  // evaluations without a strict improvement (patience)
  std::vector<at::Tensor> best_state_;
  std::int64_t step_no_ = 0, loss_n_ = 0;
  double loss_sum_ = 0, edits_ = 0, examples_ = 0;
  std::unique_ptr<progress> bar_;
};

}  // namespace ptp::repro
