// End to end: a tiny frozen transformer (2 layers, hidden 32, 2 heads) learns a separable
// synthetic task (does the sequence contain token 2 or token 3?) by training only a prompt
// and the classification head through train_step: every prompt type (soft prompt, P-tuning
// encoder, deep prefix) × every regularizer (none, Gaussian, uniform, NEFTune, FGM, PGD,
// FreeLB, SMART, R3F); 27 runs of 40 steps, about 15 s on one core.
// Bar: the mean training loss of the last 5 steps is below 70% of the first 5 steps', and
// held-out accuracy (256 examples) is ≥ 0.9.
#include <chrono>
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
