// Properties every embedding stage shares (evaluation-mode identity, masking, all-padding
// rows, zero strength) and the distributions of the random stages (Gaussian, uniform,
// NEFTune, R3F's noise).
#include <cmath>
#include <vector>

#include "catch.hpp"
#include "test_models.hpp"

using namespace ptp_test;

TEMPLATE_LIST_TEST_CASE("every stage: evaluation mode is the clean loss, no gradient, generator untouched",
                        "[core][stages]", all_backends) {
  problem<TestType> pb;
  const double clean = pb.f.evaluate(pb.e);
  for_each_stage([&](const auto& stage, std::size_t i) {
    INFO("stage " << i << ": " << stage_name<std::remove_cvref_t<decltype(stage)>>());
    const auto reg = ptp::regularizer(stage);
    ptp::generator gen{.seed = 99, .stream = 2, .offset = 5};
    pb.model.prompt.zero_grad();
    recording<decltype(pb.f), typename TestType::T3> rec(pb.f);
    const double l = reg.loss(rec, pb.e, pb.mask, gen, ptp::mode::eval);
    CHECK(l == clean);
    CHECK(gen.seed == 99);
    CHECK(gen.stream == 2);
    CHECK(gen.offset == 5);
    CHECK(max_abs(pb.model.prompt.gradient()) == 0.0);
    REQUIRE(rec.calls.size() == 1);  // one clean forward, nothing else
    CHECK(rec.calls[0].k == decltype(rec)::kind::evaluate);
    CHECK(bit_equal(rec.calls[0].x, pb.e));
  });
}

TEMPLATE_LIST_TEST_CASE("every stage: masked positions and all-padding rows get exactly zero delta", "[core][stages]",
                        all_backends) {
  using T3 = typename TestType::T3;
  problem<TestType> pb;  // lengths {7, 3, 0, 5}: row 2 is all padding
  const std::size_t L = pb.L, d = pb.d, B = pb.len.size();
  for_each_stage([&](const auto& stage, std::size_t i) {
    INFO("stage " << i << ": " << stage_name<std::remove_cvref_t<decltype(stage)>>());
    const auto reg = ptp::regularizer(stage);
    ptp::generator gen{.seed = 7};
    recording<decltype(pb.f), T3> rec(pb.f);
    const double l = reg.loss(rec, pb.e, pb.mask, gen);
    CHECK(std::isfinite(l));
    CHECK(ptp::ops::all_finite(pb.model.prompt.gradient()));
    std::size_t perturbed_inputs = 0;
    for (const auto& c : rec.calls) {
      REQUIRE(ptp::ops::all_finite(c.x));
      bool differs = false;
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < L; ++t)
          for (std::size_t j = 0; j < d; ++j) {
            const std::size_t k = (b * L + t) * d + j;
            if (t >= pb.len[b]) CHECK(raw(c.x)[k] == raw(pb.e)[k]);  // bit-exact: δ = 0 there
            differs |= raw(c.x)[k] != raw(pb.e)[k];
          }
      perturbed_inputs += differs;
    }
    CHECK(perturbed_inputs >= 1);  // and the stage did perturb something
  });
}

TEMPLATE_LIST_TEST_CASE("every stage: zero strength is the identity", "[core][stages]", all_backends) {
  using T3 = typename TestType::T3;
  using namespace ptp::embedding;
  problem<TestType> pb;
  const double clean = pb.f.evaluate(pb.e);
  auto run = [&](const auto& reg) {
    ptp::generator gen{.seed = 3};
    recording<decltype(pb.f), T3> rec(pb.f);
    const double l = reg.loss(rec, pb.e, pb.mask, gen);
    for (const auto& c : rec.calls) CHECK(bit_equal(c.x, pb.e));
    return l;
  };
  const auto S = std::is_same_v<typename TestType::value_type, float> ? 1e-6 : 1e-14;
  // clean + λ·perturbed with δ = 0 is (1 + λ)·clean.
  CHECK(run(ptp::regularizer(gaussian{.sigma = 0})) == Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(gaussian{.sigma = 0}, ptp::objective::clean_plus_perturbed{.weight = 0.3})) ==
        Approx(1.3 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(uniform{.epsilon = 0})) == Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(neftune{.alpha = 0})) == Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(fgm{.epsilon = 0})) == Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(fgm{.epsilon = 0, .norm = ptp::norm_type::linf})) == Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(pgd{.steps = 0})) == Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(pgd{.steps = 3, .step_size = 0.0})) == Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(pgd{.steps = 2, .step_size = 0.0, .epsilon = 0.0, .init = init_kind::random, .init_magnitude = 0.0})) ==
        Approx(2 * clean).epsilon(S));
  CHECK(run(ptp::regularizer(freelb{.steps = 2, .step_size = 0.0, .init = init_kind::zero})) ==
        Approx(2 * clean).epsilon(S));
  // Perturbed-only with δ = 0 is the clean loss itself; K = 0 FreeLB adds no perturbed term.
  CHECK(run(ptp::regularizer(gaussian{.sigma = 0}, ptp::objective::perturbed_only{})) == Approx(clean).epsilon(S));
  CHECK(run(ptp::regularizer(freelb{.steps = 0})) == Approx(clean).epsilon(S));
  // Consistency: symKL(p, p) = 0, so the loss is the clean cross-entropy.
  CHECK(run(ptp::regularizer(r3f{.epsilon = 0})) == Approx(clean).epsilon(S));
  CHECK(run(ptp::regularizer(smart{.steps = 0, .sigma = 0})) == Approx(clean).epsilon(S));
}

