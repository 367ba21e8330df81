// ptp/regularizer.hpp — composing stages into one training step (docs/algorithms.md §2):
//   x̃ = text_perturb(x);  e = embed(x̃);  δ = embedding_perturb(e)
//   L = objective(L(e), L(e + δ));  θ's gradient accumulates ∇_θ L
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/concepts.hpp"
#include "ptp/differentiable.hpp"
#include "ptp/embedding/common.hpp"
#include "ptp/losses.hpp"
#include "ptp/mode.hpp"
#include "ptp/objective.hpp"
#include "ptp/text/concepts.hpp"

namespace ptp {

/// No embedding-space stage: vanilla prompt tuning (one clean pass).
struct no_embedding_perturbation {
  using embedding_stage_tag = void;
  static constexpr bool needs_clean_gradient = false;
  [[nodiscard]] constexpr std::size_t passes() const { return 1; }
};

/// Policy tag for ptp::regularizer(...): evaluate the clean and the perturbed input in ONE
/// forward/backward pass over their 2B stacked rows instead of two passes over B
/// (docs/algorithms.md §2 "Batched passes"). Only for stages whose δ does not depend on the
/// clean pass (`batchable`: gaussian, uniform, neftune, r3f); the model must be a
/// StackableModel (StackableLogitModel for R3F). Opt-in: on the CPU bench it is not faster at
/// 1 thread (BENCHMARKS.md "Batched clean + perturbed passes").
/// @code
///   auto reg = ptp::regularizer(ptp::batched_passes{}, ptp::embedding::gaussian{.sigma = 1e-2});
/// @endcode
struct batched_passes {
  using policy_tag = void;
};

/// Thrown by the step when a loss or gradient is not finite; says which term and where.
inline void require_finite(double loss, const std::string& term) {
  if (!std::isfinite(loss)) throw non_finite_error("ptp: non-finite loss in the " + term + " term (" + std::to_string(loss) + ")");
}

/// What a TextModel's `embed(batch)` returns: the batch's loss as a Differentiable (a value,
/// or a reference member `F&` when gradients must reach a model the caller owns), its
/// B×L×d input embeddings and its B×L perturbation mask.
template <class F, class T, class M>
struct embedded {
  F model;
  T embeddings;
  M mask;
};
template <class F, class T, class M>
embedded(F, T, M) -> embedded<F, T, M>;

/// A TextModel made of a function x ↦ {model, embeddings, mask} (a lambda that embeds a
/// token batch; ptp::torch::train_step_text's `prepare`).
/// @code
///   auto tm = ptp::embed_with{[&](const Batch& x) { return ptp::embedded{f_for(x), embed(x), mask(x)}; }};
///   double loss = reg.step(tm, batch, gen);
/// @endcode
template <class Fn>
struct embed_with {
  Fn fn;
  template <class X>
  auto embed(const X& x) {
    return fn(x);
  }
};
template <class Fn>
embed_with(Fn) -> embed_with<Fn>;

namespace detail {
// A model whose forward passes draw random numbers (dropout) and can replay them.
template <class F>
concept has_random_state = requires(F& f) { f.restore_random_state(f.random_state()); };
}  // namespace detail

/// What a stage sees of one training step: the batch's embeddings and mask, the clean
/// gradient, and gradient oracles at perturbed points. Every gradient it hands out is
/// already masked (padding/special/prompt positions are zero), and is checked for
/// non-finite values, which raise non_finite_error naming the term.
template <class F, class T, class M, class O>
class step_context {
 public:
  using tensor_type = T;
  step_context(F& f, const T& e, const M& mask, const O& obj) : f_(f), e_(e), mask_(mask), obj_(obj) {}

  const T& embeddings() const { return e_; }
  const M& mask() const { return mask_; }
  double perturbed_weight() const { return obj_.perturbed_weight(); }
  std::size_t passes() const { return passes_; }

