// Fidelity of the LibTorch path to the upstream algorithms (issue 18):
//  * every evaluation path runs in eval mode (dropout off);
//  * an input that requires grad (trainable word embeddings, a prompt joined in front) works
//    for every multi-pass stage, and θ's and the upstream parameters' gradients equal plain
//    autograd on the same composite loss (B2), with the prompt, the input or both perturbed
//    (B9);
//  * FreeLB's K passes share one dropout mask (run_glue_freelb.py `dp_masks`, B7).
#include <functional>
#include <string>
#include <vector>

#include "torch_test_support.hpp"

using ptp_test::rel_err;

namespace {

constexpr std::int64_t B = 4, L = 6, d = 8, H = 10, C = 3, V = 12, P = 2;

// A small classifier over joined embeddings: optional dropout → tanh layer → masked mean → head.
struct net_impl : torch::nn::Module {
  torch::nn::Linear layer{nullptr}, head{nullptr};
  torch::nn::Dropout dropout{nullptr};
  explicit net_impl(double p) {
    layer = register_module("layer", torch::nn::Linear(d, H));
    head = register_module("head", torch::nn::Linear(H, C));
    dropout = register_module("dropout", torch::nn::Dropout(p));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& m) {
    auto h = at::tanh(layer->forward(dropout->forward(x)));
    return head->forward((h * m.unsqueeze(-1)).sum(1) / m.sum(1, true));
  }
};
struct net : torch::nn::ModuleHolder<net_impl> {
  using torch::nn::ModuleHolder<net_impl>::ModuleHolder;
};

struct fixture {
  net model{nullptr};
  torch::nn::Embedding words{nullptr};  // trainable word embeddings (upstream of e)
  ptp::torch::soft_prompt prompt{nullptr};
  at::Tensor ids, att, pm, labels;
  std::vector<at::Tensor> inputs;  // every input the forward saw

  explicit fixture(double dropout = 0.0) {
    torch::manual_seed(3);
    at::set_default_dtype(caffe2::TypeMeta::Make<double>());
    model = net(dropout);
    words = torch::nn::Embedding(V, d);
    ptp::generator g{.seed = 9};
    prompt = ptp::torch::soft_prompt(ptp::torch::soft_prompt_options{.length = P, .width = d, .init_std = 0.5}, g);
    prompt->to(at::kDouble);
    at::set_default_dtype(caffe2::TypeMeta::Make<float>());
    ids = at::randint(V, {B, L}, at::kLong);
    att = at::ones({B, L}, at::kDouble);
    att.index_put_({1, at::indexing::Slice(4, at::indexing::None)}, 0);
    pm = att.clone();
    pm.select(1, 0).zero_();
    labels = at::tensor(std::vector<std::int64_t>{0, 2, 1, 2}, at::kLong);
  }
  std::vector<at::Tensor> trained() {
    std::vector<at::Tensor> p{prompt->weight, words->weight};
    for (auto& t : model->parameters()) p.push_back(t);
    return p;
  }
  void zero_grad() {
    for (auto& t : trained()) t.mutable_grad() = at::zeros_like(t);
  }
  // The joined input [prompt; words(ids)]: it requires grad through θ and the embeddings.
  at::Tensor joined() { return prompt->join(words->forward(ids)); }
  at::Tensor joined_att() { return prompt->join_mask(att); }
  ptp::torch::autograd_model f(ptp::torch::autograd_model_options o = {}) {
    return ptp::torch::autograd_model(
        [this](const at::Tensor& x, const at::Tensor& m) {
          inputs.push_back(x.detach().clone());
          return model->forward(x, m);
        },
        model->parameters(), joined_att(), labels, std::move(o));
  }
  std::vector<at::Tensor> grads() {
    std::vector<at::Tensor> out;
    for (auto& t : trained()) out.push_back(t.grad().clone());
    return out;
  }
};

// Plain-autograd gradients of `loss(e)` (e = the joined input, rebuilt with its graph).
std::vector<at::Tensor> autograd_grads(fixture& fx, const std::function<at::Tensor(const at::Tensor&)>& loss) {
  fx.zero_grad();
  loss(fx.joined()).backward();
  return fx.grads();
}

void check_same(const std::vector<at::Tensor>& got, const std::vector<at::Tensor>& want, const char* what) {
  const char* names[] = {"prompt θ", "word embeddings", "layer.weight", "layer.bias", "head.weight", "head.bias"};
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(what << ": " << names[i]);
    CHECK(want[i].abs().max().item<double>() > 0);
    CHECK(rel_err(got[i], want[i]) < 1e-10);
  }
}

at::Tensor ce(fixture& fx, const at::Tensor& x) { return at::cross_entropy_loss(fx.model->forward(x, fx.joined_att()), fx.labels); }

}  // namespace

