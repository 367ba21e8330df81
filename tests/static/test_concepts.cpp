// tests/static/test_concepts.cpp — the real types satisfy the concepts they are written
// for (the positive side of tests/static/compile_fail). Everything here is a static_assert;
// the one TEST_CASE only makes the executable a test.
#include <ptp/ptp.hpp>
#include <ptp/text/concepts.hpp>
#include <ptp/text/deletion.hpp>
#include <ptp/text/masking.hpp>
#include <ptp/text/substitution.hpp>
#include <ptp/text/swap.hpp>
#if PTP_STATIC_EIGEN
#include <ptp/adapters/eigen.hpp>
#endif
#if PTP_STATIC_XTENSOR
#include <ptp/adapters/xtensor.hpp>
#endif

#include "catch.hpp"
#include "toy_tensor.hpp"

namespace {

using toy::tensor;

// ---- Tensor and Differentiable -----------------------------------------------------------
static_assert(ptp::Tensor<tensor>);
static_assert(!ptp::Tensor<int>, "no backend, no Tensor");
static_assert(ptp::Differentiable<toy::split_model, tensor>, "evaluate + gradient");
static_assert(ptp::Differentiable<toy::fused_model, tensor>, "evaluate_with_gradient");
static_assert(!ptp::Differentiable<toy::logit_model, tensor>, "logits alone are no loss");
static_assert(ptp::LogitModel<toy::logit_model, tensor>);
static_assert(ptp::Differentiable<ptp::supervised<toy::logit_model, tensor>, tensor>,
              "a LogitModel with labels is a Differentiable");
static_assert(ptp::LogitModel<ptp::supervised<toy::logit_model, tensor>, tensor>,
              "…and stays a LogitModel");
// differentiable_ref synthesises the form the model lacks.
static_assert(ptp::detail::has_evaluate<ptp::differentiable_ref<toy::fused_model, tensor>, tensor>);
static_assert(ptp::detail::has_evaluate_with_gradient<ptp::differentiable_ref<toy::split_model, tensor>, tensor>);

#if PTP_STATIC_EIGEN
static_assert(ptp::Tensor<ptp::eigen::tensor3<float>>);
static_assert(ptp::Tensor<ptp::eigen::tensor3<double>>);
static_assert(ptp::Tensor<ptp::eigen::tensor2<float>>);
#endif
#if PTP_STATIC_XTENSOR
static_assert(ptp::Tensor<xt::xtensor<float, 3>>);
static_assert(ptp::Tensor<xt::xarray<double>>);
#endif

// ---- the prompt ----------------------------------------------------------------------------
static_assert(ptp::Prompt<ptp::soft_prompt<tensor, tensor>, tensor>);

// ---- embedding-space stages, objectives, regularizers -----------------------------------------
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::gaussian>);
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::uniform>);
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::neftune>);
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::fgm>);
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::pgd>);
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::freelb>);
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::smart>);
static_assert(ptp::EmbeddingPerturbation<ptp::embedding::r3f>);
static_assert(ptp::EmbeddingPerturbation<ptp::no_embedding_perturbation>);
static_assert(!ptp::EmbeddingPerturbation<ptp::objective::clean_plus_perturbed>);

static_assert(ptp::Objective<ptp::objective::clean_plus_perturbed>);
static_assert(ptp::Objective<ptp::objective::perturbed_only>);
static_assert(ptp::Objective<ptp::objective::consistency>);
static_assert(!ptp::Objective<ptp::embedding::pgd>);

using pgd_reg = decltype(ptp::regularizer(ptp::embedding::pgd{}, ptp::objective::clean_plus_perturbed{}));
static_assert(ptp::Regularizer<pgd_reg>);
static_assert(std::is_same_v<pgd_reg::objective_type, ptp::objective::clean_plus_perturbed>);
// The defaults: no objective → the stage's default (consistency for R3F/SMART), else
// clean + perturbed; no stage → vanilla prompt tuning.
static_assert(std::is_same_v<decltype(ptp::regularizer(ptp::embedding::r3f{}))::objective_type,
                             ptp::objective::consistency>);
static_assert(std::is_same_v<decltype(ptp::regularizer(ptp::embedding::gaussian{}))::objective_type,
                             ptp::objective::clean_plus_perturbed>);
static_assert(std::is_same_v<decltype(ptp::regularizer())::embedding_type, ptp::no_embedding_perturbation>);
static_assert(ptp::Regularizer<decltype(ptp::regularizer(ptp::text::random_mask{.rate = 0.05},
                                                         ptp::embedding::pgd{.steps = 3},
                                                         ptp::objective::clean_plus_perturbed{.weight = 1.0}))>);
static_assert(!ptp::Regularizer<ptp::embedding::pgd>);

// ---- text-space stages ------------------------------------------------------------------------
using ptp::text::token_sequence;
using ptp::text::words;
static_assert(ptp::text::TextPerturbation<ptp::text::random_mask, token_sequence>);
static_assert(ptp::text::TextPerturbation<ptp::text::random_substitution, token_sequence>);
static_assert(ptp::text::TextPerturbation<ptp::text::random_deletion, words>);
static_assert(ptp::text::TextPerturbation<ptp::text::adjacent_swap, words>);
static_assert(ptp::text::check_text_perturbation<ptp::text::random_mask, token_sequence>());

}  // namespace

TEST_CASE("the concepts hold for ptp's own types (checked at compile time)", "[static]") {
  SUCCEED("static_asserts in this file");
}
