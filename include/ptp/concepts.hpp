// ptp/concepts.hpp — the named requirements every stage of PTP is checked against.
//
// Data flows one way (DESIGN.md): tokens → text perturbation → embeddings → embedding
// perturbation → model → objective → gradients for the prompt. Each stage is a concept
// composed from small detail:: blocks, so a failed check names the missing member; the
// ptp::check::* helpers turn that into a static_assert message citing the doc section.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/mode.hpp"
#include "ptp/random.hpp"

namespace ptp {

namespace detail {

// --- Tensor blocks -------------------------------------------------------------------
template <class T>
concept has_shape = requires(const T& t) {
  { backend<T>::shape(t) } -> std::convertible_to<shape_type>;  // ops check B×L×d against B×L
};
template <class T>
concept has_zeros_like = requires(const T& t) {
  { backend<T>::zeros_like(t) } -> std::same_as<T>;  // δ is born as zeros of e's shape/device
};
template <class T>
concept has_host_data_or_ops = host_contiguous<T> || requires(T& t, const T& c, generator& g) {
  backend<T>::axpy(t, 1.0, c);             // device backends bring their own fused ops…
  backend<T>::fill_normal(t, g, 1.0);      // …and their own sampling from ptp's generator
  backend<T>::ascent_step(t, c, 1.0, step_rule::l2, granularity::example, 0.0, norm_type::l2);
};

// --- Differentiable blocks (ensmallen-style; see Differentiable below) -----------------
template <class F, class T>
concept has_evaluate = requires(F& f, const T& e) {
  { f.evaluate(e) } -> std::convertible_to<double>;  // the loss at input embeddings e
};
template <class F, class T>
concept has_gradient = requires(F& f, const T& e, T* g, double w) {
  f.gradient(e, g, w);  // ∇_e L into *g (if g), and w·∇_θ L added to the parameters' gradient
};
template <class F, class T>
concept has_evaluate_with_gradient = requires(F& f, const T& e, T* g, double w) {
  { f.evaluate_with_gradient(e, g, w) } -> std::convertible_to<double>;  // both in one pass
};

// --- Model (logits) blocks: needed by consistency objectives (SMART, R3F) --------------
template <class M, class T>
concept has_logits = requires(M& m, const T& e) {
  m.logits(e);  // B×C class scores at embeddings e (training mode)
};
template <class M, class T>
using logits_t = std::remove_cvref_t<decltype(std::declval<M&>().logits(std::declval<const T&>()))>;
// Storage type for cached logits: the logits type where M has one, a placeholder otherwise.
template <class M, class T>
struct logits_or_void {
  using type = void*;
};
template <class M, class T>
  requires has_logits<M, T>
struct logits_or_void<M, T> {
  using type = logits_t<M, T>;
};
template <class M, class T>
concept has_logits_backward = requires(M& m, const T& e, const logits_t<M, T>& dz, T* g, double w) {
  m.logits_backward(e, dz, g, w);  // vector–Jacobian product from B×C logit gradients
};

// --- Stackable blocks: one pass over [a; b] (2B rows) instead of two over B (batched_passes) ---
template <class F, class T>
concept has_evaluate_stacked = requires(F& f, const T& a, const T& b, double w) {
  f.evaluate_stacked(a, b, w, w);  // {L(a), L(b)}; wa·∇_θ L(a) + wb·∇_θ L(b) added, one pass
};
template <class M, class T>
concept has_logits_stacked = requires(M& m, const T& a, const T& b) {
  m.logits_stacked(a, b);  // {z(a), z(b)} from one forward pass over [a; b], graph kept…
};
template <class M, class T>
concept has_logits_backward_stacked = requires(M& m, const T& a, const T& b, const logits_t<M, T>& dz, double w) {
  m.logits_backward_stacked(a, b, dz, dz, w);  // …for one backward pass with [dz_a; dz_b]
};

// --- TextModel blocks: what a step needs to run a (perturbed) token batch ------------------
template <class M, class X>
concept has_embed = requires(M& m, const X& x) {
  m.embed(x);  // e = embed(x̃): text stages change tokens, so the step must re-embed them
};
template <class M, class X>
using embedded_t = std::remove_cvref_t<decltype(std::declval<M&>().embed(std::declval<const X&>()))>;
template <class B>
concept has_embedded_members = requires(B& b) {
  b.embeddings;  // B×L×d input embeddings of the batch
  b.mask;        // B×L: the positions an embedding stage may perturb
  b.model;       // the batch's loss at its embeddings (its labels, attention mask, …)
};

}  // namespace detail

/// A tensor ptp can work with: a `ptp::backend<T>` specialisation with `shape`,
/// `zeros_like`, and either host `data` or the fused device operations (backend.hpp).
template <class T>
concept Tensor = detail::has_backend<T> && detail::has_shape<T> && detail::has_zeros_like<T> &&
                 detail::has_host_data_or_ops<T>;

/// The loss of one batch as a function of its input embeddings e (B×L×d), with the
/// trainable prompt θ held by the object (DESIGN.md "How a user meets it").
/// ensmallen-style: provide `evaluate` + `gradient`, or `evaluate_with_gradient`;
/// ptp::differentiable(f) synthesises the missing one.
///   gradient(e, g, w): writes ∇_e L(e) into *g when g is non-null, and ADDS w·∇_θ L(e) to
///   the parameters' gradient (w = 0: leave it alone; torch's .grad semantics).
template <class F, class T>
concept Differentiable =
    Tensor<T> && ((detail::has_evaluate<F, T> && detail::has_gradient<F, T>) || detail::has_evaluate_with_gradient<F, T>);

/// A classifier exposing its logits and their vector–Jacobian product; with labels it is a
/// Differentiable (cross-entropy), and it is what symmetric-KL objectives need.
template <class M, class T>
concept LogitModel = Tensor<T> && detail::has_logits<M, T> && detail::has_logits_backward<M, T>;

/// A Differentiable that evaluates two inputs of one batch (the clean e and a perturbed
/// e + δ) in one forward/backward pass over their 2B rows (ptp::batched_passes):
/// `evaluate_stacked(a, b, wa, wb)` returns {L(a), L(b)} and ADDS wa·∇_θ L(a) + wb·∇_θ L(b).
template <class F, class T>
concept StackableModel = Differentiable<F, T> && detail::has_evaluate_stacked<F, T>;

/// A LogitModel whose clean and perturbed logits come from one stacked pass (R3F under
/// ptp::batched_passes): `logits_stacked(a, b)` → {z(a), z(b)}, then
/// `logits_backward_stacked(a, b, dz_a, dz_b, w)` runs the one backward pass.
template <class M, class T>
concept StackableLogitModel =
    LogitModel<M, T> && detail::has_logits_stacked<M, T> && detail::has_logits_backward_stacked<M, T>;

/// A model that reads text (docs/algorithms.md §2: x̃ = text_perturb(x); e = embed(x̃)):
/// `m.embed(x)` turns a token batch x (clean or perturbed) into `.embeddings` (B×L×d), `.mask`
/// (B×L, the perturbable positions) and `.model`, a Differentiable over those embeddings (a value
/// or a reference member). ptp::embedded is such a result; ptp::embed_with(fn) makes a TextModel of
/// a function x ↦ {model, embeddings, mask}.
template <class M, class X>
concept TextModel =
    detail::has_embed<M, X> && detail::has_embedded_members<detail::embedded_t<M, X>> &&
    Differentiable<std::remove_cvref_t<decltype(std::declval<detail::embedded_t<M, X>&>().model)>,
                   std::remove_cvref_t<decltype(std::declval<detail::embedded_t<M, X>&>().embeddings)>>;

/// A trainable prompt: parameters, and how they join the input (docs/algorithms.md §5).
///   parameters()     the trainable tensor(s) θ
///   join(e, mask)    the model input: prompt + embeddings, and the widened mask
template <class P, class T>
concept Prompt = requires(P& p, const T& e) {
  p.parameters();             // what the optimizer updates
  { p.length() } -> std::convertible_to<std::size_t>;  // prompt tokens it adds (0 for deep prefix)
};

/// An embedding-space perturbation stage (docs/algorithms.md §3): given the problem it draws or
/// ascends to a δ of e's shape. Tag types say what they need from the problem.
template <class S>
concept EmbeddingPerturbation = requires { typename S::embedding_stage_tag; } && requires(const S& s) {
  { s.passes() } -> std::convertible_to<std::size_t>;  // model passes one step costs (for benches)
};

/// A training objective combining the clean and perturbed losses (docs/algorithms.md §2).
template <class O>
concept Objective = requires { typename O::objective_tag; };

// Text-space stages: ptp::text::TextPerturbation in ptp/text/concepts.hpp (docs/algorithms.md §4).

/// A composed regularizer: stages in data-flow order + one objective.
template <class R>
concept Regularizer = requires { typename R::regularizer_tag; typename R::objective_type; };

/// Compile-time checks with messages that name the missing member and the doc section
/// (tested by tests/static/compile_fail). Use at API boundaries:
///   ptp::check::differentiable<MyModel, MyTensor>();
namespace check {

template <class T>
constexpr void tensor() {
  static_assert(detail::has_backend<T>, "ptp::Tensor: no ptp::backend<T> specialisation — include the adapter header (backend.hpp)");
  if constexpr (detail::has_backend<T>) {
    static_assert(detail::has_shape<T>, "ptp::Tensor: backend<T> lacks `shape(const T&)` (backend.hpp)");
    static_assert(detail::has_zeros_like<T>, "ptp::Tensor: backend<T> lacks `zeros_like(const T&)` (backend.hpp)");
    static_assert(detail::has_host_data_or_ops<T>,
                  "ptp::Tensor: backend<T> lacks `data(T&)` and the device ops `axpy`/`fill_normal`/`ascent_step` (backend.hpp)");
  }
}

template <class F, class T>
constexpr void differentiable() {
  tensor<T>();
  static_assert(detail::has_evaluate<F, T> || detail::has_evaluate_with_gradient<F, T>,
                "ptp::Differentiable: missing `double evaluate(const T& e)` (or `evaluate_with_gradient`) (concepts.hpp, DESIGN.md)");
  static_assert(detail::has_gradient<F, T> || detail::has_evaluate_with_gradient<F, T>,
                "ptp::Differentiable: missing `void gradient(const T& e, T* grad_e, double w)` (or `evaluate_with_gradient`) (concepts.hpp, DESIGN.md)");
}

template <class M, class T>
constexpr void logit_model() {
  tensor<T>();
  static_assert(detail::has_logits<M, T>, "ptp::LogitModel: missing `logits(const T& e)` returning B×C scores (concepts.hpp; needed by SMART/R3F/consistency)");
  static_assert(detail::has_logits_backward<M, T>,
                "ptp::LogitModel: missing `logits_backward(const T& e, const Z& dlogits, T* grad_e, double w)` (concepts.hpp)");
}

template <class F, class T>
constexpr void stackable_model() {
  differentiable<F, T>();
  static_assert(detail::has_evaluate_stacked<F, T>,
                "ptp::batched_passes: the model lacks `evaluate_stacked(a, b, wa, wb)` — one pass over the 2B rows "
                "(concepts.hpp StackableModel; ptp::torch::autograd_model with options.stackable)");
}

template <class M, class T>
constexpr void stackable_logit_model() {
  logit_model<M, T>();
  static_assert(detail::has_logits_stacked<M, T> && detail::has_logits_backward_stacked<M, T>,
                "ptp::batched_passes: a consistency objective needs `logits_stacked(a, b)` and "
                "`logits_backward_stacked(a, b, dz_a, dz_b, w)` (concepts.hpp StackableLogitModel)");
}

template <class M, class X>
constexpr void text_model() {
  static_assert(detail::has_embed<M, X>,
                "ptp::TextModel: missing `embed(const X& batch)` — the step re-embeds the perturbed text (concepts.hpp, docs/algorithms.md §2)");
  if constexpr (detail::has_embed<M, X>) {
    using B = detail::embedded_t<M, X>;
    static_assert(detail::has_embedded_members<B>,
                  "ptp::TextModel: `embed(batch)` must return members `model`, `embeddings` and `mask` (ptp::embedded) (concepts.hpp)");
    if constexpr (detail::has_embedded_members<B>)
      differentiable<std::remove_cvref_t<decltype(std::declval<B&>().model)>,
                     std::remove_cvref_t<decltype(std::declval<B&>().embeddings)>>();
  }
}

template <class S>
constexpr void embedding_perturbation() {
  static_assert(requires { typename S::embedding_stage_tag; },
                "ptp::EmbeddingPerturbation: missing `using embedding_stage_tag = void;` (concepts.hpp, docs/algorithms.md §3)");
  static_assert(requires(const S& s) { s.passes(); },
                "ptp::EmbeddingPerturbation: missing `std::size_t passes() const` — the model passes one step costs (concepts.hpp)");
}

template <class O>
constexpr void objective() {
  static_assert(requires { typename O::objective_tag; },
                "ptp::Objective: missing `using objective_tag = void;` (objective.hpp, docs/algorithms.md §2)");
  static_assert(requires(const O& o) {
    { o.clean_weight() } -> std::convertible_to<double>;
    { o.perturbed_weight() } -> std::convertible_to<double>;
  }, "ptp::Objective: missing `double clean_weight() const` / `double perturbed_weight() const` (objective.hpp)");
}

template <class R>
constexpr void regularizer() {
  static_assert(Regularizer<R>, "ptp::Regularizer: missing `regularizer_tag` / `objective_type` — build one with ptp::regularizer(...) (regularizer.hpp)");
}

}  // namespace check
}  // namespace ptp