  /// ∇_e L at δ = 0 (computed by the clean pass when the stage asks for it).
  const T& clean_gradient() const { return clean_grad_.value(); }

  /// L(e + δ); writes the masked ∇_e into g and adds w·∇_θ L to θ's gradient.
  double task_gradient(const T& delta, double w, T& g, const std::string& term) {
    const T x = ops::add(e_, delta);
    const double loss = differentiable_ref<F, T>(f_).evaluate_with_gradient(x, &g, w);
    ++passes_;
    finish_gradient(loss, g, term);
    return loss;
  }

  /// A divergence D(p(e + δ), p(e).detach()) and its masked gradient in δ (SMART's ascent).
  /// `divergence(zq, zc, dzq)` returns D at the perturbed logits zq against the clean ones
  /// and writes ∂D/∂zq into dzq (e.g. losses::stable_kl, or losses::sym_kl with one side).
  template <class D>
  double divergence_gradient(const T& delta, T& g, const std::string& term, D&& divergence)
    requires LogitModel<F, T>
  {
    const auto& zc = clean_logits();
    const T x = ops::add(e_, delta);
    const auto zq = f_.logits(x);
    detail::logits_t<F, T> dzq;
    const double v = divergence(zq, zc, dzq);
    f_.logits_backward(x, dzq, &g, 0.0);
    ++passes_;
    finish_gradient(v, g, term);
    return v;
  }

  /// The model's random state (dropout draws), where the model exposes one
  /// (`random_state()` / `restore_random_state(s)`, e.g. ptp::torch::autograd_model); a
  /// stage restores it before each of several passes that must see the same dropout masks
  /// (FreeLB). Models without one are deterministic and need nothing.
  auto random_state() {
    if constexpr (detail::has_random_state<F>) return std::optional(f_.random_state());
    else return std::optional<int>();
  }
  template <class S>
  void restore_random_state(const std::optional<S>& s) {
    if constexpr (detail::has_random_state<F>)
      if (s) f_.restore_random_state(*s);
  }

  /// The clean logits, computed once per step.
  const auto& clean_logits()
    requires LogitModel<F, T>
  {
    if (!clean_logits_) {
      clean_logits_.emplace(f_.logits(e_));
      ++passes_;
    }
    return *clean_logits_;
  }

  // Used by the regularizer.
  void set_clean_gradient(T g) { clean_grad_.emplace(std::move(g)); }
  void count_pass() { ++passes_; }
  void finish_gradient(double loss, T& g, const std::string& term) {
    require_finite(loss, term);
    if (!ops::all_finite(g)) throw non_finite_error("ptp: non-finite gradient in the " + term + " term");
    ops::mask_and_scale(g, mask_);
  }

 private:
  F& f_;
  const T& e_;
  const M& mask_;
  const O& obj_;
  std::optional<T> clean_grad_;
  std::optional<typename detail::logits_or_void<F, T>::type> clean_logits_;
  std::size_t passes_ = 0;
};

namespace detail {

template <class S>
concept is_objective = requires { typename S::objective_tag; };
template <class S>
concept is_embedding_stage = requires { typename S::embedding_stage_tag; };
template <class S>
concept has_default_objective = requires { typename S::default_objective; };
template <class S>
concept stage_needs_logits = requires { requires S::needs_logits; };
template <class S>
concept is_policy = requires { typename S::policy_tag; };
// A stage whose δ is independent of the clean pass (no clean gradient or logits, one δ):
// its clean and perturbed passes may be stacked (batched_passes).
template <class S>
concept is_batchable = requires { requires S::batchable; };

// Whether any of the text stages reads the clean pass's gradient (text::GradientTextPerturbation).
template <class Tuple>
inline constexpr bool text_needs_gradient = false;
template <class... S>
inline constexpr bool text_needs_gradient<std::tuple<S...>> = (text::detail::reads_clean_gradient<S> || ...);

// The symKL gradient of the stage's reference (objective::consistency): the stage's
// `consistency_gradient`, else the full gradient.
template <class S>
constexpr losses::kl_gradient reference_kl_gradient() {
  if constexpr (requires { S::consistency_gradient; }) return S::consistency_gradient;
  else return losses::kl_gradient::full;
}

}  // namespace detail

/// Text stages (in order), one embedding stage and one objective, applied as one step.
/// Build with ptp::regularizer(...); see DESIGN.md "How a user meets it".
/// `Batched`: ptp::batched_passes was given (clean and perturbed in one stacked pass).
template <class Text, class Embedding, class Objective, bool Batched = false>
class regularizer_t {
 public:
  using regularizer_tag = void;
  using objective_type = Objective;
  using embedding_type = Embedding;
  static constexpr bool batched = Batched;

