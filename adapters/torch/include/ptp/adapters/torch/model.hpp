// ptp/adapters/torch/model.hpp — ptp::torch::autograd_model: any LibTorch forward function
// (embeddings B×L×d + attention mask → logits B×C), its trainable parameters and the batch's
// labels, seen by the core as a Differentiable and a LogitModel, gradients by autograd.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ptp/adapters/torch/backend.hpp"
#include "ptp/concepts.hpp"

namespace ptp::torch {

/// Puts modules in evaluation mode (dropout off) for its lifetime, then restores each one's
/// previous mode. Used by autograd_model::evaluate; usable on its own.
/// @code
///   { ptp::torch::eval_scope scope({backbone.ptr(), prompt.ptr()}); auto z = net(x, mask); }
/// @endcode
class eval_scope {
 public:
  explicit eval_scope(std::vector<std::shared_ptr<::torch::nn::Module>> modules) : modules_(std::move(modules)) {
    for (auto& m : modules_) {
      was_training_.push_back(m->is_training());
      m->eval();
    }
  }
  ~eval_scope() {
    for (std::size_t i = 0; i < modules_.size(); ++i) modules_[i]->train(was_training_[i]);
  }
  eval_scope(const eval_scope&) = delete;
  eval_scope& operator=(const eval_scope&) = delete;

 private:
  std::vector<std::shared_ptr<::torch::nn::Module>> modules_;
  std::vector<bool> was_training_;
};

/// The forward function an autograd_model wraps: (embeddings B×L×d, attention mask B×L) →
/// logits B×C. It typically joins a prompt (soft_prompt::join, or a deep prefix) and runs
/// a frozen backbone; anything differentiable by autograd will do.
using forward_function = std::function<at::Tensor(const at::Tensor& embeddings, const at::Tensor& attention_mask)>;

/// Options of an autograd_model.
struct autograd_model_options {
  /// Forward graphs kept for logits_backward (keyed by the input tensor's identity and
  /// version); 4 covers SMART/R3F's clean + perturbed pairs. 0 disables the cache.
  std::size_t graph_cache = 4;
  /// Modules switched to eval mode (dropout off) by evaluate() and predict(). The forward
  /// function is opaque, so they must be named: with none, evaluate() and predict() refuse
  /// to run (std::logic_error) rather than evaluate with dropout on…
  std::vector<std::shared_ptr<::torch::nn::Module>> modules = {};
  /// …unless the forward has no train/eval-dependent layers (no dropout, no batch norm).
  bool mode_free_forward = false;
  /// The forward function treats rows independently and takes any batch size (no batch norm,
  /// nothing sized to B captured), so evaluate_stacked / logits_stacked may run it on the 2B
  /// rows [clean; perturbed] with the attention mask repeated (ptp::batched_passes). Off:
  /// they refuse (std::logic_error) — the function is opaque, so the user must say so.
  bool stackable = false;
};

/// The state of torch's default generators that a forward pass draws dropout from: the CPU
/// one, and the device's when it is CUDA (autograd_model::random_state).
struct torch_random_state {
  std::vector<std::pair<at::Generator, at::Tensor>> states;
};

/// A LibTorch model as a ptp Differentiable and LogitModel.
///  * evaluate(e)                      mean cross-entropy, no graph (NoGradGuard), modules in
///                                     eval mode: evaluation is deterministic and unperturbed
///  * evaluate_with_gradient(e, g, w)  ∇_e L into *g (if g) by autograd, and w·∇_θ L ADDED to
///                                     each trainable parameter's .grad (nothing when w = 0)
///  * logits(e)                        B×C logits in training mode; the graph is cached so
///  * logits_backward(e, dz, g, w)     does not recompute the forward pass for the same e
///  * labels()                         host labels (consistency objectives)
/// Inputs that require grad (trainable word embeddings upstream, or a prompt joined into the
/// embeddings) are cut at the embedding boundary: each pass runs from a detached leaf copy, and
/// w·∂L/∂e is back-propagated from e into the upstream graph (kept with retain_graph, so every
/// pass of a multi-pass stage can do so); passes with w = 0 (ascent steps) never touch it.
/// Other inputs are detached; δ is always a constant (backend add() detaches it).
///  * random_state() / restore_random_state(s)  torch's generator states, so a stage can replay
///                                     one dropout mask over several passes (FreeLB)
///  * evaluate_stacked(a, b, wa, wb)   with options.stackable: one pass over the 2B rows [a; b]:
///                                     {L(a), L(b)}, wa·∇_θ L(a) + wb·∇_θ L(b) added (StackableModel)
///  * logits_stacked(a, b) / logits_backward_stacked(a, b, dza, dzb, w)  the same for logits
///                                     (StackableLogitModel: R3F under ptp::batched_passes)
/// @code
///   auto f = ptp::torch::autograd_model(
///       [&](const at::Tensor& e, const at::Tensor& m) { return net(prompt->join(e), prompt->join_mask(m)); },
///       prompt->parameters(), attention_mask, labels);
///   double loss = reg.loss(f, e, perturbation_mask, gen);
/// @endcode
class autograd_model {
 public:
  autograd_model(forward_function forward, std::vector<at::Tensor> parameters, at::Tensor attention_mask = {},
                 at::Tensor labels = {}, autograd_model_options options = {})
      : forward_(std::move(forward)), params_(std::move(parameters)), options_(std::move(options)) {
    if (!forward_) throw std::invalid_argument("ptp::torch::autograd_model: empty forward function");
    set_batch(std::move(attention_mask), std::move(labels));
  }

