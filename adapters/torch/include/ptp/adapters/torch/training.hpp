// ptp/adapters/torch/training.hpp — one call per training step, the optimizer and schedule
// the P-tuning recipes use (AdamW, linear warm-up then linear decay), and atomic checkpoints.
#pragma once

#include <torch/torch.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ptp/adapters/torch/backend.hpp"
#include "ptp/mode.hpp"
#include "ptp/random.hpp"
#include "ptp/regularizer.hpp"

namespace ptp::torch {

/// AdamW settings (defaults: PyTorch's, with P-tuning v2's weight decay 0.01 — override).
struct adamw_options {
  double lr = 1e-2;
  double weight_decay = 0.01;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
};

/// AdamW over `params` (the prompt's, plus any head the recipe trains).
inline std::unique_ptr<::torch::optim::AdamW> adamw(std::vector<at::Tensor> params, adamw_options o = {}) {
  return std::make_unique<::torch::optim::AdamW>(
      std::move(params),
      ::torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay).betas({o.beta1, o.beta2}).eps(o.eps));
}

/// One parameter group of a grouped AdamW: its tensors and its own rate and decay.
struct adamw_group {
  std::vector<at::Tensor> params;
  double lr;
  double weight_decay;
};

/// AdamW over groups with their own lr and weight decay; betas and eps from `o`, whose lr and
/// weight_decay are only the optimizer's defaults. Each group's lr and decay are set again
/// after construction: LibTorch (2.15, optimizer.h _merge_by_comparison) treats a group
/// option equal to AdamWOptions' constructor default (lr 1e-3, decay 1e-2) as unset and
/// replaces it with the optimizer's default, so a head at 1e-3 beside a prompt at 1e-5 would
/// silently train at 1e-5.
inline std::unique_ptr<::torch::optim::AdamW> adamw(std::vector<adamw_group> groups, adamw_options o = {}) {
  auto options = [&](double lr, double wd) {
    return ::torch::optim::AdamWOptions(lr).weight_decay(wd).betas({o.beta1, o.beta2}).eps(o.eps);
  };
  std::vector<::torch::optim::OptimizerParamGroup> param_groups;
  for (auto& g : groups)
    param_groups.emplace_back(g.params, std::make_unique<::torch::optim::AdamWOptions>(options(g.lr, g.weight_decay)));
  auto opt = std::make_unique<::torch::optim::AdamW>(std::move(param_groups), options(o.lr, o.weight_decay));
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto& set = static_cast<::torch::optim::AdamWOptions&>(opt->param_groups()[i].options());
    set.lr(groups[i].lr).weight_decay(groups[i].weight_decay);
  }
  return opt;
}

/// Linear warm-up from 0 to each group's base lr over `warmup` steps, then linear decay to 0
/// at `total` steps (Hugging Face's get_linear_schedule_with_warmup, which P-tuning v2 uses):
///   factor(s) = s / max(1, warmup)                            for s < warmup
///             = max(0, (total − s) / max(1, total − warmup))   otherwise
/// Construction sets lr = base·factor(0); step() advances s by one and sets base·factor(s).
class linear_warmup_decay {
 public:
  linear_warmup_decay(::torch::optim::Optimizer& opt, std::int64_t warmup, std::int64_t total)
      : opt_(opt), warmup_(warmup), total_(total) {
    if (warmup < 0 || total < 0) throw std::invalid_argument("ptp::torch::linear_warmup_decay: negative step count");
    for (auto& g : opt_.param_groups()) base_.push_back(g.options().get_lr());
    apply();
  }
  /// One optimizer step done: move the schedule on.
  void step() {
    ++step_;
    apply();
  }
  [[nodiscard]] double factor(std::int64_t s) const {
    if (s < warmup_) return static_cast<double>(s) / static_cast<double>(std::max<std::int64_t>(1, warmup_));
    return std::max(0.0, static_cast<double>(total_ - s) / static_cast<double>(std::max<std::int64_t>(1, total_ - warmup_)));
  }
  [[nodiscard]] std::int64_t steps_taken() const { return step_; }
  /// Restores the position (checkpoints).
  void set_steps_taken(std::int64_t s) {
    step_ = s;
    apply();
  }
  [[nodiscard]] const std::vector<double>& base_lrs() const { return base_; }

 private:
  void apply() {
    auto& groups = opt_.param_groups();
    for (std::size_t i = 0; i < groups.size() && i < base_.size(); ++i) groups[i].options().set_lr(base_[i] * factor(step_));
  }
  ::torch::optim::Optimizer& opt_;
  std::int64_t warmup_, total_, step_ = 0;
  std::vector<double> base_;
};

