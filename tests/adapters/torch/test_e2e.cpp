// End to end: a tiny frozen transformer (2 layers, hidden 32, 2 heads) learns a separable
// synthetic task (does the sequence contain token 2 or token 3?) by training only a prompt
// and the classification head through train_step: every prompt type (soft prompt, P-tuning
// encoder, deep prefix) × every regularizer (none, Gaussian, uniform, NEFTune, FGM, PGD,
// FreeLB, SMART, R3F); 27 runs of 40 steps, about 15 s on one core.
// Bar: the mean training loss of the last 5 steps is below 70% of the first 5 steps', and
// held-out accuracy (256 examples) is ≥ 0.9.
#include <chrono>
#include <functional>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "torch_test_support.hpp"

namespace {

enum class prompt_kind { soft, ptuning, prefix };
const char* name(prompt_kind k) { return k == prompt_kind::soft ? "soft prompt" : k == prompt_kind::ptuning ? "P-tuning" : "deep prefix"; }

constexpr std::int64_t vocab = 24, hidden = 32, len = 10, batch = 32, steps = 40;

struct run_result {
  double first_loss, last_loss, accuracy;
};

template <class Reg>
run_result train(prompt_kind kind, const Reg& reg, at::Device dev = at::kCPU) {
  // Tensors this small gain nothing from intra-op threads, and on a loaded 2-core machine
  // OpenMP's spinning makes them 10× slower.
  at::set_num_threads(1);
  torch::manual_seed(7);
  ptp_test::tiny_transformer net(vocab, hidden, 2, 2, 2, 32);
  net->freeze_backbone();
  net->to(dev);
  ptp::generator gen{.seed = 100};
  ptp::torch::soft_prompt soft{nullptr};
  ptp::torch::ptuning_encoder enc{nullptr};
  ptp::torch::prefix_encoder prefix{nullptr};
  std::vector<at::Tensor> params;
  std::vector<std::shared_ptr<torch::nn::Module>> modules{net.ptr()};
  ptp::torch::forward_function forward;
  switch (kind) {
    case prompt_kind::soft:
      soft = ptp::torch::soft_prompt::from_vocabulary(net->tokens->weight, 4, gen);
      soft->to(dev);
      params = soft->parameters();
      modules.push_back(soft.ptr());
      forward = [&](const at::Tensor& x, const at::Tensor& m) { return net->forward(soft->join(x), soft->join_mask(m)); };
      break;
    case prompt_kind::ptuning:
      enc = ptp::torch::ptuning_encoder(ptp::torch::ptuning_encoder_options{.length = 4, .width = hidden});
      enc->to(dev);
      params = enc->parameters();
      modules.push_back(enc.ptr());
      forward = [&](const at::Tensor& x, const at::Tensor& m) { return net->forward(enc->join(x), enc->join_mask(m)); };
      break;
    case prompt_kind::prefix:
      prefix = ptp::torch::prefix_encoder(
          ptp::torch::prefix_encoder_options{.length = 4, .layers = 2, .hidden = hidden, .heads = 2, .projection = true, .projection_hidden = 32});
      prefix->to(dev);
      params = prefix->parameters();
      modules.push_back(prefix.ptr());
      forward = [&](const at::Tensor& x, const at::Tensor& m) { return net->forward(x, m, prefix->forward(x.size(0), x)); };
      break;
  }
  for (auto& p : net->head->parameters()) params.push_back(p);
  auto opt = ptp::torch::adamw(params, {.lr = 1e-2, .weight_decay = 0.0});
  ptp::torch::linear_warmup_decay sched(*opt, 5, steps);

  ptp::generator data_gen{.seed = 200};
  auto test = ptp_test::make_task(256, len, vocab, data_gen);
  run_result r{0, 0, 0};
  double tail = 0;
  for (std::int64_t s = 0; s < steps; ++s) {
    auto b = ptp_test::make_task(batch, len, vocab, data_gen);
    at::Tensor e;
    {
      torch::NoGradGuard ng;
      e = net->tokens->forward(b.ids.to(dev));
    }
    ptp::torch::autograd_model f(forward, params, b.attention_mask.to(dev), b.labels.to(dev), {.modules = modules});
    const double loss = ptp::torch::train_step(reg, f, e, b.perturb_mask.to(dev), gen, *opt, &sched);
    REQUIRE(std::isfinite(loss));
    if (s < 5) r.first_loss += loss / 5;
    if (s >= steps - 5) tail += loss / 5;
  }
  r.last_loss = tail;
  ptp::torch::autograd_model f(forward, params, test.attention_mask.to(dev), test.labels.to(dev), {.modules = modules});
  at::Tensor e;
  {
    torch::NoGradGuard ng;
    e = net->tokens->forward(test.ids.to(dev));
  }
  const auto pred = f.predict(e).argmax(1).cpu();
  r.accuracy = pred.eq(test.labels).to(at::kDouble).mean().item<double>();
  return r;
}

template <class Reg>
void check(const char* reg_name, const Reg& reg, std::initializer_list<prompt_kind> kinds) {
  for (auto kind : kinds) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = train(kind, reg);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("e2e %-12s %-9s loss %.3f -> %.3f  accuracy %.3f  (%.1fs)\n", name(kind), reg_name, r.first_loss, r.last_loss,
                r.accuracy, secs);
    INFO(name(kind) << " + " << reg_name);
    CHECK(r.last_loss < 0.7 * r.first_loss);
    CHECK(r.accuracy >= 0.9);
  }
}

}  // namespace

