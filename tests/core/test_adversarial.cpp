// The gradient-based stages against closed forms (FGM/PGD on a linear loss) and against an
// independent re-implementation of their update rules (PGD, FreeLB, SMART on the tanh model).
#include <cmath>
#include <vector>

#include "catch.hpp"
#include "test_models.hpp"

using namespace ptp_test;

namespace {

/// The input of the last perturbed evaluation (the one that adds λ·∇_θ and asks no ∇_e).
template <class Rec>
auto last_perturbed_input(const Rec& rec) {
  for (auto it = rec.calls.rbegin(); it != rec.calls.rend(); ++it)
    if (it->k == Rec::kind::with_gradient && !it->grad_e) return ptp::ops::copy(it->x);
  FAIL("no perturbed evaluation recorded");
  return ptp::ops::copy(rec.calls.front().x);
}

/// Per-example masked copy of G as doubles, and its per-example L2 norms.
template <class T3, class T2>
std::vector<double> masked(const T3& G, const T2& mask, std::size_t L, std::size_t d) {
  std::vector<double> out = to_vector(G);
  for (std::size_t k = 0; k < out.size(); ++k)
    if (raw(mask)[k / d] == 0) out[k] = 0;
  (void)L;
  return out;
}

std::vector<double> example_norms(const std::vector<double>& v, std::size_t B, bool l2) {
  const std::size_t n = v.size() / B;
  std::vector<double> out(B, 0.0);
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t i = 0; i < n; ++i)
      out[b] = l2 ? out[b] + v[b * n + i] * v[b * n + i] : std::max(out[b], std::abs(v[b * n + i]));
    if (l2) out[b] = std::sqrt(out[b]);
  }
  return out;
}

double sgn(double x) { return double((x > 0) - (x < 0)); }

}  // namespace