TEST_CASE("autograd_model: every evaluation path runs in eval mode", "[torch][model][eval]") {
  fixture fx(0.5);
  fx.model->train();
  const auto e = fx.joined().detach();
  const auto tm = ptp::torch::target_mask(fx.pm, P, ptp::perturbation_target::input);
  // default options: no module is known, so evaluation refuses rather than keep dropout on
  auto blind = fx.f();
  CHECK_THROWS_AS(blind.evaluate(e), std::logic_error);
  CHECK_THROWS_AS(blind.predict(e), std::logic_error);
  ptp::generator gen{.seed = 1};
  CHECK_THROWS_AS(ptp::regularizer(ptp::embedding::gaussian{}).loss(blind, e, tm, gen, ptp::mode::eval), std::logic_error);
  // with the modules: dropout off, deterministic, equal to the eval-mode forward, mode restored
  auto f = fx.f({.modules = {fx.model.ptr()}});
  const double a = f.evaluate(e), b = f.evaluate(e);
  const double c = ptp::regularizer(ptp::embedding::gaussian{}).loss(f, e, tm, gen, ptp::mode::eval);
  CHECK(fx.model->is_training());
  fx.model->eval();
  const double want = ce(fx, e).item<double>();
  fx.model->train();
  CHECK(a == want);
  CHECK(b == want);
  CHECK(c == want);
  CHECK(at::equal(f.predict(e), f.predict(e)));
  // the training-mode forward does draw dropout: it differs from the evaluation
  CHECK(std::abs(ce(fx, e).item<double>() - want) > 1e-6);
  // a forward without dropout may say so
  auto free = fx.f({.mode_free_forward = true});
  CHECK(std::isfinite(free.evaluate(e)));
}