constexpr auto all_prompts = {prompt_kind::soft, prompt_kind::ptuning, prompt_kind::prefix};

TEST_CASE("e2e: vanilla prompt tuning", "[torch][e2e]") { check("vanilla", ptp::regularizer(), all_prompts); }
TEST_CASE("e2e: PGD (PTP-ADV)", "[torch][e2e]") {
  check("pgd", ptp::regularizer(ptp::embedding::pgd{.steps = 2, .step_size = 0.05, .epsilon = 0.2}), all_prompts);
}
TEST_CASE("e2e: Gaussian (PTP-RN)", "[torch][e2e]") { check("gaussian", ptp::regularizer(ptp::embedding::gaussian{.sigma = 0.05}), all_prompts); }
TEST_CASE("e2e: uniform", "[torch][e2e]") { check("uniform", ptp::regularizer(ptp::embedding::uniform{.epsilon = 0.02}), all_prompts); }
TEST_CASE("e2e: NEFTune", "[torch][e2e]") { check("neftune", ptp::regularizer(ptp::embedding::neftune{.alpha = 5}), all_prompts); }
TEST_CASE("e2e: FGM", "[torch][e2e]") { check("fgm", ptp::regularizer(ptp::embedding::fgm{.epsilon = 0.1}), all_prompts); }
TEST_CASE("e2e: FreeLB", "[torch][e2e]") {
  check("freelb", ptp::regularizer(ptp::embedding::freelb{.steps = 2, .step_size = 0.05, .epsilon = 0.2}), all_prompts);
}
TEST_CASE("e2e: SMART", "[torch][e2e]") { check("smart", ptp::regularizer(ptp::embedding::smart{}), all_prompts); }
TEST_CASE("e2e: R3F", "[torch][e2e]") { check("r3f", ptp::regularizer(ptp::embedding::r3f{}), all_prompts); }

TEST_CASE("e2e on CUDA: deep prefix + PGD", "[torch][e2e][cuda]") {
  if (ptp_test::cuda_missing()) return;
  const auto r = train(prompt_kind::prefix, ptp::regularizer(ptp::embedding::pgd{.steps = 2, .step_size = 0.05, .epsilon = 0.2}), at::kCUDA);
  std::printf("e2e CUDA deep prefix pgd loss %.3f -> %.3f accuracy %.3f\n", r.first_loss, r.last_loss, r.accuracy);
  CHECK(r.last_loss < 0.7 * r.first_loss);
  CHECK(r.accuracy >= 0.9);
}

// ---- end-to-end checks that fail when a perturbation is zero, has the wrong sign, or a
// gradient does not match its reference ----------------------------------------------------