// ---- closed forms on L(e) = Σ G·e --------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("FGM and PGD on a linear loss reach the closed-form delta", "[core][adversarial]",
                        all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  using namespace ptp::embedding;
  const std::size_t L = 5, d = 4;
  const std::vector<std::size_t> len{5, 2, 0, 4};
  const std::size_t B = len.size(), n = L * d;
  T3 G = uniform_tensor<T3>({B, L, d}, 51);
  for (std::size_t i = 0; i < n; ++i) raw(G)[3 * n + i] = 0;  // example 3: zero gradient
  const T3 e = zeros<T3>({B, L, d});                          // so e + δ = δ exactly
  const T2 mask = length_mask<T2>(L, len);
  const auto gm = masked(G, mask, L, d);
  const auto gn = example_norms(gm, B, true);
  const double eps = 0.7;
  const double tol = rel_tol<S>;

  auto delta_of = [&](const auto& stage, std::size_t* passes = nullptr) {
    linear_loss<T3> f{ptp::ops::copy(G)};
    recording<linear_loss<T3>, T3> rec(f);
    ptp::generator gen{.seed = 1};
    const auto reg = ptp::regularizer(stage);
    const auto [loss, p] = reg.loss_and_passes(rec, e, mask, gen);
    if (passes) *passes = p;
    T3 x = last_perturbed_input(rec);
    REQUIRE(ptp::ops::all_finite(x));
    CHECK(loss == Approx(ptp::ops::dot(G, x)).epsilon(tol));  // L(e) = 0, L(e + δ) = G·δ
    return x;
  };
  auto check_l2 = [&](const T3& x, double radius) {
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t i = 0; i < n; ++i) {
        const double want = gn[b] > 0 ? radius * gm[b * n + i] / gn[b] : 0.0;
        CHECK(raw(x)[b * n + i] == Approx(want).epsilon(tol).margin(tol * radius));
      }
    const auto xn = ptp::ops::norms(x, ptp::norm_type::l2, ptp::granularity::example);
    for (std::size_t b = 0; b < B; ++b) CHECK(xn[b] == Approx(gn[b] > 0 ? radius : 0.0).epsilon(tol));
  };
  auto check_sign = [&](const T3& x, double radius) {
    for (std::size_t k = 0; k < B * n; ++k) CHECK(raw(x)[k] == static_cast<S>(radius * sgn(gm[k])));
  };

  SECTION("FGM (L2) and FGSM (L-inf)") {
    std::size_t p = 0;
    check_l2(delta_of(fgm{.epsilon = eps}, &p), eps);
    CHECK(p == 2);
    check_sign(delta_of(fgm{.epsilon = eps, .norm = ptp::norm_type::linf}), eps);
  }
  SECTION("PGD-L2: step size >= epsilon, any K >= 1 → epsilon·g/‖g‖") {
    for (int K : {1, 2, 5})
      for (double a : {eps, 2.5 * eps}) {
        INFO("K = " << K << ", alpha = " << a);
        std::size_t p = 0;
        check_l2(delta_of(pgd{.steps = K, .step_size = a, .epsilon = eps}, &p), eps);
        CHECK(p == std::size_t(K) + 1);  // clean (its gradient is step 0's) + K − 1 ascents + perturbed
      }
  }
  SECTION("PGD-L-inf → epsilon·sign(g)") {
    for (int K : {1, 3}) check_sign(delta_of(pgd{.steps = K, .step_size = eps, .epsilon = eps, .norm = ptp::norm_type::linf}), eps);
    // a random start inside the box does not change the fixed point when α ≥ 2ε
    // (the zero-gradient example 3 keeps its random start, which lies in the box)
    std::size_t p = 0;
    const T3 x = delta_of(pgd{.steps = 2, .step_size = 2 * eps, .epsilon = eps, .init = init_kind::random,
                              .init_magnitude = eps, .norm = ptp::norm_type::linf},
                          &p);
    for (std::size_t k = 0; k < B * n; ++k) {
      if (k / n != 3) CHECK(raw(x)[k] == static_cast<S>(eps * sgn(gm[k])));
      else CHECK(std::abs(raw(x)[k]) <= static_cast<S>(eps));
    }
    CHECK(max_abs(x) > 0);
    CHECK(p == 4);  // clean + 2 ascents + perturbed
  }
  SECTION("epsilon = 0 is unbounded: K steps of alpha give ‖delta‖ = K·alpha") {
    const double a = 0.15;
    for (int K : {1, 4}) {
      check_l2(delta_of(pgd{.steps = K, .step_size = a, .epsilon = 0.0}), K * a);
      check_sign(delta_of(pgd{.steps = K, .step_size = a, .epsilon = 0.0, .norm = ptp::norm_type::linf}), K * a);
    }
  }
  SECTION("a zero gradient gives delta = 0 and no NaN") {
    G = zeros<T3>({B, L, d});
    for (const T3& x : {delta_of(fgm{.epsilon = eps}), delta_of(pgd{.steps = 3, .step_size = eps, .epsilon = eps}),
                        delta_of(pgd{.steps = 3, .epsilon = 0.0, .norm = ptp::norm_type::linf}),
                        delta_of(freelb{.steps = 3, .init = init_kind::zero})}) {
      CHECK(ptp::ops::all_finite(x));
      CHECK(max_abs(x) == 0.0);
    }
  }
}

// ---- PGD and FreeLB on the tanh model, against the update rule re-implemented here ------

namespace {

// ∇_e L(x) through the model (θ-gradient weight w), masked, as doubles.
template <class F, class T3, class T2>
std::vector<double> masked_grad(F& f, const T3& x, const T2& mask, double w, double* loss = nullptr) {
  T3 g = ptp::ops::zeros_like(x);
  const double l = f.evaluate_with_gradient(x, &g, w);
  if (loss) *loss = l;
  const std::size_t d = ptp::ops::shape(x)[2];
  auto v = to_vector(g);
  for (std::size_t k = 0; k < v.size(); ++k)
    if (raw(mask)[k / d] == 0) v[k] = 0;
  return v;
}

// δ ← Π_ε(δ + α·dir(g)) per example, written with plain loops.
void ascend(std::vector<double>& delta, const std::vector<double>& g, std::size_t B, double alpha, const char* rule,
            double eps, bool l2_ball) {
  const std::size_t n = delta.size() / B;
  const std::string r = rule;
  const auto gn2 = example_norms(g, B, true), gni = example_norms(g, B, false);
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t i = 0; i < n; ++i) {
      const double gi = g[b * n + i];
      delta[b * n + i] += r == "sign" ? alpha * sgn(gi)
                          : r == "l2" ? alpha * gi / std::max(gn2[b], 1e-12)
                                      : alpha * gi / std::max(gni[b], 1e-12);
    }
    if (eps <= 0) continue;
    if (l2_ball) {
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) s += delta[b * n + i] * delta[b * n + i];
      s = std::sqrt(s);
      if (s > eps)
        for (std::size_t i = 0; i < n; ++i) delta[b * n + i] *= eps / s;
    } else {
      for (std::size_t i = 0; i < n; ++i) delta[b * n + i] = std::clamp(delta[b * n + i], -eps, eps);
    }
  }
}

