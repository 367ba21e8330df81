// The gradient-based stages against closed forms (FGM/PGD on a linear loss) and against an
// independent re-implementation of their update rules (PGD, FreeLB, SMART on the tanh model).
#include <cmath>
#include <tuple>
#include <type_traits>
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

// ---- SMART, from mt-dnn's formulas ---------------------------------------------------------

namespace {

// mt-dnn loss.py `stable_kl(logit, target, reduce=False)`, restated: p = softmax(z),
// y = softmax(target), r(x) = −log(1/(x + 1e-6) − 1 + 1e-6) detached,
// value 2 Σ_b Σ_j p (r(p) − r(y)), summed over the batch. Its gradient in z is taken here by
// central differences with r held at the base point (the detach), not by a closed form.
template <class T2>
std::vector<double> stable_kl_sum_grad(const T2& z, const T2& target) {
  const auto s = ptp::ops::shape(z);
  const std::size_t B = s[0], C = s[1];
  const auto softmax_row = [&](const std::vector<double>& v) {
    double m = -1e300, t = 0;
    for (double x : v) m = std::max(m, x);
    std::vector<double> out(v.size());
    for (std::size_t j = 0; j < v.size(); ++j) t += out[j] = std::exp(v[j] - m);
    for (auto& x : out) x /= t;
    return out;
  };
  const auto r = [](double x) { return -std::log(1.0 / (x + 1e-6) - 1.0 + 1e-6); };
  std::vector<double> grad(B * C);
  for (std::size_t b = 0; b < B; ++b) {
    std::vector<double> zb(C), yb(C);
    for (std::size_t j = 0; j < C; ++j) zb[j] = raw(z)[b * C + j], yb[j] = raw(target)[b * C + j];
    const auto p0 = softmax_row(zb), y = softmax_row(yb);
    std::vector<double> c(C);
    for (std::size_t j = 0; j < C; ++j) c[j] = r(p0[j]) - r(y[j]);  // detached
    const auto value = [&](const std::vector<double>& v) {
      const auto p = softmax_row(v);
      double t = 0;
      for (std::size_t j = 0; j < C; ++j) t += 2 * p[j] * c[j];
      return t;
    };
    const double h = 1e-6;
    for (std::size_t j = 0; j < C; ++j) {
      auto up = zb, dn = zb;
      up[j] += h, dn[j] -= h;
      grad[b * C + j] = (value(up) - value(dn)) / (2 * h);  // summed over the batch: no 1/B
    }
  }
  return grad;
}

// One SMART δ by mt-dnn SmartPerturbation.forward (perturbation.py): δ0 = noise·mask; K times
// g = ∂D/∂δ, δ ← (δ + η g) / (max_j |δ + η g| per token + 1e-6); dz(zq, zc) gives ∂D/∂zq.
template <class Pb, class Dz>
std::vector<double> smart_delta_by_rule(Pb& pb, ptp::generator gen, double sigma, double eta, int K, Dz&& dz) {
  using T3 = std::remove_cvref_t<decltype(pb.e)>;
  using T2 = std::remove_cvref_t<decltype(pb.mask)>;
  const std::size_t d = pb.d;
  std::vector<double> delta(numel(pb.e));
  gen.fill_normal(std::span{delta}, 0.0, sigma);
  for (std::size_t k = 0; k < delta.size(); ++k)
    if (raw(pb.mask)[k / d] == 0) delta[k] = 0;
  const T2 zc = pb.f.logits(pb.e);
  for (int s = 0; s < K; ++s) {
    const T3 x = plus(pb.e, delta);
    const T2 zq = pb.f.logits(x);
    const std::vector<double> gz = dz(zq, zc);
    T2 dzq = ptp::ops::zeros_like(zq);
    for (std::size_t i = 0; i < gz.size(); ++i) raw(dzq)[i] = gz[i];
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
  return delta;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("SMART: δ by mt-dnn's rule (stable_kl summed over the batch); θ-gradient = SymKlCriterion's",
                        "[core][adversarial][smart]", double_backends) {
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  problem<TestType> pb;
  const double lam = 0.8, eta = 0.05, sigma = 0.02;
  const int K = 2;
  const ptp::generator gen0{.seed = 5};
  const std::size_t B = pb.len.size();

  const auto run = [&](const ptp::embedding::smart& stage, const ptp::objective::consistency& obj) {
    pb.model.prompt.zero_grad();
    recording<decltype(pb.f), T3> rec(pb.f);
    ptp::generator gen = gen0;
    const auto [loss, passes] = ptp::regularizer(stage, obj).loss_and_passes(rec, pb.e, pb.mask, gen);
    CHECK(passes == std::size_t(K) + 2);
    const auto zs = rec.inputs(decltype(rec)::kind::logits);
    REQUIRE(zs.size() == std::size_t(K) + 2);  // clean, K ascents, final
    return std::tuple{loss, ptp::ops::copy(zs.back()), to_vector(pb.model.prompt.gradient())};
  };
  const auto check_delta = [&](const T3& x, const std::vector<double>& want, double margin) {
    double moved = 0;
    for (std::size_t i = 0; i < numel(x); ++i) {
      CHECK(raw(x)[i] - raw(pb.e)[i] == Approx(want[i]).margin(margin));
      moved = std::max(moved, std::abs(want[i]));
    }
    CHECK(moved > 0.5);  // the per-token normalisation makes δ of order 1
  };

  // θ-gradient by central differences of a function whose KL targets are frozen at θ0:
  //   mt-dnn SymKlCriterion(input = clean, target = adv) = KL(q0 ‖ p(θ)) + KL(p0 ‖ q(θ)),
  //   each F.kl_div(log_softmax(side), softmax(other.detach()), batchmean).
  const auto fd_grad = [&](const T3& x, auto&& objective) {
    auto& th = pb.model.prompt.parameters();
    std::vector<double> out(numel(th));
    const double h = 1e-6;
    for (std::size_t i = 0; i < numel(th); ++i) {
      const double t0 = raw(th)[i];
      raw(th)[i] = t0 + h;
      const double up = objective(x);
      raw(th)[i] = t0 - h;
      const double dn = objective(x);
      raw(th)[i] = t0;
      out[i] = (up - dn) / (2 * h);
    }
    return out;
  };
  const auto log_softmax = [](const T2& z, std::size_t b) {
    const std::size_t C = ptp::ops::shape(z)[1];
    double m = -1e300, t = 0;
    for (std::size_t j = 0; j < C; ++j) m = std::max(m, double(raw(z)[b * C + j]));
    for (std::size_t j = 0; j < C; ++j) t += std::exp(raw(z)[b * C + j] - m);
    std::vector<double> out(C);
    for (std::size_t j = 0; j < C; ++j) out[j] = raw(z)[b * C + j] - m - std::log(t);
    return out;
  };
  // Σ_b KL(softmax(target_b) ‖ softmax(z_b)) / B, target frozen
  const auto kl_to = [&](const T2& frozen, const T2& z) {
    double t = 0;
    for (std::size_t b = 0; b < B; ++b) {
      const auto lf = log_softmax(frozen, b), lz = log_softmax(z, b);
      for (std::size_t j = 0; j < lf.size(); ++j) t += std::exp(lf[j]) * (lf[j] - lz[j]);
    }
    return t / double(B);
  };

  SECTION("defaults: mt-dnn's ascent and SymKlCriterion's detached-target gradient") {
    const auto want = smart_delta_by_rule(pb, gen0, sigma, eta, K, [](const T2& zq, const T2& zc) { return stable_kl_sum_grad(zq, zc); });
    const auto [loss, x, grad] = run(ptp::embedding::smart{.steps = K, .step_size = eta, .sigma = sigma},
                                     ptp::objective::consistency{.weight = lam});
    check_delta(x, want, 1e-7);  // finite-difference ascent gradient in the rule
    const T2 p0 = pb.model.logits(pb.e), q0 = pb.model.logits(x);
    const auto detached = [&](const T3& xx) {
      const T2 a = pb.model.logits(pb.e), b = pb.model.logits(xx);
      return ptp::losses::cross_entropy(a, pb.y) + lam * (kl_to(q0, a) + kl_to(p0, b));
    };
    CHECK(loss == Approx(detached(x)).epsilon(1e-12));  // same value as the full symKL
    const auto want_grad = fd_grad(x, detached);
    for (std::size_t i = 0; i < grad.size(); ++i) CHECK(grad[i] == Approx(want_grad[i]).margin(1e-8));
    CHECK(max_abs(pb.model.prompt.gradient()) > 1e-3);
  }
  SECTION("options: symKL ascent averaged over the batch, full-gradient final term (ptp ≤ c3d0c11)") {
    const auto want = smart_delta_by_rule(pb, gen0, sigma, eta, K, [](const T2& zq, const T2& zc) {
      T2 dzq;
      (void)ptp::losses::sym_kl(zq, zc, &dzq, static_cast<T2*>(nullptr));
      return to_vector(dzq);
    });
    using A = ptp::embedding::smart::ascent_loss;
    const auto [loss, x, grad] =
        run(ptp::embedding::smart{.steps = K, .step_size = eta, .sigma = sigma, .ascent = A::sym_kl, .ascent_mean = true},
            ptp::objective::consistency{.weight = lam, .gradient = ptp::losses::kl_gradient::full});
    check_delta(x, want, 1e-12);
    const auto full = [&](const T3& xx) {
      const T2 a = pb.model.logits(pb.e), b = pb.model.logits(xx);
      return ptp::losses::cross_entropy(a, pb.y) + lam * ptp::losses::sym_kl(a, b);
    };
    CHECK(loss == Approx(full(x)).epsilon(1e-12));
    const auto want_grad = fd_grad(x, full);
    for (std::size_t i = 0; i < grad.size(); ++i) CHECK(grad[i] == Approx(want_grad[i]).margin(1e-8));
  }
}

TEMPLATE_LIST_TEST_CASE("SMART final term: near p = q the full symKL gradient is 2× mt-dnn's", "[core][adversarial][smart]",
                        double_backends) {
  using T2 = typename TestType::T2;
  const T2 zc = uniform_tensor<T2>({4, 3}, 8), dz = uniform_tensor<T2>({4, 3}, 9, -1e-4, 1e-4);
  T2 zq = ptp::ops::copy(zc);
  for (std::size_t i = 0; i < 12; ++i) raw(zq)[i] += raw(dz)[i];
  T2 gf, gd;
  const double vf = ptp::losses::sym_kl(zc, zq, &gf, static_cast<T2*>(nullptr));
  const double vd = ptp::losses::sym_kl(zc, zq, &gd, static_cast<T2*>(nullptr), ptp::losses::kl_gradient::detached_targets);
  CHECK(vf == vd);
  double nf = 0, nd = 0;
  for (std::size_t i = 0; i < 12; ++i) nf += raw(gf)[i] * raw(gf)[i], nd += raw(gd)[i] * raw(gd)[i];
  CHECK(std::sqrt(nf / nd) == Approx(2.0).epsilon(1e-3));
}

TEMPLATE_LIST_TEST_CASE("PGD L∞ random start is U(−ε, ε) on masked positions (docs/algorithms.md §3)", "[core][adversarial]",
                        all_backends) {
  using S = typename TestType::value_type;
  using T3 = typename TestType::T3;
  using T2 = typename TestType::T2;
  const std::size_t L = 6, d = 4;
  const std::vector<std::size_t> len{6, 3};
  const T3 e = zeros<T3>({2, L, d});
  const T2 mask = length_mask<T2>(L, len);
  linear_loss<T3> f{uniform_tensor<T3>({2, L, d}, 3)};
  recording<linear_loss<T3>, T3> rec(f);
  const double eps = 0.3;
  const ptp::generator gen0{.seed = 41};
  ptp::generator gen = gen0;
  // K = 0 returns δ0 itself; init_magnitude (0.05) must not be its scale
  (void)ptp::regularizer(ptp::embedding::pgd{.steps = 0, .epsilon = eps, .init = ptp::embedding::init_kind::random,
                                             .init_magnitude = 0.05, .norm = ptp::norm_type::linf})
      .loss(rec, e, mask, gen);
  const T3 x = last_perturbed_input(rec);
  ptp::generator g2 = gen0;
  std::vector<S> u(numel(e));
  g2.fill_uniform(std::span{u}, -eps, eps);
  double top = 0;
  for (std::size_t k = 0; k < u.size(); ++k) {
    const S want = raw(mask)[k / d] != 0 ? u[k] : S(0);
    CHECK(raw(x)[k] == want);
    top = std::max(top, std::abs(double(raw(x)[k])));
  }
  CHECK(top > 0.25);  // the draws reach towards ε = 0.3, far beyond 0.05
  CHECK(gen.offset == g2.offset);
}