  /// A new batch: its attention mask (B×L, passed to the forward function) and labels (B,
  /// int64; may be undefined for label-free consistency). Clears the graph cache.
  void set_batch(at::Tensor attention_mask, at::Tensor labels) {
    mask_ = std::move(attention_mask);
    labels_dev_ = labels.defined() ? labels.to(at::kLong) : at::Tensor();
    labels_host_.clear();
    if (labels_dev_.defined()) {
      if (labels_dev_.dim() != 1) throw shape_error("ptp::torch::autograd_model: labels must be a 1-D tensor of B class ids");
      auto h = labels_dev_.cpu().contiguous();
      labels_host_.assign(h.data_ptr<std::int64_t>(), h.data_ptr<std::int64_t>() + h.numel());
    }
    cache_.clear();
    stacked_mask_ = at::Tensor();
    stacked_ = {};
    stacked_b_ = {};
  }

  const at::Tensor& attention_mask() const { return mask_; }
  std::span<const std::int64_t> labels() const { return labels_host_; }
  const std::vector<at::Tensor>& parameters() const { return params_; }
  void clear_cache() {
    cache_.clear();
    stacked_ = {};
    stacked_b_ = {};
  }
  /// Forward passes run so far (a check that the cache saves work).
  std::size_t forward_passes() const { return forwards_; }

  /// Mean cross-entropy at e without any graph, modules in eval mode.
  double evaluate(const at::Tensor& e) {
    ::torch::NoGradGuard ng;
    return loss_of(predict(e)).item<double>();
  }

  /// Logits at e in evaluation mode (no graph, dropout off); needs options.modules (or
  /// options.mode_free_forward).
  at::Tensor predict(const at::Tensor& e) {
    if (options_.modules.empty() && !options_.mode_free_forward)
      throw std::logic_error("ptp::torch::autograd_model: evaluate()/predict() need options.modules to switch dropout "
                             "off (or options.mode_free_forward = true for a forward without dropout or batch norm)");
    ::torch::NoGradGuard ng;
    eval_scope scope(options_.modules);
    ++forwards_;
    return forward_(e.detach(), mask_);
  }