template <class T3>
T3 plus(const T3& e, const std::vector<double>& delta) {
  T3 x = ptp::ops::copy(e);
  using S = value_t<T3>;
  for (std::size_t k = 0; k < delta.size(); ++k) raw(x)[k] = raw(e)[k] + static_cast<S>(delta[k]);
  return x;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("PGD on a non-linear model follows its update rule; θ sees clean + λ·perturbed",
                        "[core][adversarial]", all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  problem<TestType> pb;
  const std::size_t B = pb.len.size();
  const double lam = 0.6, eps = 0.3, alpha = 0.12;
  const int K = 4;
  const double tol = std::is_same_v<S, float> ? 2e-5 : 1e-11;

  for (const bool l2 : {true, false}) {
    INFO((l2 ? "L2" : "L-inf"));
    // The rule, re-implemented: zero start, K ascents, the first from the clean gradient.
    pb.model.prompt.zero_grad();
    std::vector<double> delta(numel(pb.e), 0.0);
    std::vector<T3> ascent_points;
    double clean = 0;
    auto g = masked_grad(pb.f, pb.e, pb.mask, 1.0, &clean);
    for (int k = 0; k < K; ++k) {
      if (k > 0) {
        ascent_points.push_back(plus(pb.e, delta));
        g = masked_grad(pb.f, ascent_points.back(), pb.mask, 0.0);
      }
      ascend(delta, g, B, alpha, l2 ? "l2" : "sign", eps, l2);
    }
    const T3 x = plus(pb.e, delta);
    const double pert = pb.f.evaluate_with_gradient(x, nullptr, lam);
    const auto want_grad = to_vector(pb.model.prompt.gradient());

    pb.model.prompt.zero_grad();
    recording<decltype(pb.f), T3> rec(pb.f);
    ptp::generator gen{.seed = 2};
    const auto reg = ptp::regularizer(
        ptp::embedding::pgd{.steps = K, .step_size = alpha, .epsilon = eps, .norm = l2 ? ptp::norm_type::l2 : ptp::norm_type::linf},
        ptp::objective::clean_plus_perturbed{.weight = lam});
    const double loss = reg.loss(rec, pb.e, pb.mask, gen);
    CHECK(gen.offset == 0);  // a zero start draws nothing

    REQUIRE(rec.calls.size() == std::size_t(K) + 1);
    CHECK(rec.calls[0].grad_e);
    CHECK(rec.calls[0].w == 1.0);
    CHECK(bit_equal(rec.calls[0].x, pb.e));
    for (int k = 1; k < K; ++k) {
      CHECK(rec.calls[k].grad_e);
      CHECK(rec.calls[k].w == 0.0);  // ascent passes leave θ alone
      for (std::size_t i = 0; i < numel(x); ++i)
        CHECK(raw(rec.calls[k].x)[i] == Approx(raw(ascent_points[k - 1])[i]).margin(tol));
    }
    CHECK_FALSE(rec.calls[K].grad_e);
    CHECK(rec.calls[K].w == Approx(lam));
    for (std::size_t i = 0; i < numel(x); ++i) CHECK(raw(rec.calls[K].x)[i] == Approx(raw(x)[i]).margin(tol));
    std::vector<double> moved(numel(x));
    for (std::size_t i = 0; i < moved.size(); ++i) moved[i] = double(raw(rec.calls[K].x)[i]) - raw(pb.e)[i];
    const auto dn = example_norms(moved, B, l2);
    for (double v : dn) CHECK(v <= eps * (1 + 1e-5));
    CHECK(loss == Approx(clean + lam * pert).epsilon(10 * tol));
    const auto got = to_vector(pb.model.prompt.gradient());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want_grad[i]).margin(10 * tol));
  }
}