  regularizer_t(Text text, Embedding emb, Objective obj)
      : text_(std::move(text)), embedding_(std::move(emb)), objective_(std::move(obj)) {}

  const Embedding& embedding_stage() const { return embedding_; }
  const Objective& objective() const { return objective_; }
  const Text& text_stages() const { return text_; }

  /// Applies the text stages in order (identity in eval mode or when there are none).
  /// No clean pass runs here, so a gradient-aware text stage (A2T) cannot: use step().
  template <class Seq>
  Seq perturb_text(Seq seq, generator& gen, mode m) const {
    static_assert(!detail::text_needs_gradient<Text>,
                  "ptp::regularizer::perturb_text: a gradient-aware text stage (needs_clean_gradient, e.g. A2T) needs "
                  "the clean pass's gradient — call step(model, batch, gen) (regularizer.hpp, docs/algorithms.md §4)");
    if (m == mode::eval) return seq;
    std::apply([&](const auto&... s) { ((seq = s(std::move(seq), gen, m)), ...); }, text_);
    return seq;
  }

  /// Model passes (forward + backward) one training step costs.
  [[nodiscard]] std::size_t passes() const { return embedding_.passes(); }

  /// One step's loss at embeddings e (B×L×d) under mask (B×L).
  /// Training: evaluates the objective and ADDS its θ-gradient to f's parameters' gradient
  /// (zero it before, step the optimizer after). Evaluation: the clean loss only, no
  /// gradient, never perturbed. Non-finite losses/gradients raise non_finite_error.
  /// @tparam F Differentiable<F, T> (LogitModel<F, T> too for consistency objectives or
  ///           SMART/R3F stages).
  template <class F, class T, class M>
  double loss(F& f, const T& e, const M& mask, generator& gen, mode m = mode::train) const {
    check::differentiable<F, T>();
    ops::require_embedding_and_mask(e, mask, "ptp::regularizer::loss");
    if (ops::shape(e)[0] == 0) throw std::invalid_argument("ptp::regularizer::loss: empty batch (B = 0)");
    differentiable_ref<F, T> fd(f);
    if (m == mode::eval) return fd.evaluate(e);
    step_context<F, T, M, Objective> ctx(f, e, mask, objective_);
    return train_loss(fd, ctx, gen);
  }

