// Objectives and gradients (finite differences of the test models and of whole regularized
// steps), the soft prompt, Eigen/xtensor bit-identity, and the error paths.
#include <cmath>
#include <limits>
#include <vector>

#include "catch.hpp"
#include "test_models.hpp"

using namespace ptp_test;

namespace {

/// Central finite differences of loss() in every entry of t.
template <class T, class Fn>
std::vector<double> finite_differences(T& t, Fn&& loss, double h = 1e-6) {
  std::vector<double> out(numel(t));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto t0 = raw(t)[i];
    raw(t)[i] = t0 + h;
    const double up = loss();
    raw(t)[i] = t0 - h;
    const double dn = loss();
    raw(t)[i] = t0;
    out[i] = (up - dn) / (2 * h);
  }
  return out;
}

template <class A>
void check_close(const A& got, const std::vector<double>& want, double margin) {
  REQUIRE(numel(got) == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(raw(got)[i] == Approx(want[i]).margin(margin));
}

}  // namespace

// ---- the test models themselves -----------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("test models: analytic gradients in e and θ match finite differences", "[core][models][fd]",
                        double_backends) {
  using T3 = typename TestType::T3;
  auto check_model = [](auto& model) {
    using M = std::remove_cvref_t<decltype(model)>;
    const std::size_t B = 3, L = 4, d = 5;
    T3 e = uniform_tensor<T3>({B, L, d}, 61);
    const std::vector<std::int64_t> y{2, 0, 1};
    ptp::supervised<M, T3> f(model, y);
    model.prompt.zero_grad();
    T3 ge = ptp::ops::zeros_like(e);
    const double l = f.evaluate_with_gradient(e, &ge, 1.0);
    CHECK(l == f.evaluate(e));
    check_close(ge, finite_differences(e, [&] { return f.evaluate(e); }), 1e-8);
    check_close(model.prompt.gradient(), finite_differences(model.prompt.parameters(), [&] { return f.evaluate(e); }),
                1e-8);
    CHECK(max_abs(ge) > 1e-3);
    CHECK(max_abs(model.prompt.gradient()) > 1e-3);
    // w scales θ's gradient and accumulates; w = 0 leaves it alone.
    const auto g1 = to_vector(model.prompt.gradient());
    (void)f.evaluate_with_gradient(e, nullptr, 0.0);
    (void)f.evaluate_with_gradient(e, nullptr, 2.0);
    for (std::size_t i = 0; i < g1.size(); ++i) CHECK(raw(model.prompt.gradient())[i] == Approx(3 * g1[i]).epsilon(1e-12));
  };
  SECTION("linear") {
    linear_prompt_model<TestType> m(2, 5, 3, 7);
    check_model(m);
  }
  SECTION("tanh") {
    tanh_prompt_model<TestType> m(2, 5, 6, 3, 7);
    check_model(m);
  }
}

TEMPLATE_LIST_TEST_CASE("differentiable_ref synthesises the missing member", "[core][models]", all_backends) {
  using T3 = typename TestType::T3;
  const T3 G = uniform_tensor<T3>({2, 3, 4}, 1), e = uniform_tensor<T3>({2, 3, 4}, 2);
  linear_loss<T3> f{G};  // evaluate + gradient
  ptp::differentiable_ref<linear_loss<T3>, T3> r(f);
  T3 g = ptp::ops::zeros_like(e);
  CHECK(r.evaluate_with_gradient(e, &g, 1.0) == ptp::ops::dot(G, e));
  CHECK(bit_equal(g, G));
  problem<TestType> pb;  // supervised: evaluate + evaluate_with_gradient
  ptp::differentiable_ref<decltype(pb.f), T3> s(pb.f);
  T3 ge = ptp::ops::zeros_like(pb.e), ge2 = ptp::ops::zeros_like(pb.e);
  s.gradient(pb.e, &ge, 0.0);
  (void)pb.f.evaluate_with_gradient(pb.e, &ge2, 0.0);
  CHECK(bit_equal(ge, ge2));
  CHECK(max_abs(pb.model.prompt.gradient()) == 0.0);
}

