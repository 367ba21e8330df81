// regularizer_t::step: the clean pass, the text stages, the embedding path on the perturbed
// text's embeddings, the objective (docs/algorithms.md §2) — against loss() and hand-composed
// terms.
#include <cstring>
#include <span>
#include <tuple>
#include <vector>

#include "catch.hpp"
#include "ptp/text/masking.hpp"
#include "test_models.hpp"

using namespace ptp_test;

namespace {

using eigen_backends = std::tuple<eigen_backend<float>, eigen_backend<double>>;

/// A TextModel over token batches: a V×d lookup table, a mask that excludes special tokens,
/// and the tanh model with labels as the batch's Differentiable. Records every batch it embeds.
template <class Bk>
struct table_model {
  using T3 = typename Bk::T3;
  using T2 = typename Bk::T2;
  using batch = std::vector<ptp::text::token_sequence>;
  static constexpr std::size_t V = 12, d = 5;

  T2 table = uniform_tensor<T2>({V, d}, 77);
  tanh_prompt_model<Bk> net{2, d, 6, 3, 200};
  std::vector<std::int64_t> labels;
  std::vector<batch> seen;

  auto embed(const batch& x) {
    seen.push_back(x);
    const std::size_t B = x.size(), L = x.front().ids.size();
    T3 e = zeros<T3>({B, L, d});
    T2 m = zeros<T2>({B, L});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t l = 0; l < L; ++l) {
        const auto id = static_cast<std::size_t>(x[b].ids[l]);
        for (std::size_t j = 0; j < d; ++j) raw(e)[(b * L + l) * d + j] = raw(table)[id * d + j];
        raw(m)[b * L + l] = x[b].locked(l) ? 0 : 1;
      }
    return ptp::embedded{ptp::supervised<tanh_prompt_model<Bk>, T3>(net, labels), std::move(e), std::move(m)};
  }
};