  /// The state of the generators dropout draws from (CPU, and the batch's CUDA device).
  torch_random_state random_state() const {
    torch_random_state s;
    auto add = [&](at::Generator g) {
      std::lock_guard<std::mutex> lock(g.mutex());
      s.states.emplace_back(g, g.get_state());
    };
    add(at::globalContext().defaultGenerator(at::kCPU));
    if (mask_.defined() && mask_.is_cuda()) add(at::globalContext().defaultGenerator(mask_.device()));
    return s;
  }
  /// Puts the generators back where random_state() found them: the next forward pass draws
  /// the same dropout masks again.
  void restore_random_state(const torch_random_state& s) {
    for (const auto& [g0, state] : s.states) {
      auto g = g0;
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_state(state);
    }
  }

  /// The loss at e; ∇_e into *g when g, w·∇_θ added to the parameters' .grad.
  double evaluate_with_gradient(const at::Tensor& e, at::Tensor* g, double w) {
    auto x = input(e, g != nullptr);
    ++forwards_;
    const auto z = forward_(x, mask_);
    const auto loss = loss_of(z);
    backward(loss, at::Tensor(), x, e, g, w);
    return loss.item<double>();
  }

  /// One forward/backward pass over the 2B rows [a; b] (options.stackable): returns {L(a),
  /// L(b)}, each the mean cross-entropy of its B rows, and ADDS wa·∇_θ L(a) + wb·∇_θ L(b) to
  /// .grad. Equals evaluate_with_gradient(a, nullptr, wa) then (b, nullptr, wb) up to float
  /// rounding when the forward draws nothing (dropout off).
  std::pair<double, double> evaluate_stacked(const at::Tensor& a, const at::Tensor& b, double wa, double wb) {
    auto x = stacked_input(a, b);
    ++forwards_;
    const auto z = forward_(x, stacked_mask());
    const auto B = a.size(0);
    const auto la = loss_of(z.narrow(0, 0, B)), lb = loss_of(z.narrow(0, B, B));
    const auto loss = la * wa + lb * wb;
    stacked_backward(loss, at::Tensor(), x, a, b, wa != 0 || wb != 0);
    return {la.item<double>(), lb.item<double>()};
  }

  /// Training-mode logits of a and b (detached) from one forward pass over [a; b]
  /// (options.stackable); the graph stays for logits_backward_stacked(a, b, …).
  std::pair<at::Tensor, at::Tensor> logits_stacked(const at::Tensor& a, const at::Tensor& b) {
    auto x = stacked_input(a, b);
    ++forwards_;
    auto z = forward_(x, stacked_mask());
    stacked_ = {a, a._version(), x, z};
    stacked_b_ = {b, b._version(), {}, {}};
    const auto B = a.size(0);
    const auto zd = z.detach();
    return {zd.narrow(0, 0, B), zd.narrow(0, B, B)};
  }

  /// Backward pass of logits_stacked(a, b) with [dza; dzb]: w·∇_θ added to .grad (and w·∂/∂a,
  /// w·∂/∂b into a's and b's own graphs when they have one). Recomputes the forward pass when
  /// a or b is not the pair of the last logits_stacked call.
  void logits_backward_stacked(const at::Tensor& a, const at::Tensor& b, const at::Tensor& dza, const at::Tensor& dzb,
                               double w) {
    at::Tensor x, z;
    if (stacked_.z.defined() && stacked_.key.is_same(a) && stacked_.version == a._version() &&
        stacked_b_.key.is_same(b) && stacked_b_.version == b._version()) {
      x = stacked_.x;
      z = stacked_.z;
    } else {
      x = stacked_input(a, b);
      ++forwards_;
      z = forward_(x, stacked_mask());
    }
    stacked_ = {};
    stacked_b_ = {};
    if (w == 0) return;
    const auto dz = at::cat({dza.detach(), dzb.detach()}, 0).to(z.device(), z.scalar_type()) * w;
    stacked_backward(z, dz, x, a, b, true);
  }

