// examples/reproduce/step.hpp — one training step, the same for every method: the batch as a
// ptp TextModel in whichever form the regularizer's text stages take, and make_step, which
// turns any ptp::regularizer into the runner's step_function (ptp::torch::train_step_text).
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/adapters/torch/distributed.hpp>
#include <ptp/ptp.hpp>
#include <ptp/text/a2t.hpp>
#include <ptp/text/concepts.hpp>

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "inputs.hpp"
#include "prompt_model.hpp"

namespace ptp::repro {

/// What every training batch of a run shares: the model and what the step trains, padding
/// and device, and how an edited example is encoded again.
struct batch_setup {
  prompt_model& model;
  std::vector<at::Tensor> params;  ///< the trainable tensors (autograd_model's parameters)
  std::int64_t pad = 0, prompt_tokens = 0;
  at::Device device = at::kCPU;
  head_kind head = head_kind::classifier;
  std::function<encoded_example(const example&)> encode;
  ptp::torch::distributed::group* group = nullptr;  ///< under torchrun: this rank's group (trainer.hpp shards batches)
};

/// One training batch as a ptp TextModel (regularizer_t::step's model, train_step_text's
/// `prepare`). It hands the batch to the text stages in the form they take — token sequences
/// (masking), words aligned to their tokens (A2T), or the encoded rows when there is no text
/// stage — and embeds what it gets back: rows rebuilt, collated, embedded, with an
/// autograd_model for them. It counts the tokens or words the stages changed.
class text_batch {
 public:
  /// The batch as encoded (a step without text stages).
  struct rows {};
  using embedded = ptp::embedded<ptp::torch::autograd_model&, at::Tensor, at::Tensor>;

  /// `chosen` the encoded examples, `sources` the examples they were encoded from.
  text_batch(const batch_setup& setup, std::vector<const encoded_example*> chosen, std::vector<const example*> sources)
      : setup_(setup), chosen_(std::move(chosen)), sources_(std::move(sources)) {}

  /// The batch in form X: rows, std::vector<text::token_sequence> or std::vector<text::aligned_words>.
  template <class X>
  [[nodiscard]] X input() {
    if constexpr (std::is_same_v<X, rows>) return {};
    else if constexpr (std::is_same_v<X, std::vector<text::token_sequence>>) return tokens();
    else return words();
  }

  embedded operator()(const rows&) { return prepare({}); }

  /// Rows with their ids replaced by `x` (one sequence per row, in order).
  embedded operator()(const std::vector<text::token_sequence>& x) {
    std::vector<encoded_example> own;
    double changed = 0;
    std::size_t i = 0;
    for (const auto* ex : chosen_)
      for (const auto& r : ex->rows) {
        const auto& ids = x.at(i++).ids;
        if (ids.size() != r.ids.size()) throw std::logic_error("text_batch: a token stage changed a row's length");
        for (std::size_t t = 0; t < ids.size(); ++t) changed += ids[t] != r.ids[t];
      }
    if (changed > 0) {
      i = 0;
      for (const auto* ex : chosen_) {
        own.push_back(*ex);
        for (auto& r : own.back().rows) r.ids = x[i++].ids;
      }
    }
    edits_ += changed;
    return prepare(std::move(own));
  }

  /// Examples with their edited texts put back and encoded again (`x` in words()' order).
  embedded operator()(const std::vector<text::aligned_words>& x) {
    if (x.size() != origin_.size()) throw std::logic_error("text_batch: words() and the stages' output differ in length");
    std::vector<encoded_example> own;
    bool any = false;
    for (const auto& w : x) any = any || w.edits > 0;
    for (std::size_t k = 0; any && k < chosen_.size(); ++k) {
      example ex = *sources_[k];
      bool edited = false;
      for (std::size_t j = 0; j < x.size(); ++j)
        if (origin_[j].first == k && x[j].edits > 0) {
          edits_ += static_cast<double>(x[j].edits);
          replace_text(ex, setup_.head, *origin_[j].second, x[j].text.join());
          edited = true;
        }
      own.push_back(edited ? setup_.encode(ex) : *chosen_[k]);
    }
    return prepare(std::move(own));
  }

  /// Tokens or words the text stages changed in this batch.
  [[nodiscard]] double edits() const { return edits_; }
  [[nodiscard]] std::size_t size() const { return chosen_.size(); }