// ---- objectives -------------------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("Gaussian clean + λ·perturbed: θ-gradient is the sum of the two gradients", "[core][objective]",
                        all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  problem<TestType> pb;
  const double lam = 0.45;
  const ptp::embedding::gaussian stage{.sigma = 0.2};
  const ptp::generator gen0{.seed = 8, .offset = 2};

  ptp::generator g1 = gen0;
  const T3 delta = stage.sample(pb.e, pb.mask, g1);
  const T3 x = ptp::ops::add(pb.e, delta);
  pb.model.prompt.zero_grad();
  const double clean = pb.f.evaluate_with_gradient(pb.e, nullptr, 1.0);
  const auto g_clean = to_vector(pb.model.prompt.gradient());
  pb.model.prompt.zero_grad();
  const double pert = pb.f.evaluate_with_gradient(x, nullptr, 1.0);
  const auto g_pert = to_vector(pb.model.prompt.gradient());

  pb.model.prompt.zero_grad();
  ptp::generator gen = gen0;
  recording<decltype(pb.f), T3> rec(pb.f);
  const auto [loss, passes] = ptp::regularizer(stage, ptp::objective::clean_plus_perturbed{.weight = lam})
                                  .loss_and_passes(rec, pb.e, pb.mask, gen);
  CHECK(passes == 2);
  CHECK(gen.offset == g1.offset);
  REQUIRE(rec.calls.size() == 2);
  CHECK(bit_equal(rec.calls[1].x, x));
  CHECK(loss == Approx(clean + lam * pert).epsilon(rel_tol<S>));
  const auto got = to_vector(pb.model.prompt.gradient());
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == Approx(g_clean[i] + lam * g_pert[i]).epsilon(rel_tol<S>).margin(rel_tol<S>));

  // perturbed_only drops the clean part (and its pass).
  pb.model.prompt.zero_grad();
  ptp::generator gen2 = gen0;
  const auto [l2, p2] = ptp::regularizer(stage, ptp::objective::perturbed_only{}).loss_and_passes(pb.f, pb.e, pb.mask, gen2);
  CHECK(p2 == 1);
  CHECK(l2 == pert);
  const auto got2 = to_vector(pb.model.prompt.gradient());
  for (std::size_t i = 0; i < got2.size(); ++i) CHECK(got2[i] == Approx(g_pert[i]).epsilon(rel_tol<S>).margin(rel_tol<S>));
}

TEMPLATE_LIST_TEST_CASE("vanilla (no embedding stage): the clean loss and its gradient, one pass", "[core][objective]",
                        all_backends) {
  problem<TestType> pb;
  pb.model.prompt.zero_grad();
  const double clean = pb.f.evaluate_with_gradient(pb.e, nullptr, 1.0);
  const auto want = to_vector(pb.model.prompt.gradient());
  pb.model.prompt.zero_grad();
  ptp::generator gen{.seed = 1};
  const auto reg = ptp::regularizer();
  const auto [l, passes] = reg.loss_and_passes(pb.f, pb.e, pb.mask, gen);
  CHECK(l == clean);
  CHECK(passes == reg.passes());
  CHECK(passes == 1);
  CHECK(to_vector(pb.model.prompt.gradient()) == want);
  CHECK(gen.offset == 0);
}