  /// One step from a token batch x (docs/algorithms.md §2):
  ///   L = c·L(embed(x)) + λ·P,  x̃ = the text stages applied to x,
  ///   P = L(embed(x̃)) without an embedding stage, else Σ_k w_k L(embed(x̃) + δ_k) with δ
  ///   from the embedding stage at embed(x̃) (its gradient there computed when it needs it,
  ///   adding nothing to θ); c, λ the objective's clean and perturbed weights.
  /// The clean pass runs first and hands its masked ∇_e L(x) to gradient-aware text stages
  /// (text::GradientTextPerturbation, A2T). θ's gradient accumulates as in loss().
  /// With no text stages this is exactly loss(f, embed(x)…): same calls, same draws.
  /// Evaluation: the clean loss of x, never perturbed.
  /// @tparam TM TextModel<TM, X> (embed(x) → {model, embeddings, mask}; ptp::embed_with)
  /// @code
  ///   auto reg = ptp::regularizer(ptp::text::random_mask{.rate = 0.15, .mask_id = 103},
  ///                               ptp::embedding::gaussian{.sigma = 1e-2});
  ///   double loss = reg.step(text_model, batch, gen);
  /// @endcode
  template <class TM, class X>
  double step(TM& model, const X& x, generator& gen, mode m = mode::train) const {
    check::text_model<TM, X>();
    auto clean = model.embed(x);
    if constexpr (std::tuple_size_v<Text> == 0) {
      return loss(clean.model, clean.embeddings, clean.mask, gen, m);
    } else {
      static_assert(!std::is_same_v<Objective, objective::consistency>,
                    "ptp::regularizer::step: text stages with objective::consistency are not implemented yet "
                    "(use clean_plus_perturbed or perturbed_only)");
      using F = std::remove_cvref_t<decltype(clean.model)>;
      using T = std::remove_cvref_t<decltype(clean.embeddings)>;
      using M = std::remove_cvref_t<decltype(clean.mask)>;
      auto& f = clean.model;
      const T& e = clean.embeddings;
      ops::require_embedding_and_mask(e, clean.mask, "ptp::regularizer::step");
      if (ops::shape(e)[0] == 0) throw std::invalid_argument("ptp::regularizer::step: empty batch (B = 0)");
      differentiable_ref<F, T> fd(f);
      if (m == mode::eval) return fd.evaluate(e);
      const double cw = objective_.clean_weight();
      double lc = 0;
      std::optional<T> g;
      if constexpr (detail::text_needs_gradient<Text>) {
        step_context<F, T, M, Objective> ctx(f, e, clean.mask, objective_);
        T gr = ops::zeros_like(e);
        lc = fd.evaluate_with_gradient(e, &gr, cw);
        ctx.finish_gradient(lc, gr, "clean");
        g.emplace(std::move(gr));
      } else if (cw > 0) {
        lc = fd.evaluate_with_gradient(e, nullptr, cw);
        require_finite(lc, "clean");
      }
      X xt = x;
      std::apply([&](const auto&... s) { ((xt = apply_text_stage(s, std::move(xt), g, gen, m)), ...); }, text_);
      auto pert = model.embed(xt);
      return cw * lc + objective_.perturbed_weight() * perturbed_loss(pert.model, pert.embeddings, pert.mask, gen);
    }
  }

  /// As loss(), and also reports how many model passes the step took.
  template <class F, class T, class M>
  std::pair<double, std::size_t> loss_and_passes(F& f, const T& e, const M& mask, generator& gen) const {
    check::differentiable<F, T>();
    ops::require_embedding_and_mask(e, mask, "ptp::regularizer::loss");
    if (ops::shape(e)[0] == 0) throw std::invalid_argument("ptp::regularizer::loss: empty batch (B = 0)");
    differentiable_ref<F, T> fd(f);
    step_context<F, T, M, Objective> ctx(f, e, mask, objective_);
    const double l = train_loss(fd, ctx, gen);
    return {l, ctx.passes()};
  }

 private:
  template <class F, class T, class Ctx>
  double train_loss(differentiable_ref<F, T>& fd, Ctx& ctx, generator& gen) const {
    const T& e = ctx.embeddings();
    if constexpr (std::is_same_v<Embedding, no_embedding_perturbation>) {
      const double l = fd.evaluate_with_gradient(e, nullptr, 1.0);
      ctx.count_pass();
      require_finite(l, "clean");
      return l;
    } else if constexpr (Batched) {
      return stacked_loss(fd.get(), ctx, gen);
    } else if constexpr (std::is_same_v<Objective, objective::consistency>) {
      return consistency_loss(fd.get(), ctx, gen);
    } else {
      double clean = 0;
      const bool need_grad = Embedding::needs_clean_gradient;
      const double cw = objective_.clean_weight();
      if (need_grad || cw > 0) {
        if (need_grad) {
          T g = ops::zeros_like(e);
          clean = fd.evaluate_with_gradient(e, &g, cw);
          ctx.count_pass();
          ctx.finish_gradient(clean, g, "clean");
          ctx.set_clean_gradient(std::move(g));
        } else {
          clean = fd.evaluate_with_gradient(e, nullptr, cw);
          ctx.count_pass();
          require_finite(clean, "clean");
        }
      }
      auto points = embedding_.perturb(ctx, gen);
      return cw * clean + objective_.perturbed_weight() * perturbed_sum(fd, ctx, points);
    }
  }