TEST_CASE("autograd_model with an input that requires grad: every multi-pass stage, gradients = plain autograd",
          "[torch][model][upstream]") {
  using ptp::perturbation_target;
  for (auto target : {perturbation_target::input, perturbation_target::prompt, perturbation_target::both}) {
    fixture fx;
    const auto tm = ptp::torch::target_mask(fx.pm, P, target);
    const char* tname = target == perturbation_target::input ? "input" : target == perturbation_target::prompt ? "prompt" : "both";
    INFO("target " << tname);
    // δ only where the target allows it
    const auto check_target = [&](const at::Tensor& delta) {
      const auto on_prompt = delta.slice(1, 0, P).abs().max().item<double>();
      const auto on_input = delta.slice(1, P).abs().max().item<double>();
      CHECK((on_prompt > 0) == (target != perturbation_target::input));
      CHECK((on_input > 0) == (target != perturbation_target::prompt));
      CHECK((delta * (1 - tm).unsqueeze(-1)).abs().max().item<double>() == 0);
    };
    const auto run = [&](const auto& reg) {
      fx.zero_grad();
      fx.inputs.clear();
      auto f = fx.f();
      ptp::generator gen{.seed = 21};
      const auto e = fx.joined();
      REQUIRE(e.requires_grad());
      const double loss = reg.loss(f, e, tm, gen);
      return std::pair{loss, fx.grads()};
    };
    DYNAMIC_SECTION("PGD (K = 3), clean + λ·perturbed, target " << tname) {
      const double lam = 0.7;
      const auto [loss, got] = run(ptp::regularizer(ptp::embedding::pgd{.steps = 3, .step_size = 0.3, .epsilon = 0.5},
                                                    ptp::objective::clean_plus_perturbed{.weight = lam}));
      REQUIRE(fx.inputs.size() == 4);  // clean, 2 ascents, perturbed
      const auto delta = fx.inputs.back() - fx.inputs.front();
      check_target(delta);
      const auto want = autograd_grads(fx, [&](const at::Tensor& e) { return ce(fx, e) + lam * ce(fx, e + delta); });
      check_same(got, want, "PGD");
      CHECK(loss == Approx((ce(fx, fx.joined()) + lam * ce(fx, fx.joined() + delta)).item<double>()).epsilon(1e-12));
    }
    DYNAMIC_SECTION("FreeLB (K = 3): θ-gradient = clean + the average of the K passes', target " << tname) {
      const auto [loss, got] =
          run(ptp::regularizer(ptp::embedding::freelb{.steps = 3, .step_size = 0.2, .init_magnitude = 0.3}));
      REQUIRE(fx.inputs.size() == 4);  // clean + 3 passes
      std::vector<at::Tensor> deltas;
      for (int k = 1; k <= 3; ++k) deltas.push_back(fx.inputs[k] - fx.inputs[0]);
      for (auto& dl : deltas) check_target(dl);
      const auto want = autograd_grads(fx, [&](const at::Tensor& e) {
        auto l = ce(fx, e);
        for (auto& dl : deltas) l = l + ce(fx, e + dl) / 3.0;
        return l;
      });
      check_same(got, want, "FreeLB");
      (void)loss;
    }
    DYNAMIC_SECTION("SMART (K = 2): CE + λ·SymKlCriterion (each KL's target detached), as mt-dnn, target " << tname) {
      const double lam = 1.3;
      const auto [loss, got] = run(ptp::regularizer(ptp::embedding::smart{.steps = 2, .step_size = 1e-2, .sigma = 1e-2},
                                                    ptp::objective::consistency{.weight = lam}));
      REQUIRE(fx.inputs.size() == 4);  // clean, 2 ascents, final
      const auto delta = fx.inputs.back() - fx.inputs.front();
      check_target(delta);
      const auto want = autograd_grads(fx, [&](const at::Tensor& e) {
        const auto zc = fx.model->forward(e, fx.joined_att()), zq = fx.model->forward(e + delta, fx.joined_att());
        // mt-dnn loss.py SymKlCriterion(input = zc, target = zq), batchmean
        const auto kl = at::kl_div(at::log_softmax(zc, -1), at::softmax(zq.detach(), -1), at::Reduction::Sum) +
                        at::kl_div(at::log_softmax(zq, -1), at::softmax(zc.detach(), -1), at::Reduction::Sum);
        return at::cross_entropy_loss(zc, fx.labels) + lam * kl / double(B);
      });
      check_same(got, want, "SMART");
      (void)loss;
    }
    DYNAMIC_SECTION("R3F: CE + λ·symKL through both sides, as fairseq, target " << tname) {
      const double lam = 0.9;
      const auto [loss, got] = run(ptp::regularizer(ptp::embedding::r3f{.epsilon = 0.1}, ptp::objective::consistency{.weight = lam}));
      REQUIRE(fx.inputs.size() == 2);
      const auto delta = fx.inputs.back() - fx.inputs.front();
      check_target(delta);
      const auto want = autograd_grads(fx, [&](const at::Tensor& e) {
        const auto zc = fx.model->forward(e, fx.joined_att()), zq = fx.model->forward(e + delta, fx.joined_att());
        // fairseq sentence_prediction_r3f.py _get_symm_kl: no detach, batchmean
        const auto lp = at::log_softmax(zc, -1), lq = at::log_softmax(zq, -1);
        const auto kl = ((lp.exp() - lq.exp()) * (lp - lq)).sum() / double(B);
        return at::cross_entropy_loss(zc, fx.labels) + lam * kl;
      });
      check_same(got, want, "R3F");
      (void)loss;
    }
    DYNAMIC_SECTION("PTP-RN (Gaussian) with its clean term, target " << tname) {
      const auto [loss, got] = run(ptp::regularizer(ptp::embedding::gaussian{.sigma = 0.1}));
      REQUIRE(fx.inputs.size() == 2);
      const auto delta = fx.inputs.back() - fx.inputs.front();
      check_target(delta);
      const auto want = autograd_grads(fx, [&](const at::Tensor& e) { return ce(fx, e) + ce(fx, e + delta); });
      check_same(got, want, "Gaussian");
      (void)loss;
    }
  }
}

TEST_CASE("FreeLB: the K passes share one dropout mask (dp_masks)", "[torch][freelb][dropout]") {
  for (const bool shared : {true, false}) {
    INFO((shared ? "shared" : "fresh masks"));
    fixture fx(0.4);
    fx.model->train();
    std::vector<at::Tensor> logits;
    auto f = ptp::torch::autograd_model(
        [&](const at::Tensor& x, const at::Tensor& m) {
          auto z = fx.model->forward(x, m);
          logits.push_back(z.detach().clone());
          return z;
        },
        fx.model->parameters(), fx.joined_att(), fx.labels, {.modules = {fx.model.ptr()}});
    ptp::generator gen{.seed = 5};
    // α = 0: δ stays at δ0, so the K passes differ only by their dropout draws
    const auto reg = ptp::regularizer(ptp::embedding::freelb{.steps = 4, .step_size = 0.0, .init_magnitude = 0.3,
                                                             .shared_dropout = shared},
                                      ptp::objective::perturbed_only{});
    (void)reg.loss(f, fx.joined().detach(), ptp::torch::target_mask(fx.pm, P, ptp::perturbation_target::input), gen);
    REQUIRE(logits.size() == 4);
    for (int k = 1; k < 4; ++k) CHECK(at::equal(logits[k], logits[0]) == shared);
    // after the step the generator moves on: the next draw is a new mask
    const auto after = fx.model->forward(fx.joined().detach(), fx.joined_att()).detach();
    CHECK_FALSE(at::equal(after, logits[0]));
  }
}