/// What a training step does when a loss or gradient is not finite (issue: numerical faults).
enum class on_non_finite {
  stop,       ///< default: throw ptp::non_finite_error naming step, batch and term
  skip_step,  ///< zero the gradients, leave parameters, optimizer and schedule untouched, return NaN
};

/// Where a step is (for the error message), the fault policy, and gradient clipping.
struct step_guard {
  std::int64_t step = -1;   ///< global step, −1: unknown
  std::int64_t batch = -1;  ///< batch index in the epoch, −1: unknown
  on_non_finite policy = on_non_finite::stop;
  double max_grad_norm = 0;  ///< > 0: clip the global L2 norm of every optimizer parameter's gradient (PET/P-tuning: 1.0)
  /// Data parallelism (distributed.hpp): called on every rank after the step's terms, before
  /// the finiteness policy, clipping and the optimizer step, with the rank's loss and whether
  /// its own terms failed; it replaces the gradients (and the loss) by their sums over ranks
  /// weighted by each rank's share and returns whether any rank failed — so every rank takes
  /// the same decision, and no rank leaves the collective the others wait in.
  std::function<bool(::torch::optim::Optimizer&, double& loss, bool failed)> synchronize = {};
};

/// Scales the gradients of `opt`'s parameters so that their global L2 norm is at most
/// `max_norm` (torch::nn::utils::clip_grad_norm_ over all groups); returns the norm before.
inline double clip_gradients(::torch::optim::Optimizer& opt, double max_norm) {
  std::vector<at::Tensor> ps;
  for (auto& group : opt.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) ps.push_back(p);
  return ps.empty() ? 0.0 : ::torch::nn::utils::clip_grad_norm_(ps, max_norm);
}