 private:
  // every row's ids, special tokens and prompt slots locked
  [[nodiscard]] std::vector<text::token_sequence> tokens() const {
    std::vector<text::token_sequence> out;
    for (const auto* ex : chosen_)
      for (const auto& r : ex->rows) out.push_back({.ids = r.ids, .special = std::vector<bool>(r.locked.begin(), r.locked.end())});
    return out;
  }

  // every text segment's words with their token positions, in row b of the batch
  [[nodiscard]] std::vector<text::aligned_words> words() {
    std::vector<text::aligned_words> out;
    origin_.clear();
    std::size_t row = 0;
    for (std::size_t k = 0; k < chosen_.size(); ++k)
      for (const auto& r : chosen_[k]->rows) {
        for (const auto& seg : r.segments) {
          out.push_back(text::align_words(seg.text, seg.offsets, seg.positions, row));
          origin_.emplace_back(k, &seg);
        }
        ++row;
      }
    return out;
  }

  struct prepared {
    std::vector<encoded_example> own;
    batch b;
    std::optional<ptp::torch::autograd_model> f;
  };

  // collated (own, else the chosen examples), embedded, and its model; kept for the step
  embedded prepare(std::vector<encoded_example> own) {
    auto& p = prepared_.emplace_back();
    p.own = std::move(own);
    std::vector<const encoded_example*> v = chosen_;
    if (!p.own.empty())
      for (std::size_t k = 0; k < v.size(); ++k) v[k] = &p.own[k];
    auto& model = setup_.model;
    p.b = collate(v, setup_.pad, setup_.prompt_tokens, setup_.device);
    const auto e = model.embed(p.b);
    p.f.emplace([&model, &b = p.b](const at::Tensor& x, const at::Tensor& m) { return model.forward(b, x, m); }, setup_.params,
                p.b.attention, p.b.labels, ptp::torch::autograd_model_options{.modules = model.modules()});
    return {*p.f, e, p.b.perturb};
  }

  const batch_setup& setup_;
  std::vector<const encoded_example*> chosen_;
  std::vector<const example*> sources_;
  std::vector<std::pair<std::size_t, const text_segment*>> origin_;  ///< words(): example and segment of each text
  std::deque<prepared> prepared_;
  double edits_ = 0;
};

namespace detail {

template <class S>
concept word_stage = requires(const S& s, std::vector<text::aligned_words> x, const at::Tensor& g, generator& gen) {
  s(std::move(x), g, gen, mode::train);
} || requires(const S& s, std::vector<text::aligned_words> x, generator& gen) { s(std::move(x), gen, mode::train); };
template <class S>
concept token_stage = requires(const S& s, std::vector<text::token_sequence> x, generator& gen) { s(std::move(x), gen, mode::train); };

// The form of the batch a regularizer's text stages take (their tuple: Reg::text_stages()).
template <class Stages>
struct text_input {
  using type = text_batch::rows;
};
template <class S, class... R>
struct text_input<std::tuple<S, R...>> {
  using type = std::conditional_t<word_stage<S>, std::vector<text::aligned_words>,
                                  std::conditional_t<token_stage<S>, std::vector<text::token_sequence>, void>>;
};

}  // namespace detail

/// One optimisation step, the same for every method: (batch, generator, optimizer, schedule,
/// guard) → loss. Built from a regularizer by make_step; the training loop is not a template.
using step_function = std::function<double(text_batch&, generator&, ::torch::optim::Optimizer&, ptp::torch::linear_warmup_decay&,
                                           const ptp::torch::step_guard&)>;

/// The step of regularizer `reg`: ptp::torch::train_step_text on the batch in the form its
/// text stages take (without text stages that is ptp::torch::train_step's step exactly).
template <class Reg>
step_function make_step(Reg reg) {
  using X = typename detail::text_input<std::remove_cvref_t<decltype(reg.text_stages())>>::type;
  static_assert(!std::is_void_v<X>, "make_step: the first text stage takes neither a batch of token sequences nor of aligned words");
  return [reg = std::move(reg)](text_batch& b, generator& gen, ::torch::optim::Optimizer& opt, ptp::torch::linear_warmup_decay& sched,
                                const ptp::torch::step_guard& guard) {
    return ptp::torch::train_step_text(reg, b.input<X>(), b, gen, opt, &sched, guard);
  };
}

}  // namespace ptp::repro