TEMPLATE_LIST_TEST_CASE("R3F consistency: θ-gradient equals finite differences of the total loss", "[core][objective][fd]",
                        double_backends) {
  for (const bool supervised : {true, false}) {
    INFO("supervised = " << supervised);
    problem<TestType> pb;
    const ptp::generator gen0{.seed = 21, .offset = 9};
    for (const auto noise : {ptp::embedding::r3f::noise_kind::uniform, ptp::embedding::r3f::noise_kind::normal}) {
      const auto reg = ptp::regularizer(ptp::embedding::r3f{.epsilon = 0.3, .noise = noise},
                                        ptp::objective::consistency{.weight = 1.7, .supervised = supervised});
      auto total = [&] {
        ptp::generator g = gen0;  // the same δ every time
        return reg.loss(pb.f, pb.e, pb.mask, g);
      };
      pb.model.prompt.zero_grad();
      ptp::generator gen = gen0;
      const auto [loss, passes] = reg.loss_and_passes(pb.f, pb.e, pb.mask, gen);
      CHECK(passes == 2);
      const auto grad = ptp::ops::copy(pb.model.prompt.gradient());
      CHECK(max_abs(grad) > 1e-4);
      const auto fd = finite_differences(pb.model.prompt.parameters(), [&] {
        pb.model.prompt.zero_grad();
        return total();
      });
      check_close(grad, fd, 1e-8);
      // The loss itself: [CE] + λ·symKL(p(e) ‖ p(e + δ)) with δ ~ the stage's noise.
      ptp::generator g = gen0;
      using T3 = typename TestType::T3;
      T3 delta = ptp::ops::zeros_like(pb.e);
      if (noise == ptp::embedding::r3f::noise_kind::uniform) ptp::ops::fill_uniform(delta, g, -0.3, 0.3);
      else ptp::ops::fill_normal(delta, g, 0.3);
      ptp::ops::mask_and_scale(delta, pb.mask);
      const auto zc = pb.model.logits(pb.e), zq = pb.model.logits(ptp::ops::add(pb.e, delta));
      const double want = (supervised ? ptp::losses::cross_entropy(zc, pb.y) : 0.0) + 1.7 * ptp::losses::sym_kl(zc, zq);
      CHECK(loss == Approx(want).epsilon(1e-12));
    }
  }
}

TEMPLATE_LIST_TEST_CASE("PGD with the consistency objective: ascent on the task loss, λ·symKL at the result",
                        "[core][objective]", double_backends) {
  problem<TestType> pb;
  using T3 = typename TestType::T3;
  using F = decltype(pb.f);
  recording<F, T3> rec(pb.f);
  const ptp::embedding::pgd stage{.steps = 2, .step_size = 0.2, .epsilon = 0.25};
  const auto reg = ptp::regularizer(stage, ptp::objective::consistency{.weight = 0.7});
  ptp::generator gen{.seed = 4};
  const auto [loss, passes] = reg.loss_and_passes(rec, pb.e, pb.mask, gen);
  // clean logits, the clean ∇_e (no θ), K − 1 = 1 further ascent pass, the final pair.
  CHECK(passes == 4);
  const auto grads = rec.inputs(recording<F, T3>::kind::with_gradient);
  REQUIRE(grads.size() == 2);
  // The ascent reproduces PGD on the task loss: δ1 from the clean gradient, δ2 from ∇ at δ1.
  T3 g = ptp::ops::zeros_like(pb.e), delta = ptp::ops::zeros_like(pb.e);
  ptp::differentiable_ref<F, T3>(pb.f).gradient(pb.e, &g, 0.0);
  ptp::ops::mask_and_scale(g, pb.mask);
  ptp::ops::ascent_step(delta, g, 0.2, ptp::step_rule::l2, ptp::granularity::example, 0.25, ptp::norm_type::l2);
  check_close(grads[1], to_vector(ptp::ops::add(pb.e, delta)), 1e-14);
  ptp::differentiable_ref<F, T3>(pb.f).gradient(grads[1], &g, 0.0);
  ptp::ops::mask_and_scale(g, pb.mask);
  ptp::ops::ascent_step(delta, g, 0.2, ptp::step_rule::l2, ptp::granularity::example, 0.25, ptp::norm_type::l2);
  const auto zc = pb.model.logits(pb.e), zq = pb.model.logits(ptp::ops::add(pb.e, delta));
  CHECK(loss == Approx(ptp::losses::cross_entropy(zc, pb.y) + 0.7 * ptp::losses::sym_kl(zc, zq)).epsilon(1e-12));
  // The ascent passes add nothing to θ.
  for (const auto& c : rec.calls)
    if (c.k == recording<F, T3>::kind::with_gradient) CHECK(c.w == 0.0);
}

TEMPLATE_LIST_TEST_CASE("prompt gradient through a regularized Gaussian step matches finite differences",
                        "[core][prompt][fd]", double_backends) {
  problem<TestType> pb;
  const auto reg = ptp::regularizer(ptp::embedding::gaussian{.sigma = 0.3},
                                    ptp::objective::clean_plus_perturbed{.weight = 0.8});
  const ptp::generator gen0{.seed = 404};
  pb.model.prompt.zero_grad();
  ptp::generator gen = gen0;
  (void)reg.loss(pb.f, pb.e, pb.mask, gen);
  const auto grad = ptp::ops::copy(pb.model.prompt.gradient());
  const auto fd = finite_differences(pb.model.prompt.parameters(), [&] {
    ptp::generator g = gen0;
    return reg.loss(pb.f, pb.e, pb.mask, g);
  });
  check_close(grad, fd, 1e-8);
}