TEMPLATE_LIST_TEST_CASE("FreeLB: θ's gradient is clean + λ·(1/K)·Σ_k ∇θ L(e + δ_k), δ_k by the update rule",
                        "[core][adversarial][freelb]", all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  using namespace ptp::embedding;
  problem<TestType> pb;
  const std::size_t B = pb.len.size(), L = pb.L, d = pb.d;
  const double lam = 0.7, init = 0.4;
  const int K = 3;
  const double tol = std::is_same_v<S, float> ? 2e-5 : 1e-11;

  for (const bool l2 : {true, false})
    for (const bool with_clean : {true, false}) {
      INFO((l2 ? "L2" : "L-inf") << (with_clean ? ", clean + λ·perturbed" : ", perturbed only"));
      const double eps = l2 ? 0.25 : 0.08, alpha = l2 ? 0.2 : 0.05;
      const double pw = with_clean ? lam : 1.0;
      const ptp::generator gen0{.seed = 77, .stream = 1, .offset = 3};

      // --- the rule, re-implemented -------------------------------------------------
      pb.model.prompt.zero_grad();
      double want_loss = 0;
      if (with_clean) want_loss = pb.f.evaluate_with_gradient(pb.e, nullptr, 1.0);
      ptp::generator g2 = gen0;
      std::vector<S> u(numel(pb.e));
      std::vector<double> delta(u.size());
      if (l2) {
        g2.fill_uniform(std::span{u}, -1.0, 1.0);
        for (std::size_t k = 0; k < u.size(); ++k) {
          const std::size_t b = k / (L * d);
          const bool on = raw(pb.mask)[k / d] != 0;
          delta[k] = on ? double(u[k]) * init / std::sqrt(double(pb.len[b]) * d) : 0.0;
        }
      } else {
        g2.fill_uniform(std::span{u}, -init, init);
        for (std::size_t k = 0; k < u.size(); ++k) delta[k] = raw(pb.mask)[k / d] != 0 ? double(u[k]) : 0.0;
      }
      ascend(delta, std::vector<double>(delta.size(), 0.0), B, 0.0, "l2", eps, l2);  // Π_ε of the start
      std::vector<T3> points;
      for (int k = 0; k < K; ++k) {
        points.push_back(plus(pb.e, delta));
        double lk = 0;
        const auto g = masked_grad(pb.f, points.back(), pb.mask, pw / K, &lk);
        want_loss += pw * lk / K;
        if (k + 1 < K) ascend(delta, g, B, alpha, l2 ? "l2" : "linf", eps, l2);
      }
      const auto want_grad = to_vector(pb.model.prompt.gradient());

      // --- the library --------------------------------------------------------------
      pb.model.prompt.zero_grad();
      const freelb stage{.steps = K, .step_size = alpha, .epsilon = eps, .init = init_kind::random,
                         .init_magnitude = init, .norm = l2 ? ptp::norm_type::l2 : ptp::norm_type::linf};
      recording<decltype(pb.f), T3> rec(pb.f);
      ptp::generator gen = gen0;
      double loss = 0;
      std::size_t passes = 0;
      if (with_clean) {
        std::tie(loss, passes) = ptp::regularizer(stage, ptp::objective::clean_plus_perturbed{.weight = lam})
                                     .loss_and_passes(rec, pb.e, pb.mask, gen);
      } else {
        std::tie(loss, passes) =
            ptp::regularizer(stage, ptp::objective::perturbed_only{}).loss_and_passes(rec, pb.e, pb.mask, gen);
      }
      CHECK(passes == std::size_t(K) + (with_clean ? 1 : 0));
      CHECK(gen.offset == g2.offset);
      REQUIRE(rec.calls.size() == passes);
      const std::size_t first = with_clean ? 1 : 0;
      if (with_clean) {
        CHECK(bit_equal(rec.calls[0].x, pb.e));
        CHECK(rec.calls[0].w == 1.0);
      }
      for (int k = 0; k < K; ++k) {
        const auto& c = rec.calls[first + k];
        CHECK(c.w == Approx(pw / K));
        for (std::size_t i = 0; i < numel(pb.e); ++i) CHECK(raw(c.x)[i] == Approx(raw(points[k])[i]).margin(tol));
      }
      CHECK(loss == Approx(want_loss).epsilon(10 * tol));
      const auto got = to_vector(pb.model.prompt.gradient());
      for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want_grad[i]).margin(10 * tol));
    }
}