  // Σ_k w_k L(e + δ_k) over the stage's points (a point with its loss already computed,
  // FreeLB's, is only added); each pass adds λ·w_k·∇_θ.
  template <class F, class T, class Ctx, class Points>
  double perturbed_sum(differentiable_ref<F, T>& fd, Ctx& ctx, Points& points) const {
    const T& e = ctx.embeddings();
    double pert = 0;
    for (auto& p : points) {
      if (p.loss) {
        pert += p.weight * *p.loss;
        continue;
      }
      const T x = ops::add(e, *p.delta);
      const double l = fd.evaluate_with_gradient(x, nullptr, objective_.perturbed_weight() * p.weight);
      ctx.count_pass();
      require_finite(l, "perturbed");
      pert += p.weight * l;
    }
    return pert;
  }

  // step()'s perturbed term at the perturbed text's embeddings: L(ẽ), or the embedding
  // stage's points around ẽ; each pass adds λ·w·∇_θ.
  template <class F, class T, class M>
  double perturbed_loss(F& f, const T& e, const M& mask, generator& gen) const {
    ops::require_embedding_and_mask(e, mask, "ptp::regularizer::step (perturbed text)");
    differentiable_ref<F, T> fd(f);
    if constexpr (std::is_same_v<Embedding, no_embedding_perturbation>) {
      const double l = fd.evaluate_with_gradient(e, nullptr, objective_.perturbed_weight());
      require_finite(l, "perturbed (text)");
      return l;
    } else {
      step_context<F, T, M, Objective> ctx(f, e, mask, objective_);
      if constexpr (Embedding::needs_clean_gradient) {
        // FGM/PGD ascend from the perturbed text: its ∇_e costs one pass that adds nothing to θ
        T g = ops::zeros_like(e);
        const double l = fd.evaluate_with_gradient(e, &g, 0.0);
        ctx.count_pass();
        ctx.finish_gradient(l, g, "perturbed text");
        ctx.set_clean_gradient(std::move(g));
      }
      auto points = embedding_.perturb(ctx, gen);
      return perturbed_sum(fd, ctx, points);
    }
  }

  // One text stage: gradient-aware ones also get the clean pass's ∇_e L(x).
  template <class S, class X, class G>
  static X apply_text_stage(const S& s, X&& x, const std::optional<G>& g, generator& gen, mode m) {
    if constexpr (text::detail::reads_clean_gradient<S>) return s(std::move(x), *g, gen, m);
    else return s(std::move(x), gen, m);
  }