// ---- soft prompt --------------------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("soft_prompt: join, join_mask, split_gradient", "[core][prompt]", all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  const std::size_t P = 3, B = 2, L = 4, d = 5;
  ptp::soft_prompt<T2, T3> prompt(uniform_tensor<T2>({P, d}, 1));
  CHECK(prompt.length() == P);
  CHECK(prompt.width() == d);
  const T3 e = uniform_tensor<T3>({B, L, d}, 2);
  const T3 x = prompt.join(e);
  REQUIRE(ptp::ops::shape(x) == ptp::shape_type{B, P + L, d});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t l = 0; l < P + L; ++l)
      for (std::size_t j = 0; j < d; ++j) {
        const S want = l < P ? raw(prompt.parameters())[l * d + j] : raw(e)[(b * L + l - P) * d + j];
        CHECK(raw(x)[(b * (P + L) + l) * d + j] == want);
      }

  const T2 mask = length_mask<T2>(L, {2, 0});
  const T2 jm = prompt.join_mask(mask);
  REQUIRE(ptp::ops::shape(jm) == ptp::shape_type{B, P + L});
  CHECK(to_vector(jm) == std::vector<double>{1, 1, 1, 1, 1, 0, 0, /**/ 1, 1, 1, 0, 0, 0, 0});

  const T3 gx = uniform_tensor<T3>({B, P + L, d}, 3);
  T3 ge;
  prompt.zero_grad();
  prompt.split_gradient(gx, &ge, 0.5);
  REQUIRE(ptp::ops::shape(ge) == ptp::shape_type{B, L, d});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t i = 0; i < L * d; ++i) CHECK(raw(ge)[b * L * d + i] == raw(gx)[(b * (P + L) + P) * d + i]);
  for (std::size_t i = 0; i < P * d; ++i)
    CHECK(raw(prompt.gradient())[i] ==
          Approx(0.5 * (double(raw(gx)[i]) + raw(gx)[(P + L) * d + i])).epsilon(rel_tol<S>));
  const auto before = to_vector(prompt.gradient());
  prompt.split_gradient(gx, nullptr, 0.0);  // w = 0, no ∇_e: nothing changes
  CHECK(to_vector(prompt.gradient()) == before);
  prompt.zero_grad();
  CHECK(max_abs(prompt.gradient()) == 0.0);

  // A generator-initialised prompt: N(0, std²) from the generator, deterministic.
  ptp::generator g1{.seed = 3}, g2{.seed = 3};
  ptp::soft_prompt<T2, T3> p1(4, 6, g1, 0.02), p2(4, 6, g2, 0.02);
  CHECK(bit_equal(p1.parameters(), p2.parameters()));
  CHECK(max_abs(p1.parameters()) > 0);
  CHECK(max_abs(p1.parameters()) < 0.02 * 6);

  // Shape errors name the shapes.
  const T3 wrong = zeros<T3>({B, L, d + 1});
  CHECK_THROWS_AS(prompt.join(wrong), ptp::shape_error);
  CHECK_THROWS_WITH(prompt.join(wrong), Catch::Contains("2×4×6") && Catch::Contains("×5"));
  CHECK_THROWS_WITH(prompt.split_gradient(zeros<T3>({B, 2, d}), nullptr, 1.0), Catch::Contains("2×2×5"));
  CHECK_THROWS_AS((ptp::soft_prompt<T2, T3>(zeros<T2>({P, d}))).join(zeros<T3>({B, L, d + 2})), ptp::shape_error);
}

// ---- Eigen and xtensor: the same bits ---------------------------------------------------------------