namespace detail {

inline std::string where(const step_guard& g) {
  std::string w;
  if (g.step >= 0) w += " at step " + std::to_string(g.step);
  if (g.batch >= 0) w += (w.empty() ? " at batch " : ", batch ") + std::to_string(g.batch);
  return w;
}

// True when every parameter gradient of the optimizer is finite (one host sync per step).
inline bool gradients_finite(::torch::optim::Optimizer& opt) {
  std::vector<at::Tensor> bad;
  for (auto& group : opt.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) bad.push_back(at::logical_not(at::isfinite(p.grad())).any().reshape({1}));
  return bad.empty() || !at::cat(bad).any().item<bool>();
}

// zero_grad, `terms()` (the step's loss; θ-gradients accumulated), the finiteness checks and
// guard policy, optimizer and schedule step: what train_step and train_step_text share.
template <class Terms>
double guarded_step(Terms&& terms, ::torch::optim::Optimizer& optimizer, linear_warmup_decay* schedule,
                    const step_guard& guard) {
  optimizer.zero_grad();
  std::string fault;
  double loss = 0;
  try {
    loss = terms();
    if (!gradients_finite(optimizer)) fault = "ptp: non-finite parameter gradient (θ) after the step's terms";
  } catch (const non_finite_error& e) {
    fault = e.what();
  }
  if (guard.synchronize) {
    if (!fault.empty()) optimizer.zero_grad();  // a failed rank still joins, with nothing to add
    if (guard.synchronize(optimizer, loss, !fault.empty()) && fault.empty())
      fault = "ptp: another rank's step was not finite (data-parallel)";
  }
  if (!fault.empty()) {
    if (guard.policy == on_non_finite::stop)
      throw non_finite_error(fault + where(guard) + " (policy: stop; on_non_finite::skip_step skips such steps)");
    optimizer.zero_grad();
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (guard.max_grad_norm > 0) clip_gradients(optimizer, guard.max_grad_norm);
  optimizer.step();
  if (schedule) schedule->step();
  return loss;
}

}  // namespace detail

/// One training step: zero the gradients, reg.loss (training mode: clean and perturbed
/// terms, θ-gradients accumulated), check that the loss and θ's gradients are finite,
/// optimizer step, schedule step. Returns the loss.
/// A non-finite loss or gradient is detected in the term where it occurs (clean, perturbed,
/// ascent step k, FreeLB pass k — raised by the core) or in θ's accumulated gradient, and
/// handled by `guard.policy`: stop (default) throws ptp::non_finite_error naming the step,
/// batch and term; skip_step drops the step and returns NaN.
/// @tparam F  a Differentiable on torch tensors (ptp::torch::autograd_model)
/// @code
///   auto f = ptp::torch::autograd_model(forward, prompt->parameters(), attention_mask, labels);
///   double loss = ptp::torch::train_step(reg, f, e, perturb_mask, gen, *opt, &sched, {.step = s, .batch = b});
/// @endcode
template <class Reg, class F>
double train_step(const Reg& reg, F& model, const at::Tensor& embeddings, const at::Tensor& perturbation_mask,
                  generator& gen, ::torch::optim::Optimizer& optimizer, linear_warmup_decay* schedule = nullptr,
                  const step_guard& guard = {}) {
  return detail::guarded_step([&] { return reg.loss(model, embeddings, perturbation_mask, gen, mode::train); }, optimizer,
                              schedule, guard);
}

/// The same step from a token batch, text stages included: reg.step (regularizer.hpp) with
/// `prepare` as the TextModel — `prepare(batch)` returns a struct with members `model`,
/// `embeddings` and `mask` (e.g. an autograd_model made for that batch, its embeddings and
/// its perturbation mask) and is called for the clean batch and for the perturbed one.
/// The loss is clean + λ·perturbed (the objective's weights), the paper's PTP-RN-text and
/// PTP-ADV-text; before issue 19 this function trained on the perturbed text alone.
/// @code
///   auto reg = ptp::regularizer(ptp::text::random_mask{.rate = 0.15, .mask_id = tok.mask()});
///   double loss = ptp::torch::train_step_text(reg, batch, prepare, gen, *opt, &sched);
/// @endcode
template <class Reg, class Seq, class Prepare>
double train_step_text(const Reg& reg, const Seq& seq, Prepare&& prepare, generator& gen,
                       ::torch::optim::Optimizer& optimizer, linear_warmup_decay* schedule = nullptr,
                       const step_guard& guard = {}) {
  embed_with<std::remove_reference_t<Prepare>&> model{prepare};
  return detail::guarded_step([&] { return reg.step(model, seq, gen, mode::train); }, optimizer, schedule, guard);
}

/// The step of a data-parallel rank whose share of the batch is empty: no terms, but it joins
/// guard.synchronize and takes the same optimizer and schedule step as the other ranks.
inline double train_step_without_data(::torch::optim::Optimizer& optimizer, linear_warmup_decay* schedule, const step_guard& guard) {
  return detail::guarded_step([] { return 0.0; }, optimizer, schedule, guard);
}

namespace detail {

// fsync a path (file or directory); best effort on directories.
inline void sync_path(const std::filesystem::path& p, bool required) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) {
    if (required) throw std::runtime_error("ptp::torch checkpoint: cannot reopen " + p.string() + " to sync it");
    return;
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0 && required) throw std::runtime_error("ptp::torch checkpoint: fsync failed for " + p.string());
}

inline at::Tensor generator_state(const generator& g) {
  return at::tensor(std::vector<std::int64_t>{static_cast<std::int64_t>(g.seed), static_cast<std::int64_t>(g.stream),
                                              static_cast<std::int64_t>(g.offset)},
                    at::kLong);
}

}  // namespace detail

/// What a checkpoint holds besides the prompt: the optimizer (moments, step counts), the
/// schedule's position, ptp's generator and the epoch/step the caller is at. Each pointer
/// may be null (not saved / not restored).
struct checkpoint_state {
  ::torch::optim::Optimizer* optimizer = nullptr;
  linear_warmup_decay* schedule = nullptr;
  generator* gen = nullptr;
  std::int64_t step = 0;  ///< the caller's global step (saved; set on load)
};

inline void save_archive(const std::filesystem::path& path, ::torch::serialize::OutputArchive& root);

/// Saves `prompt` (any torch::nn::Module: its parameters and buffers) and `state` to `path`
/// atomically: written to `path.tmp-<pid>`, flushed and fsync'd, then renamed over `path`
/// (and the directory synced), so a crash leaves either the old or the new checkpoint.
inline void save_checkpoint(const std::filesystem::path& path, const ::torch::nn::Module& prompt,
                            const checkpoint_state& state = {}) {
  ::torch::serialize::OutputArchive root, module_archive;
  prompt.save(module_archive);
  root.write("prompt", module_archive);
  if (state.optimizer) {
    ::torch::serialize::OutputArchive opt_archive;
    state.optimizer->save(opt_archive);
    root.write("optimizer", opt_archive);
  }
  if (state.schedule) root.write("schedule_step", at::tensor(std::vector<std::int64_t>{state.schedule->steps_taken()}, at::kLong));
  if (state.gen) root.write("generator", detail::generator_state(*state.gen));
  root.write("step", at::tensor(std::vector<std::int64_t>{state.step}, at::kLong));
  save_archive(path, root);
}