// ---- SMART --------------------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("SMART: delta by mt-dnn's rule; loss = CE + λ·symKL; θ-gradient = finite differences",
                        "[core][adversarial][smart]", double_backends) {
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  problem<TestType> pb;
  const std::size_t d = pb.d;
  const double lam = 0.8, eta = 0.05, sigma = 0.02;
  const int K = 2;
  const ptp::generator gen0{.seed = 5};

  // δ by the rule: δ0 ~ N(0, σ²)·mask; δ ← (δ + η·∇_δ symKL(p(e+δ) ‖ p(e).detach())) / (‖·‖∞,token + 1e-6)
  ptp::generator g2 = gen0;
  std::vector<double> delta(numel(pb.e));
  g2.fill_normal(std::span{delta}, 0.0, sigma);
  for (std::size_t k = 0; k < delta.size(); ++k)
    if (raw(pb.mask)[k / d] == 0) delta[k] = 0;
  const T2 zc = pb.f.logits(pb.e);
  for (int s = 0; s < K; ++s) {
    const T3 x = plus(pb.e, delta);
    const T2 zq = pb.f.logits(x);
    T2 dzq;
    (void)ptp::losses::sym_kl(zq, zc, &dzq, static_cast<T2*>(nullptr));
    T3 g = ptp::ops::zeros_like(x);
    pb.f.logits_backward(x, dzq, &g, 0.0);
    for (std::size_t tok = 0; tok < delta.size() / d; ++tok) {
      double m = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double gi = raw(pb.mask)[tok] != 0 ? raw(g)[tok * d + j] : 0.0;
        delta[tok * d + j] += eta * gi;
        m = std::max(m, std::abs(delta[tok * d + j]));
      }
      for (std::size_t j = 0; j < d; ++j)
        delta[tok * d + j] = raw(pb.mask)[tok] != 0 ? delta[tok * d + j] / (m + 1e-6) : 0.0;
    }
  }
  const T3 xw = plus(pb.e, delta);

  pb.model.prompt.zero_grad();
  recording<decltype(pb.f), T3> rec(pb.f);
  ptp::generator gen = gen0;
  const auto reg = ptp::regularizer(ptp::embedding::smart{.steps = K, .step_size = eta, .sigma = sigma},
                                    ptp::objective::consistency{.weight = lam});
  const auto [loss, passes] = reg.loss_and_passes(rec, pb.e, pb.mask, gen);
  CHECK(passes == std::size_t(K) + 2);
  const auto zs = rec.inputs(decltype(rec)::kind::logits);
  REQUIRE(zs.size() == std::size_t(K) + 2);  // clean, K ascents, final
  const T3& x = zs.back();
  for (std::size_t i = 0; i < numel(x); ++i) CHECK(raw(x)[i] == Approx(raw(xw)[i]).margin(1e-12));

  // The objective at fixed x (δ is a constant for θ's gradient).
  auto objective = [&] {
    const T2 a = pb.model.logits(pb.e), b = pb.model.logits(x);
    return ptp::losses::cross_entropy(a, pb.y) + lam * ptp::losses::sym_kl(a, b);
  };
  CHECK(loss == Approx(objective()).epsilon(1e-12));
  const auto grad = to_vector(pb.model.prompt.gradient());
  auto& th = pb.model.prompt.parameters();
  const double h = 1e-6;
  for (std::size_t i = 0; i < numel(th); ++i) {
    const double t0 = raw(th)[i];
    raw(th)[i] = t0 + h;
    const double up = objective();
    raw(th)[i] = t0 - h;
    const double dn = objective();
    raw(th)[i] = t0;
    CHECK(grad[i] == Approx((up - dn) / (2 * h)).margin(1e-8));
  }
  CHECK(max_abs(pb.model.prompt.gradient()) > 1e-3);  // non-trivial
}