namespace {

// The tiny frozen transformer with a soft prompt, one batch, and a forward that records
// every input it sees.
struct probe {
  ptp_test::tiny_transformer net{nullptr};
  ptp::torch::soft_prompt soft{nullptr};
  ptp_test::synthetic_batch b;
  at::Tensor e;
  std::vector<at::Tensor> seen;
  probe() {
    at::set_num_threads(1);
    torch::manual_seed(11);
    net = ptp_test::tiny_transformer(vocab, hidden, 2, 2, 2, 32);
    net->freeze_backbone();
    ptp::generator gen{.seed = 3};
    soft = ptp::torch::soft_prompt::from_vocabulary(net->tokens->weight, 4, gen);
    ptp::generator data{.seed = 4};
    b = ptp_test::make_task(16, len, vocab, data);
    torch::NoGradGuard ng;
    e = net->tokens->forward(b.ids);
  }
  std::vector<at::Tensor> params() {
    auto p = soft->parameters();
    for (auto& t : net->head->parameters()) p.push_back(t);
    return p;
  }
  at::Tensor logits(const at::Tensor& x) { return net->forward(soft->join(x), soft->join_mask(b.attention_mask)); }
  at::Tensor loss(const at::Tensor& x) { return at::cross_entropy_loss(logits(x), b.labels); }
  ptp::torch::autograd_model model() {
    return ptp::torch::autograd_model(
        [this](const at::Tensor& x, const at::Tensor& m) {
          seen.push_back(x.detach().clone());
          return net->forward(soft->join(x), soft->join_mask(m));
        },
        params(), b.attention_mask, b.labels, {.modules = {net.ptr(), soft.ptr()}});
  }
  void zero_grad() {
    for (auto& p : params()) p.mutable_grad() = at::zeros_like(p);
  }
  std::vector<at::Tensor> grads() {
    std::vector<at::Tensor> g;
    for (auto& p : params()) g.push_back(p.grad().clone());
    return g;
  }
  // θ-gradient of a loss written with plain autograd
  std::vector<at::Tensor> autograd(const std::function<at::Tensor()>& l) {
    zero_grad();
    l().backward();
    return grads();
  }
  // δ of the last perturbed pass
  at::Tensor last_delta() const { return seen.back() - e; }
};

void check_grads(const std::vector<at::Tensor>& got, const std::vector<at::Tensor>& want, double tol) {
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("parameter " << i);
    CHECK(want[i].abs().max().item<double>() > 0);
    CHECK(ptp_test::rel_err(got[i], want[i]) < tol);
  }
}

// A random δ with the same per-example L2 norm as `like`, on the masked positions.
at::Tensor random_like_norm(const at::Tensor& like, const at::Tensor& mask, std::uint64_t seed) {
  auto r = at::zeros_like(like);
  ptp::generator g{.seed = seed};
  ptp::ops::fill_normal(r, g, 1.0);
  r = r * mask.unsqueeze(-1);
  const auto n = [](const at::Tensor& t) { return t.reshape({t.size(0), -1}).norm(2, 1).view({-1, 1, 1}); };
  return r * n(like) / n(r).clamp_min(1e-12);
}

}  // namespace

TEST_CASE("e2e: the adversarial δ raises the loss more than a random δ of the same norm; PGD's loss ≥ clean",
          "[torch][e2e][adversarial]") {
  probe p;
  const auto loss_at = [&](const at::Tensor& x) {
    torch::NoGradGuard ng;
    return p.loss(x).item<double>();
  };
  const double clean = loss_at(p.e);
  for (const bool use_pgd : {true, false}) {
    INFO((use_pgd ? "PGD-3" : "FGM"));
    p.seen.clear();
    auto f = p.model();
    ptp::generator gen{.seed = 5};
    if (use_pgd) (void)ptp::regularizer(ptp::embedding::pgd{.steps = 3, .step_size = 0.1, .epsilon = 0.3}).loss(f, p.e, p.b.perturb_mask, gen);
    else (void)ptp::regularizer(ptp::embedding::fgm{.epsilon = 0.3}).loss(f, p.e, p.b.perturb_mask, gen);
    const auto adv = p.last_delta();
    CHECK(adv.abs().max().item<double>() > 0);
    const double l_adv = loss_at(p.e + adv);
    CHECK(l_adv > clean);  // PGD's perturbed loss is at least the clean loss
    for (std::uint64_t s = 1; s <= 5; ++s) {
      const double l_rand = loss_at(p.e + random_like_norm(adv, p.b.perturb_mask, s));
      INFO("random seed " << s << ": adversarial " << l_adv << ", random " << l_rand << ", clean " << clean);
      CHECK(l_adv - clean >= l_rand - clean);
    }
    // the opposite sign lowers it
    CHECK(loss_at(p.e - adv) < clean);
  }
}

