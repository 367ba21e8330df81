// examples/reproduce/trainer.hpp — the training loop of one run, apart from how its model is
// built: AdamW over the recipe's parameter groups and the linear schedule, shuffled batches
// through the method's step, the selection split scored after each period (an epoch, or
// eval_every steps) with patience, and the best evaluation's tensors restored at the end.
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/progress.hpp>
#include <ptp/random.hpp>

#include <torch/torch.h>

#include <algorithm>
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
    const ptp::torch::step_guard guard{.max_grad_norm = cfg_.max_grad_norm};
    generator gen{.seed = cfg_.seed};
    generator order{.seed = cfg_.seed, .stream = 0x4F52444552ull};  // "ORDER": data order
    std::vector<std::size_t> idx(train.size());
    double edits = 0, examples = 0;
    bool go_on = true;
    for (int epoch = 1; epoch <= plan_.epochs && go_on; ++epoch) {
      std::iota(idx.begin(), idx.end(), std::size_t{0});
      for (std::size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[order.below(i)]);
      for (std::int64_t s = 0; s < plan_.per_epoch && step_no_ < plan_.total; ++s) {
        if (!bar_) open_bar(epoch);
        const auto first = static_cast<std::size_t>(s * cfg_.batch_size);
        const auto chosen = std::span<const std::size_t>(idx).subspan(first, std::min(idx.size() - first, static_cast<std::size_t>(cfg_.batch_size)));
        text_batch b(setup_, pick(train, chosen), pick(data_.train, chosen));
        loss_sum_ += step(b, gen, *opt_, sched_, guard);
        edits += b.edits();
        examples += static_cast<double>(b.size());
        ++loss_n_;
        ++step_no_;
        if (bar_) bar_->advance();
        if (cfg_.eval_every > 0 && (step_no_ % cfg_.eval_every == 0 || step_no_ == plan_.total)) go_on = evaluate_and_select(epoch, select) && go_on;
        if (!go_on) break;
      }
      if (cfg_.eval_every == 0) go_on = evaluate_and_select(epoch, select);
    }
    res_.steps = step_no_;
    res_.text_edits_per_example = examples > 0 ? edits / examples : 0.0;
    setup_.model.restore(best_state_);
    return res_;
  }

 private:
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
  double loss_sum_ = 0;
  std::unique_ptr<progress> bar_;
};

}  // namespace ptp::repro