/// Writes `root` to `path` atomically (save_checkpoint's way: a temporary file, flushed and
/// fsync'd, renamed over `path`): a crash leaves the old file or the new one.
inline void save_archive(const std::filesystem::path& path, ::torch::serialize::OutputArchive& root) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::filesystem::create_directories(dir);
  auto tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("ptp::torch::save_archive: cannot write " + tmp.string());
    root.save_to(out);
    out.flush();
    if (!out) throw std::runtime_error("ptp::torch::save_archive: write failed for " + tmp.string());
  }
  detail::sync_path(tmp, true);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("ptp::torch::save_archive: rename to " + path.string() + " failed: " + ec.message());
  }
  detail::sync_path(dir, false);
}

/// Loads a checkpoint written by save_checkpoint into `prompt` and whatever `state` points
/// at; sets state.step. The prompt must have the saved structure: a missing tensor, or one
/// of another shape or dtype, is an error naming it, and leaves `prompt` as it was (torch's
/// Module::load alone would silently re-shape the parameter).
inline void load_checkpoint(const std::filesystem::path& path, ::torch::nn::Module& prompt, checkpoint_state& state) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("ptp::torch::load_checkpoint: no file " + path.string());
  ::torch::serialize::InputArchive root, module_archive;
  try {
    root.load_from(path.string());
    root.read("prompt", module_archive);
  } catch (const c10::Error& e) {
    throw std::runtime_error("ptp::torch::load_checkpoint: " + path.string() + " is not a readable checkpoint: " +
                             e.what_without_backtrace());
  }
  {
    struct kept {
      std::string name;
      at::Tensor tensor, before;
    };
    std::vector<kept> all;
    ::torch::NoGradGuard ng;
    for (const auto& np : prompt.named_parameters()) all.push_back({np.key(), np.value(), np.value().clone()});
    for (const auto& np : prompt.named_buffers()) all.push_back({np.key(), np.value(), np.value().clone()});
    auto restore = [&] {
      for (auto& k : all) k.tensor.set_(k.before);
    };
    auto describe = [](const at::Tensor& t) {
      return ptp::to_string(shape_type(t.sizes().begin(), t.sizes().end())) + " " + std::string(c10::toString(t.scalar_type()));
    };
    try {
      prompt.load(module_archive);
    } catch (const c10::Error& e) {
      restore();
      throw std::runtime_error("ptp::torch::load_checkpoint: " + path.string() + " does not hold this prompt's tensors: " +
                               e.what_without_backtrace());
    }
    for (const auto& k : all)
      if (!k.tensor.sizes().equals(k.before.sizes()) || k.tensor.scalar_type() != k.before.scalar_type()) {
        const auto found = describe(k.tensor), expected = describe(k.before);
        restore();
        throw std::runtime_error("ptp::torch::load_checkpoint: " + path.string() + ": tensor '" + k.name + "' is " + found +
                                 ", this prompt's is " + expected);
      }
  }
  if (state.optimizer) {
    ::torch::serialize::InputArchive opt_archive;
    if (!root.try_read("optimizer", opt_archive))
      throw std::runtime_error("ptp::torch::load_checkpoint: " + path.string() + " has no optimizer state");
    state.optimizer->load(opt_archive);
  }
  at::Tensor t;
  if (state.schedule) {
    if (!root.try_read("schedule_step", t)) throw std::runtime_error("ptp::torch::load_checkpoint: " + path.string() + " has no schedule");
    state.schedule->set_steps_taken(t.item<std::int64_t>());
  }
  if (state.gen) {
    if (!root.try_read("generator", t)) throw std::runtime_error("ptp::torch::load_checkpoint: " + path.string() + " has no generator");
    auto a = t.contiguous();
    const auto* p = a.data_ptr<std::int64_t>();
    *state.gen = generator{.seed = static_cast<std::uint64_t>(p[0]), .stream = static_cast<std::uint64_t>(p[1]),
                           .offset = static_cast<std::uint64_t>(p[2])};
  }
  root.read("step", t);
  state.step = t.item<std::int64_t>();
}

/// Overload for a temporary state (prompt only, or pointers filled in place).
inline void load_checkpoint(const std::filesystem::path& path, ::torch::nn::Module& prompt, checkpoint_state&& state = {}) {
  load_checkpoint(path, prompt, state);
}

}  // namespace ptp::torch