  // L = [CE(e)] + λ·symKL(p(e), p(e + δ)); the symKL gradient through both sides (R3F) or
  // with each direction's target detached (SMART), objective::consistency::gradient.
  template <class F, class Ctx>
  double consistency_loss(F& f, Ctx& ctx, generator& gen) const {
    using T = typename Ctx::tensor_type;
    static_assert(LogitModel<F, T>, "ptp::objective::consistency needs a LogitModel (logits + logits_backward)");
    using Z = detail::logits_t<F, T>;
    const T& e = ctx.embeddings();
    const Z& zc = ctx.clean_logits();
    if constexpr (Embedding::needs_clean_gradient) {
      // FGM/PGD ascend the task loss: its clean ∇_e costs one pass that adds nothing to θ.
      T g = ops::zeros_like(e);
      const double l = differentiable_ref<F, T>(f).evaluate_with_gradient(e, &g, 0.0);
      ctx.count_pass();
      ctx.finish_gradient(l, g, "clean");
      ctx.set_clean_gradient(std::move(g));
    }
    auto points = embedding_.perturb(ctx, gen);
    if (points.size() != 1 || !points.front().delta)
      throw std::logic_error("ptp::objective::consistency: the stage must give exactly one δ (FreeLB cannot pair with it)");
    const T x = ops::add(e, *points.front().delta);
    const Z zq = f.logits(x);
    Z dzc, dzq;
    const double l = consistency_terms(f, zc, zq, dzc, dzq);
    f.logits_backward(e, dzc, static_cast<T*>(nullptr), 1.0);
    f.logits_backward(x, dzq, static_cast<T*>(nullptr), 1.0);
    ctx.count_pass();
    return l;
  }

  // [CE(zc)] + λ·symKL(zc, zq), and the logit gradients dzc, dzq of that sum.
  template <class F, class Z>
  double consistency_terms(F& f, const Z& zc, const Z& zq, Z& dzc, Z& dzq) const {
    const auto how = objective_.gradient.value_or(detail::reference_kl_gradient<Embedding>());
    const double kl = losses::sym_kl(zc, zq, &dzc, &dzq, how);
    require_finite(kl, "consistency (symmetric KL)");
    const double lam = objective_.weight;
    ops::scale(dzc, lam);
    ops::scale(dzq, lam);
    double ce = 0;
    if (objective_.supervised) {
      static_assert(requires { f.labels(); }, "ptp::objective::consistency{.supervised = true} needs f.labels() (use ptp::supervised)");
      Z dce;
      ce = losses::cross_entropy(zc, f.labels(), &dce);
      require_finite(ce, "clean");
      ops::axpy(dzc, 1.0, dce);
    }
    return ce + lam * kl;
  }

  // batched_passes: a batchable stage's δ does not depend on the clean pass, so it is drawn
  // first (the same draws as the two-pass form) and the clean e and e + δ run as one pass
  // over their 2B rows — counted as two passes, the rows of two. Same terms, same weights.
  template <class F, class Ctx>
  double stacked_loss(F& f, Ctx& ctx, generator& gen) const {
    using T = typename Ctx::tensor_type;
    const T& e = ctx.embeddings();
    auto points = embedding_.perturb(ctx, gen);
    if (points.size() != 1 || !points.front().delta)
      throw std::logic_error("ptp::batched_passes: the stage must give exactly one δ");
    const T x = ops::add(e, *points.front().delta);
    if constexpr (std::is_same_v<Objective, objective::consistency>) {
      check::stackable_logit_model<F, T>();
      using Z = detail::logits_t<F, T>;
      auto [zc, zq] = f.logits_stacked(e, x);
      Z dzc, dzq;
      const double l = consistency_terms(f, zc, zq, dzc, dzq);
      f.logits_backward_stacked(e, x, dzc, dzq, 1.0);
      ctx.count_pass();
      ctx.count_pass();
      return l;
    } else {
      check::stackable_model<F, T>();
      const double cw = objective_.clean_weight(), lam = objective_.perturbed_weight(), w = points.front().weight;
      if (cw == 0) {  // no clean term (perturbed_only): one pass, nothing to stack
        const double l = differentiable_ref<F, T>(f).evaluate_with_gradient(x, nullptr, lam * w);
        ctx.count_pass();
        require_finite(l, "perturbed");
        return lam * (w * l);
      }
      const auto [lc, lp] = f.evaluate_stacked(e, x, cw, lam * w);
      ctx.count_pass();
      ctx.count_pass();
      require_finite(lc, "clean");
      require_finite(lp, "perturbed");
      return cw * lc + lam * (w * lp);
    }
  }