TEMPLATE_TEST_CASE("Eigen and xtensor give bit-identical perturbations, losses and gradients for every stage",
                   "[core][backends]", float, double) {
  using EB = eigen_backend<TestType>;
  using XB = xtensor_backend<TestType>;
  problem<EB> pe;
  problem<XB> px;
  REQUIRE(bit_equal(pe.e, px.e));  // the same data on both sides
  REQUIRE(bit_equal(pe.mask, px.mask));
  REQUIRE(bit_equal(pe.model.prompt.parameters(), px.model.prompt.parameters()));
  for_each_stage([&](const auto& stage, std::size_t i) {
    INFO("stage " << i << ": " << stage_name<std::remove_cvref_t<decltype(stage)>>());
    const auto reg = ptp::regularizer(stage);
    ptp::generator ge{.seed = 1234, .stream = 5}, gx{.seed = 1234, .stream = 5};
    pe.model.prompt.zero_grad();
    px.model.prompt.zero_grad();
    recording<decltype(pe.f), typename EB::T3> re(pe.f);
    recording<decltype(px.f), typename XB::T3> rx(px.f);
    const double le = reg.loss(re, pe.e, pe.mask, ge);
    const double lx = reg.loss(rx, px.e, px.mask, gx);
    CHECK(le == lx);
    CHECK(ge.offset == gx.offset);
    REQUIRE(re.calls.size() == rx.calls.size());
    for (std::size_t k = 0; k < re.calls.size(); ++k) CHECK(bit_equal(re.calls[k].x, rx.calls[k].x));
    CHECK(bit_equal(pe.model.prompt.gradient(), px.model.prompt.gradient()));
  });
  // The samplers directly.
  ptp::generator a{.seed = 9}, b{.seed = 9};
  CHECK(bit_equal(ptp::embedding::neftune{}.sample(pe.e, pe.mask, a), ptp::embedding::neftune{}.sample(px.e, px.mask, b)));
  CHECK(bit_equal(ptp::embedding::uniform{}.sample(pe.e, pe.mask, a), ptp::embedding::uniform{}.sample(px.e, px.mask, b)));
  CHECK(bit_equal(ptp::embedding::random_start(pe.e, pe.mask, a, 0.3, ptp::norm_type::l2),
                  ptp::embedding::random_start(px.e, px.mask, b, 0.3, ptp::norm_type::l2)));
  // xt::xarray (dynamic rank) is a backend too, with the same bits.
  const auto ea = convert<xt::xarray<TestType>>(px.e);
  const auto ma = convert<xt::xarray<TestType>>(px.mask);
  ptp::generator c{.seed = 10}, c2{.seed = 10};
  const auto da = ptp::embedding::gaussian{.sigma = 0.1}.sample(ea, ma, c);
  const auto dx = ptp::embedding::gaussian{.sigma = 0.1}.sample(px.e, px.mask, c2);
  CHECK(std::equal(da.begin(), da.end(), dx.begin()));
  CHECK(da.size() == dx.size());
}

// ---- errors and edge cases --------------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("shape mismatches throw shape_error naming both shapes", "[core][errors]", all_backends) {
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  problem<TestType> pb({5, 5}, 5);  // B = 2, L = 5, d = 5
  const auto reg = ptp::regularizer(ptp::embedding::gaussian{});
  ptp::generator gen{.seed = 1};
  const T2 bad_mask = zeros<T2>({2, 4});
  CHECK_THROWS_AS(reg.loss(pb.f, pb.e, bad_mask, gen), ptp::shape_error);
  CHECK_THROWS_WITH(reg.loss(pb.f, pb.e, bad_mask, gen), Catch::Contains("2×5") && Catch::Contains("2×4"));
  CHECK_THROWS_WITH(reg.loss_and_passes(pb.f, pb.e, bad_mask, gen), Catch::Contains("2×5") && Catch::Contains("2×4"));
  const T2 flat = zeros<T2>({2, 25});
  CHECK_THROWS_WITH(ptp::embedding::gaussian{}.sample(pb.e, flat, gen), Catch::Contains("2×25"));
  CHECK_THROWS_WITH(ptp::embedding::neftune{}.sample(pb.e, flat, gen), Catch::Contains("2×5"));
  T3 delta = ptp::ops::zeros_like(pb.e);
  const T3 g = zeros<T3>({2, 4, 5});
  CHECK_THROWS_WITH(ptp::ops::axpy(delta, 1.0, g), Catch::Contains("2×5×5") && Catch::Contains("2×4×5"));
  CHECK_THROWS_WITH(
      ptp::ops::ascent_step(delta, g, 0.1, ptp::step_rule::sign, ptp::granularity::example, 0.0, ptp::norm_type::linf),
      Catch::Contains("2×5×5") && Catch::Contains("2×4×5"));
  CHECK(gen.offset == 0);  // nothing was drawn before the checks
}