  /// Training-mode logits (detached); the graph stays cached for logits_backward(e, …).
  at::Tensor logits(const at::Tensor& e) {
    auto x = input(e, true);
    ++forwards_;
    auto z = forward_(x, mask_);
    if (options_.graph_cache > 0 && z.requires_grad()) {
      if (cache_.size() >= options_.graph_cache) cache_.pop_front();
      cache_.push_back({e, e._version(), x, z});
    }
    return z.detach();
  }

  /// Vector–Jacobian product with dz (B×C): ∇_e into *g when g, w·∇_θ added to .grad.
  /// Uses (and releases) the cached graph of logits(e) when there is one.
  void logits_backward(const at::Tensor& e, const at::Tensor& dz, at::Tensor* g, double w) {
    at::Tensor x, z;
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->key.is_same(e) && it->version == e._version()) {
        x = it->x;
        z = it->z;
        cache_.erase(it);
        break;
      }
    }
    if (!z.defined()) {
      x = input(e, true);
      ++forwards_;
      z = forward_(x, mask_);
    }
    backward(z, dz, x, e, g, w);
  }

 private:
  struct cached {
    at::Tensor key;
    std::int64_t version;
    at::Tensor x, z;
  };

  // The tensor the forward pass sees: a detached leaf copy of e, recording ∇ when asked or
  // when e itself carries a graph (cut at the embedding boundary; see backward()).
  static at::Tensor input(const at::Tensor& e, bool need_grad) {
    auto x = e.detach();
    if (need_grad || e.requires_grad()) x.requires_grad_(true);
    return x;
  }

  // [a; b] as one detached leaf (2B rows) recording ∇ — θ's gradient needs the graph.
  at::Tensor stacked_input(const at::Tensor& a, const at::Tensor& b) const {
    if (!options_.stackable)
      throw std::logic_error("ptp::torch::autograd_model: evaluate_stacked/logits_stacked need options.stackable = true "
                             "(the forward must treat rows independently and take 2B rows; ptp::batched_passes)");
    if (a.sizes() != b.sizes())
      throw shape_error("ptp::torch::autograd_model: stacked inputs of different shapes " +
                        ptp::to_string(backend<at::Tensor>::shape(a)) + " and " + ptp::to_string(backend<at::Tensor>::shape(b)));
    auto x = at::cat({a.detach(), b.detach()}, 0);
    x.requires_grad_(true);
    return x;
  }
  // The attention mask repeated for [a; b], built once per batch.
  const at::Tensor& stacked_mask() {
    if (!stacked_mask_.defined() && mask_.defined()) stacked_mask_ = at::cat({mask_, mask_}, 0);
    return stacked_mask_;
  }

  // One backward pass of a stacked evaluation whose output already carries the weights
  // (wa·L(a) + wb·L(b), or w·[dza; dzb]): θ's gradient added to .grad, and ∂/∂a, ∂/∂b sent
  // into a's and b's own graphs when they have one (trainable inputs, as backward()).
  void stacked_backward(const at::Tensor& out, const at::Tensor& dz, const at::Tensor& x, const at::Tensor& a,
                        const at::Tensor& b, bool any_weight) {
    if (!any_weight || !out.requires_grad()) return;
    std::vector<at::Tensor> inputs;
    const bool upstream = a.requires_grad() || b.requires_grad();
    if (upstream) inputs.push_back(x);
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (params_[i].requires_grad()) {
        inputs.push_back(params_[i]);
        which.push_back(i);
      }
    if (inputs.empty()) return;
    std::vector<at::Tensor> grad_out;
    if (dz.defined()) grad_out.push_back(dz);
    auto grads = ::torch::autograd::grad({out}, inputs, grad_out, /*retain_graph=*/false, /*create_graph=*/false,
                                         /*allow_unused=*/true);
    std::size_t k = 0;
    if (upstream) {
      const auto& gx = grads[k++];
      if (gx.defined()) {
        const auto B = a.size(0);
        std::vector<at::Tensor> to, by;
        if (a.requires_grad()) to.push_back(a), by.push_back(gx.narrow(0, 0, B).detach());
        if (b.requires_grad()) to.push_back(b), by.push_back(gx.narrow(0, B, B).detach());
        ::torch::autograd::backward(to, by, /*retain_graph=*/true);
      }
    }
    ::torch::NoGradGuard ng;
    for (std::size_t i : which) {
      const auto& gp = grads[k++];
      if (!gp.defined()) continue;
      auto& p = params_[i];
      if (p.grad().defined()) p.mutable_grad().add_(gp);
      else p.mutable_grad() = gp.clone();
    }
  }

  at::Tensor loss_of(const at::Tensor& z) const {
    if (!labels_dev_.defined()) throw std::logic_error("ptp::torch::autograd_model: this batch has no labels (set_batch)");
    if (z.dim() != 2 || z.size(0) != labels_dev_.size(0))
      throw shape_error("ptp::torch::autograd_model: logits " + ptp::to_string(backend<at::Tensor>::shape(z)) + " for " +
                        std::to_string(labels_dev_.size(0)) + " labels");
    return at::cross_entropy_loss(torch::detail::loss_dtype(z), labels_dev_.to(z.device()));
  }

  // One backward pass from `out` (with grad_output dz, or none for a scalar loss) into the
  // inputs that were asked for.
  void backward(const at::Tensor& out, const at::Tensor& dz, const at::Tensor& x, const at::Tensor& e, at::Tensor* g,
                double w) {
    std::vector<at::Tensor> inputs;
    const bool upstream = w != 0 && e.requires_grad();  // e's own graph gets w·∂L/∂e
    const bool want_e = (g != nullptr || upstream) && x.requires_grad();
    if (want_e) inputs.push_back(x);
    std::vector<std::size_t> which;
    if (w != 0)
      for (std::size_t i = 0; i < params_.size(); ++i)
        if (params_[i].requires_grad()) {
          inputs.push_back(params_[i]);
          which.push_back(i);
        }
    if (inputs.empty() || !out.requires_grad()) {
      if (g) *g = backend<at::Tensor>::zeros_like(e);
      return;
    }
    std::vector<at::Tensor> grad_out;
    if (dz.defined()) grad_out.push_back(dz.detach().to(out.device(), out.scalar_type()));
    auto grads = ::torch::autograd::grad({out}, inputs, grad_out, /*retain_graph=*/false, /*create_graph=*/false,
                                         /*allow_unused=*/true);
    std::size_t k = 0;
    if (want_e) {
      const auto& ge = grads[k++];
      if (g) *g = ge.defined() ? ge.detach().contiguous() : backend<at::Tensor>::zeros_like(e);
      // Route w·∂L/∂e into the upstream graph; retained, as the next pass goes through it too.
      if (upstream && ge.defined()) ::torch::autograd::backward({e}, {ge.detach() * w}, /*retain_graph=*/true);
    } else if (g) {
      *g = backend<at::Tensor>::zeros_like(e);
    }
    ::torch::NoGradGuard ng;
    for (std::size_t i : which) {
      const auto& gp = grads[k++];
      if (!gp.defined()) continue;
      auto& p = params_[i];
      if (p.grad().defined()) p.mutable_grad().add_(gp, w);
      else p.mutable_grad() = gp * w;
    }
  }

  forward_function forward_;
  std::vector<at::Tensor> params_;
  autograd_model_options options_;
  at::Tensor mask_, labels_dev_;
  std::vector<std::int64_t> labels_host_;
  std::deque<cached> cache_;
  at::Tensor stacked_mask_;
  cached stacked_, stacked_b_;  // the graph of the last logits_stacked(a, b), keyed by a and b
  std::size_t forwards_ = 0;
};

static_assert(ptp::Differentiable<autograd_model, at::Tensor>);
static_assert(ptp::LogitModel<autograd_model, at::Tensor>);
static_assert(ptp::StackableModel<autograd_model, at::Tensor>);
static_assert(ptp::StackableLogitModel<autograd_model, at::Tensor>);

}  // namespace ptp::torch