TEST_CASE("e2e: FreeLB's θ-gradient is the average of its K passes'; R3F and SMART match their peers",
          "[torch][e2e][gradients]") {
  probe p;
  SECTION("FreeLB-3, perturbed only (the original script)") {
    p.zero_grad();
    auto f = p.model();
    ptp::generator gen{.seed = 6};
    (void)ptp::regularizer(ptp::embedding::freelb{.steps = 3, .step_size = 0.1, .init_magnitude = 0.2}, ptp::objective::perturbed_only{})
        .loss(f, p.e, p.b.perturb_mask, gen);
    const auto got = p.grads();
    REQUIRE(p.seen.size() == 3);
    std::vector<std::vector<at::Tensor>> per_pass;
    for (const auto& x : p.seen) per_pass.push_back(p.autograd([&] { return p.loss(x); }));
    std::vector<at::Tensor> mean;
    for (std::size_t i = 0; i < got.size(); ++i) mean.push_back((per_pass[0][i] + per_pass[1][i] + per_pass[2][i]) / 3.0);
    check_grads(got, mean, 1e-5);
    CHECK(ptp_test::rel_err(per_pass[0][0], per_pass[2][0]) > 1e-4);  // the passes really differ
  }
  SECTION("R3F: CE + λ·symKL through both sides (fairseq _get_symm_kl)") {
    p.zero_grad();
    auto f = p.model();
    ptp::generator gen{.seed = 7};
    (void)ptp::regularizer(ptp::embedding::r3f{.epsilon = 0.05}, ptp::objective::consistency{.weight = 2.0}).loss(f, p.e, p.b.perturb_mask, gen);
    const auto got = p.grads();
    const auto x = p.seen.back();
    const auto want = p.autograd([&] {
      const auto zc = p.logits(p.e), zq = p.logits(x);
      const auto lp = at::log_softmax(zq, -1), lq = at::log_softmax(zc, -1);
      const auto kl = (at::kl_div(lp, lq.exp(), at::Reduction::Sum) + at::kl_div(lq, lp.exp(), at::Reduction::Sum)) / double(zc.size(0));
      return at::cross_entropy_loss(zc, p.b.labels) + 2.0 * kl;
    });
    check_grads(got, want, 1e-5);
  }
  SECTION("SMART: CE + λ·SymKlCriterion, each KL's target detached (mt-dnn)") {
    p.zero_grad();
    auto f = p.model();
    ptp::generator gen{.seed = 8};
    (void)ptp::regularizer(ptp::embedding::smart{.step_size = 1e-2, .sigma = 1e-3}).loss(f, p.e, p.b.perturb_mask, gen);
    const auto got = p.grads();
    const auto x = p.seen.back();
    CHECK(p.last_delta().abs().max().item<double>() > 0.5);  // normalised per token: order 1
    const auto want = p.autograd([&] {
      const auto zc = p.logits(p.e), zq = p.logits(x);
      const auto kl = at::kl_div(at::log_softmax(zc, -1), at::softmax(zq.detach(), -1), at::Reduction::Sum) +
                      at::kl_div(at::log_softmax(zq, -1), at::softmax(zc.detach(), -1), at::Reduction::Sum);
      return at::cross_entropy_loss(zc, p.b.labels) + kl / double(zc.size(0));
    });
    check_grads(got, want, 1e-5);
  }
}