/// Four sequences of 6 tokens; [CLS]-like 1 and [SEP]-like 2 at the ends are special.
inline std::vector<ptp::text::token_sequence> token_batch() {
  std::vector<ptp::text::token_sequence> x;
  ptp::generator g{.seed = 3, .stream = 0xBA7C4};
  for (int b = 0; b < 4; ++b) {
    ptp::text::token_sequence s{.ids = {1}, .special = {true}};
    for (int l = 0; l < 4; ++l) {
      s.ids.push_back(3 + static_cast<std::int64_t>(g.below(9)));
      s.special.push_back(false);
    }
    s.ids.push_back(2);
    s.special.push_back(true);
    x.push_back(std::move(s));
  }
  return x;
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

static_assert(ptp::TextModel<table_model<eigen_backend<float>>, std::vector<ptp::text::token_sequence>>);
static_assert(!ptp::TextModel<ptp::text::random_mask, std::vector<ptp::text::token_sequence>>);

TEMPLATE_LIST_TEST_CASE("step() with no text stages is loss() bit for bit (every embedding stage)", "[core][step]",
                        eigen_backends) {
  table_model<TestType> tm;
  tm.labels = {0, 2, 1, 1};
  const auto x = token_batch();
  std::apply(
      [&](const auto&... stage) {
        auto one = [&](const auto& st) {
          INFO(stage_name<std::remove_cvref_t<decltype(st)>>());
          const auto reg = ptp::regularizer(st);
          auto clean = tm.embed(x);
          tm.net.prompt.zero_grad();
          ptp::generator g1{.seed = 21, .offset = 5};
          const double want = reg.loss(clean.model, clean.embeddings, clean.mask, g1);
          const auto want_grad = ptp::ops::copy(tm.net.prompt.gradient());

          tm.net.prompt.zero_grad();
          ptp::generator g2{.seed = 21, .offset = 5};
          const double got = reg.step(tm, x, g2);
          CHECK(same_bits(got, want));
          CHECK(bit_equal(tm.net.prompt.gradient(), want_grad));
          CHECK(g2.offset == g1.offset);
          CHECK(max_abs(want_grad) > 0);  // the step did train
        };
        (one(stage), ...);
      },
      all_stages());
  // eval: the clean loss, no draw
  ptp::generator g{.seed = 1};
  auto clean = tm.embed(x);
  CHECK(ptp::regularizer(ptp::embedding::gaussian{}).step(tm, x, g, ptp::mode::eval) == clean.model.evaluate(clean.embeddings));
  CHECK(g.offset == 0);
}

TEMPLATE_LIST_TEST_CASE("step() with random_mask is clean + λ·L(mask(x)) from the same draws", "[core][step][text]",
                        eigen_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  table_model<TestType> tm;
  tm.labels = {1, 0, 2, 0};
  const auto x = token_batch();
  const ptp::text::random_mask mask{.rate = 0.4, .mask_id = 0};
  const double lam = 0.7;
  const ptp::generator gen0{.seed = 9, .offset = 3};

  // by hand: the same draws, the two terms and their θ-gradients separately
  ptp::generator gh = gen0;
  auto xt = x;
  mask.in_place(std::span(xt), gh, ptp::mode::train);
  std::size_t masked = 0;
  for (std::size_t b = 0; b < x.size(); ++b)
    for (std::size_t l = 0; l < x[b].ids.size(); ++l) masked += xt[b].ids[l] != x[b].ids[l];
  REQUIRE(masked > 0);  // the perturbed term differs from the clean one
  auto c = tm.embed(x);
  tm.net.prompt.zero_grad();
  const double clean = c.model.evaluate_with_gradient(c.embeddings, nullptr, 1.0);
  const auto g_clean = to_vector(tm.net.prompt.gradient());
  auto p = tm.embed(xt);
  tm.net.prompt.zero_grad();
  const double pert = p.model.evaluate_with_gradient(p.embeddings, nullptr, 1.0);
  const auto g_pert = to_vector(tm.net.prompt.gradient());
  REQUIRE(pert != clean);

  tm.seen.clear();
  tm.net.prompt.zero_grad();
  ptp::generator gs = gen0;
  const double got = ptp::regularizer(mask, ptp::objective::clean_plus_perturbed{.weight = lam}).step(tm, x, gs);
  CHECK(got == Approx(clean + lam * pert).epsilon(rel_tol<S>));
  CHECK(gs.offset == gh.offset);
  REQUIRE(tm.seen.size() == 2);
  CHECK(tm.seen[0] == x);   // the clean pass sees the batch…
  CHECK(tm.seen[1] == xt);  // …the perturbed term its masked copy
  const auto got_grad = to_vector(tm.net.prompt.gradient());
  for (std::size_t i = 0; i < got_grad.size(); ++i)
    CHECK(got_grad[i] == Approx(g_clean[i] + lam * g_pert[i]).epsilon(rel_tol<S>).margin(rel_tol<S>));

  // with an embedding stage too: clean + λ·L(embed(x̃) + δ), δ drawn after the mask
  const ptp::embedding::gaussian noise{.sigma = 0.3};
  ptp::generator gh2 = gen0;
  auto xt2 = x;
  mask.in_place(std::span(xt2), gh2, ptp::mode::train);
  auto p2 = tm.embed(xt2);
  const T3 delta = noise.sample(p2.embeddings, p2.mask, gh2);
  const double pert2 = p2.model.evaluate(ptp::ops::add(p2.embeddings, delta));
  ptp::generator gs2 = gen0;
  const double got2 = ptp::regularizer(mask, noise, ptp::objective::clean_plus_perturbed{.weight = lam}).step(tm, x, gs2);
  CHECK(got2 == Approx(clean + lam * pert2).epsilon(rel_tol<S>));
  CHECK(pert2 != pert);
  CHECK(gs2.offset == gh2.offset);

  // a stage that ascends (PGD) starts from the perturbed text's own gradient: the perturbed
  // term is what the embedding path alone gives at embed(x̃)
  const ptp::embedding::pgd adv{.steps = 2, .step_size = 0.2, .epsilon = 0.5};
  ptp::generator gh3 = gen0;
  auto xt3 = x;
  mask.in_place(std::span(xt3), gh3, ptp::mode::train);
  auto p3 = tm.embed(xt3);
  const double pert3 = ptp::regularizer(adv, ptp::objective::perturbed_only{}).loss(p3.model, p3.embeddings, p3.mask, gh3);
  ptp::generator gs4 = gen0;
  const double got3 = ptp::regularizer(mask, adv, ptp::objective::clean_plus_perturbed{.weight = lam}).step(tm, x, gs4);
  CHECK(got3 == Approx(clean + lam * pert3).epsilon(rel_tol<S>));
  CHECK(pert3 != pert);
  CHECK(gs4.offset == gh3.offset);

  // perturbed_only: the masked text's loss alone
  ptp::generator gs3 = gen0;
  CHECK(ptp::regularizer(mask, ptp::objective::perturbed_only{}).step(tm, x, gs3) == Approx(pert).epsilon(rel_tol<S>));
}