TEMPLATE_LIST_TEST_CASE("gaussian: relative sigma gives std ≈ sigma·rms per example; absolute sigma", "[core][stages]",
                        all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  const std::size_t L = 40, d = 64;
  const std::vector<std::size_t> len{40, 17, 0, 31};
  T3 e = uniform_tensor<T3>({len.size(), L, d}, 5, -1.0, 1.0);
  for (std::size_t b = 0; b < len.size(); ++b)  // different scales per example
    for (std::size_t i = 0; i < L * d; ++i) raw(e)[b * L * d + i] *= static_cast<S>(0.5 + b);
  const T2 mask = length_mask<T2>(L, len);

  for (const bool relative : {true, false}) {
    INFO("relative = " << relative);
    const ptp::embedding::gaussian g{.sigma = 0.05, .relative = relative};
    ptp::generator gen{.seed = 17};
    const T3 delta = g.sample(e, mask, gen);
    CHECK(gen.offset == (numel(e) + 3) / 4);
    for (std::size_t b = 0; b < len.size(); ++b) {
      double ss = 0, ee = 0, mean = 0;
      const std::size_t n = len[b] * d;
      for (std::size_t i = 0; i < n; ++i) {
        const double x = raw(delta)[b * L * d + i], v = raw(e)[b * L * d + i];
        ss += x * x;
        mean += x;
        ee += v * v;
      }
      for (std::size_t i = n; i < L * d; ++i) CHECK(raw(delta)[b * L * d + i] == S(0));
      if (n == 0) continue;
      const double rms = std::sqrt(ee / n), target = relative ? 0.05 * rms : 0.05;
      const double sd = std::sqrt(ss / n);
      CHECK(std::abs(mean / n) < 5 * target / std::sqrt(double(n)));
      CHECK(std::abs(sd / target - 1) < 5 / std::sqrt(2.0 * n));  // SE of a sample std ≈ σ/√(2n)
    }
  }
  // Same seed, same δ; σ = 0 does not touch the generator.
  ptp::generator g1{.seed = 4}, g2{.seed = 4};
  CHECK(bit_equal(ptp::embedding::gaussian{}.sample(e, mask, g1), ptp::embedding::gaussian{}.sample(e, mask, g2)));
  ptp::generator g0{.seed = 4};
  CHECK(max_abs(ptp::embedding::gaussian{.sigma = 0}.sample(e, mask, g0)) == 0.0);
  CHECK(g0.offset == 0);
}

TEMPLATE_LIST_TEST_CASE("uniform and R3F noise: bounded by epsilon, variance eps^2/3", "[core][stages]", all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  const std::size_t B = 8, L = 16, d = 32;
  const T3 e = uniform_tensor<T3>({B, L, d}, 6);
  const T2 mask = length_mask<T2>(L, {16, 16, 8, 8, 4, 4, 1, 0});
  const double eps = 0.2;
  ptp::generator gen{.seed = 31};
  const T3 delta = ptp::embedding::uniform{.epsilon = eps}.sample(e, mask, gen);
  double ss = 0;
  std::size_t n = 0;
  for (std::size_t k = 0; k < B * L; ++k)
    for (std::size_t j = 0; j < d; ++j) {
      const double x = raw(delta)[k * d + j];
      if (raw(mask)[k] == 0) {
        CHECK(x == 0.0);
        continue;
      }
      REQUIRE(std::abs(x) <= static_cast<S>(eps));
      ss += x * x;
      ++n;
    }
  const double var = eps * eps / 3;
  CHECK(std::abs(ss / n - var) < 5 * var * std::sqrt(0.8 / n));
  CHECK(max_abs(delta) > 0.99 * eps);
}

TEMPLATE_LIST_TEST_CASE("NEFTune uses the real length, not the padded length", "[core][stages]", all_backends) {
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  const std::size_t B = 32, L = 10, d = 64;
  const double alpha = 5.0;
  std::vector<std::size_t> len(B, 3);  // every example: 3 real tokens padded to 10
  len[1] = 10;                         // … except one full-length example
  len[2] = 0;                          // and one all-padding row
  const T3 e = uniform_tensor<T3>({B, L, d}, 8);
  const T2 mask = length_mask<T2>(L, len);
  ptp::generator gen{.seed = 12};
  const T3 delta = ptp::embedding::neftune{.alpha = alpha}.sample(e, mask, gen);
  const double m3 = alpha / std::sqrt(3.0 * d), m10 = alpha / std::sqrt(10.0 * d);
  double ss = 0, mx = 0;
  std::size_t n = 0;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t j = 0; j < d; ++j) {
        const double x = raw(delta)[(b * L + l) * d + j];
        if (l >= len[b]) {
          REQUIRE(x == 0.0);
        } else if (len[b] == 3) {
          REQUIRE(std::abs(x) <= m3 * (1 + 1e-6));
          mx = std::max(mx, std::abs(x));
          ss += x * x;
          ++n;
        } else {
          REQUIRE(std::abs(x) <= m10 * (1 + 1e-6));
        }
      }
  const double sd = std::sqrt(ss / n), target = m3 / std::sqrt(3.0);
  CHECK(std::abs(sd / target - 1) < 5 * 0.5 * std::sqrt(0.8 / n));  // SE of a uniform sample std
  CHECK(mx > 0.99 * m3);  // the padded length (10) would cap it at m10 ≈ 0.55·m3
  CHECK(max_abs(ptp::embedding::neftune{.alpha = 0}.sample(e, mask, gen)) == 0.0);
}