TEMPLATE_LIST_TEST_CASE("empty batches, negative K and mismatched objectives throw", "[core][errors]", all_backends) {
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  using namespace ptp::embedding;
  problem<TestType> pb;
  ptp::generator gen{.seed = 1};
  const T3 e0 = zeros<T3>({0, 4, 5});
  const T2 m0 = zeros<T2>({0, 4});
  CHECK_THROWS_AS(ptp::regularizer(gaussian{}).loss(pb.f, e0, m0, gen), std::invalid_argument);
  CHECK_THROWS_WITH(ptp::regularizer(gaussian{}).loss(pb.f, e0, m0, gen), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(ptp::regularizer(pgd{}).loss_and_passes(pb.f, e0, m0, gen), Catch::Contains("empty batch"));
  CHECK_THROWS_AS(ptp::regularizer().loss(pb.f, e0, m0, gen, ptp::mode::eval), std::invalid_argument);

  CHECK_THROWS_WITH(ptp::regularizer(pgd{.steps = -1}).loss(pb.f, pb.e, pb.mask, gen), Catch::Contains("steps = -1"));
  CHECK_THROWS_AS(ptp::regularizer(freelb{.steps = -2}).loss(pb.f, pb.e, pb.mask, gen), std::invalid_argument);
  CHECK_THROWS_AS(ptp::regularizer(smart{.steps = -1}).loss(pb.f, pb.e, pb.mask, gen), std::invalid_argument);

  // Consistency needs exactly one δ: FreeLB's K points cannot pair with it.
  CHECK_THROWS_AS(ptp::regularizer(freelb{}, ptp::objective::consistency{}).loss(pb.f, pb.e, pb.mask, gen),
                  std::logic_error);
}

TEMPLATE_LIST_TEST_CASE("non-finite losses and gradients raise non_finite_error naming the term", "[core][errors]",
                        all_backends) {
  using T3 = typename TestType::T3;
  using namespace ptp::embedding;
  problem<TestType> pb;
  using F = decltype(pb.f);
  auto message = [&](const auto& reg, int bad_call, bool bad_gradient) -> std::string {
    faulty<F, T3> f{pb.f, bad_call, bad_gradient};
    ptp::generator gen{.seed = 1};
    try {
      (void)reg.loss(f, pb.e, pb.mask, gen);
    } catch (const ptp::non_finite_error& err) {
      return err.what();
    }
    return "(no error)";
  };
  using Catch::Contains;
  // Gaussian: call 0 is the clean pass, call 1 the perturbed one.
  CHECK_THAT(message(ptp::regularizer(gaussian{}), 0, false), Contains("loss") && Contains("clean"));
  CHECK_THAT(message(ptp::regularizer(gaussian{}), 1, false), Contains("loss") && Contains("perturbed"));
  // PGD: the clean pass's gradient feeds step 0; with a random start step 0 has its own pass.
  CHECK_THAT(message(ptp::regularizer(pgd{}), 0, true), Contains("gradient") && Contains("clean"));
  CHECK_THAT(message(ptp::regularizer(pgd{}), 1, true), Contains("gradient") && Contains("ascent step 1"));
  CHECK_THAT(message(ptp::regularizer(pgd{.init = init_kind::random}), 1, true), Contains("ascent step 0"));
  CHECK_THAT(message(ptp::regularizer(pgd{.steps = 2}), 2, false), Contains("perturbed"));
  CHECK_THAT(message(ptp::regularizer(fgm{}), 0, true), Contains("clean"));
  CHECK_THAT(message(ptp::regularizer(freelb{}), 1, true), Contains("FreeLB pass 0"));
  CHECK_THAT(message(ptp::regularizer(freelb{}), 2, false), Contains("FreeLB pass 1"));
}