  Text text_;
  Embedding embedding_;
  Objective objective_;
};

namespace detail {

template <class... S>
constexpr std::size_t count_embedding = (std::size_t{0} + ... + (is_embedding_stage<S> ? 1 : 0));
template <class... S>
constexpr std::size_t count_objective = (std::size_t{0} + ... + (is_objective<S> ? 1 : 0));

template <class S>
auto as_tuple_if_text(S&& s) {
  using U = std::remove_cvref_t<S>;
  if constexpr (is_embedding_stage<U> || is_objective<U> || is_policy<U>) return std::tuple<>{};
  else return std::tuple<U>{std::forward<S>(s)};
}
template <class S>
auto as_tuple_if_embedding(S&& s) {
  using U = std::remove_cvref_t<S>;
  if constexpr (is_embedding_stage<U>) return std::tuple<U>{std::forward<S>(s)};
  else return std::tuple<>{};
}
template <class S>
auto as_tuple_if_objective(S&& s) {
  using U = std::remove_cvref_t<S>;
  if constexpr (is_objective<U>) return std::tuple<U>{std::forward<S>(s)};
  else return std::tuple<>{};
}

}  // namespace detail

/// Composes stages in data-flow order: any number of text stages, at most one embedding
/// stage (none: vanilla), at most one objective (default: the stage's default_objective,
/// else clean + 1·perturbed).
/// @code
///   auto reg = ptp::regularizer(
///       ptp::embedding::pgd{.steps = 3, .step_size = 0.03, .epsilon = 0.3},
///       ptp::objective::clean_plus_perturbed{.weight = 1.0});
/// @endcode
template <class... S>
auto regularizer(S&&... stages) {
  static_assert(detail::count_embedding<std::remove_cvref_t<S>...> <= 1,
                "ptp::regularizer: at most one embedding-space stage");
  static_assert(detail::count_objective<std::remove_cvref_t<S>...> <= 1, "ptp::regularizer: at most one objective");
  auto text = std::tuple_cat(detail::as_tuple_if_text(stages)...);
  auto emb_t = std::tuple_cat(detail::as_tuple_if_embedding(stages)...);
  auto obj_t = std::tuple_cat(detail::as_tuple_if_objective(stages)...);
  auto emb = [&] {
    if constexpr (std::tuple_size_v<decltype(emb_t)> == 1) return std::get<0>(emb_t);
    else return no_embedding_perturbation{};
  }();
  using E = decltype(emb);
  auto obj = [&] {
    if constexpr (std::tuple_size_v<decltype(obj_t)> == 1) return std::get<0>(obj_t);
    else if constexpr (detail::has_default_objective<E>) return typename E::default_objective{};
    else return objective::clean_plus_perturbed{};
  }();
  using O = decltype(obj);
  if constexpr (!std::is_same_v<E, no_embedding_perturbation>) check::embedding_perturbation<E>();
  check::objective<O>();
  constexpr bool batched = (std::is_same_v<std::remove_cvref_t<S>, batched_passes> || ...);
  if constexpr (batched) {
    static_assert(!std::is_same_v<E, no_embedding_perturbation>,
                  "ptp::batched_passes: no embedding stage, so no perturbed pass to stack with the clean one");
    static_assert(std::tuple_size_v<decltype(text)> == 0,
                  "ptp::batched_passes: text stages are not stacked (the perturbed text is embedded on its own; "
                  "gradient-aware ones, A2T, need the clean gradient first) (docs/algorithms.md §2)");
    static_assert(detail::is_batchable<E>,
                  "ptp::batched_passes: this embedding stage is not `batchable` — its δ needs the clean pass's gradient "
                  "or logits, or earlier passes (FGM, PGD, FreeLB, SMART), so its passes cannot run as one "
                  "(docs/algorithms.md §2)");
  }
  return regularizer_t<decltype(text), E, O, batched>(std::move(text), std::move(emb), std::move(obj));
}

}  // namespace ptp
