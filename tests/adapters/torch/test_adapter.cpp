// The LibTorch adapter: backend ops against ptp's own host loops (on CPU and, when present,
// CUDA), autograd_model (gradients, graph cache, .grad accumulation), prompts (P-tuning
// encoder, deep prefix with a finite-difference gradient check in double), frozen backbone,
// evaluation determinism, the schedule, and atomic checkpoints that resume bit-identically.
#include <filesystem>
#include <limits>

#include "torch_test_support.hpp"

using ptp_test::rel_err;
namespace fs = std::filesystem;

// ---- a minimal host tensor, so ptp's own host loops serve as the reference -------------
struct host_tensor {
  ptp::shape_type s;
  std::vector<double> v;
};
template <>
struct ptp::backend<host_tensor> {
  using value_type = double;
  static shape_type shape(const host_tensor& t) { return t.s; }
  static host_tensor zeros_like(const host_tensor& t) { return {t.s, std::vector<double>(t.v.size(), 0.0)}; }
  static double* data(host_tensor& t) { return t.v.data(); }
  static const double* data(const host_tensor& t) { return t.v.data(); }
};

namespace {

host_tensor to_host(const at::Tensor& t0) {
  auto t = t0.detach().to(at::kCPU, at::kDouble).contiguous();
  return {ptp::shape_type(t.sizes().begin(), t.sizes().end()),
          std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel())};
}
at::Tensor from_host(const host_tensor& h) {
  std::vector<std::int64_t> s(h.s.begin(), h.s.end());
  return at::tensor(h.v, at::kDouble).view(s);
}
double vec_err(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i])), n = std::max(n, std::abs(b[i]));
  return n == 0 ? m : m / n;
}

}  // namespace

TEST_CASE("torch backend ops equal ptp's host loops, on every device", "[torch][backend]") {
  for (auto dev : ptp_test::devices()) {
    INFO("device " << dev);
    torch::manual_seed(3);
    auto opt = at::TensorOptions().dtype(at::kDouble).device(dev);
    auto d0 = at::randn({3, 4, 5}, opt) * 0.2, g = at::randn({3, 4, 5}, opt);
    g.select(0, 2).zero_();  // an all-zero example: zero step, no NaN
    auto mask = at::ones({3, 4}, opt);
    mask.index_put_({1, at::indexing::Slice(2, at::indexing::None)}, 0);
    for (auto rule : {ptp::step_rule::l2, ptp::step_rule::sign, ptp::step_rule::linf})
      for (auto gran : {ptp::granularity::token, ptp::granularity::example, ptp::granularity::global})
        for (auto proj : {ptp::norm_type::l2, ptp::norm_type::linf})
          for (double eps : {0.0, 0.3}) {
            auto d = d0.clone();
            ptp::ops::ascent_step(d, g, 0.25, rule, gran, eps, proj);
            auto hd = to_host(d0);
            ptp::ops::ascent_step(hd, to_host(g), 0.25, rule, gran, eps, proj);
            CHECK(rel_err(d, from_host(hd)) < 1e-12);
            REQUIRE(ptp::ops::all_finite(d));
            auto p = d0.clone() * 5;
            auto hp = to_host(p);
            ptp::ops::project(p, 0.4, proj, gran);
            ptp::ops::project(hp, 0.4, proj, gran);
            CHECK(rel_err(p, from_host(hp)) < 1e-12);
            CHECK(vec_err(ptp::ops::norms(d0, proj, gran), ptp::ops::norms(to_host(d0), proj, gran)) < 1e-12);
          }
    for (auto gran : {ptp::granularity::token, ptp::granularity::example, ptp::granularity::global}) {
      auto s = d0.clone();
      auto hs = to_host(s);
      const auto nb = ptp::ops::norms(d0, ptp::norm_type::l2, gran).size();
      std::vector<double> f(nb);
      for (std::size_t i = 0; i < nb; ++i) f[i] = 0.5 + 0.25 * static_cast<double>(i);
      ptp::ops::scale_blocks(s, f, gran);
      ptp::ops::scale_blocks(hs, f, gran);
      CHECK(rel_err(s, from_host(hs)) < 1e-12);
    }
    auto n = d0.clone();
    auto hn = to_host(n);
    ptp::ops::normalize_per_token_linf(n, 1e-6);
    ptp::ops::normalize_per_token_linf(hn, 1e-6);
    CHECK(rel_err(n, from_host(hn)) < 1e-12);
    auto m = d0.clone();
    auto hm = to_host(m);
    const std::vector<double> f{0.5, 2.0, -1.0};
    ptp::ops::mask_and_scale(m, mask, f);
    ptp::ops::mask_and_scale(hm, to_host(mask), f);
    CHECK(rel_err(m, from_host(hm)) < 1e-12);
    CHECK(ptp::ops::mask_lengths(mask) == std::vector<double>{4, 2, 4});
    CHECK(std::abs(ptp::ops::dot(d0, g) - ptp::ops::dot(to_host(d0), to_host(g))) < 1e-12);
    auto y = d0.clone();
    ptp::ops::axpy(y, -0.7, g);
    auto hy = to_host(d0);
    ptp::ops::axpy(hy, -0.7, to_host(g));
    CHECK(rel_err(y, from_host(hy)) < 1e-15);
    auto bad = d0.clone();
    bad.view(-1)[7] = std::numeric_limits<double>::quiet_NaN();
    CHECK_FALSE(ptp::ops::all_finite(bad));
    // losses
    auto z = at::randn({4, 3}, opt), zq = at::randn({4, 3}, opt);
    const std::vector<std::int64_t> labels{0, 2, 1, 1};
    at::Tensor dz;
    host_tensor hdz;
    const double l1 = ptp::losses::cross_entropy(z, labels, &dz), l2 = ptp::losses::cross_entropy(to_host(z), labels, &hdz);
    CHECK(std::abs(l1 - l2) < 1e-12);
    CHECK(rel_err(dz, from_host(hdz)) < 1e-12);
    CHECK_THROWS_AS(ptp::losses::cross_entropy(z, std::vector<std::int64_t>{0, 3, 1, 1}), std::out_of_range);
    at::Tensor ga, gb;
    host_tensor hga, hgb;
    const double k1 = ptp::losses::sym_kl(z, zq, &ga, &gb), k2 = ptp::losses::sym_kl(to_host(z), to_host(zq), &hga, &hgb);
    CHECK(std::abs(k1 - k2) < 1e-12);
    CHECK(rel_err(ga, from_host(hga)) < 1e-12);
    CHECK(rel_err(gb, from_host(hgb)) < 1e-12);
    // float32 and a non-contiguous δ work too
    auto df = d0.to(at::kFloat).transpose(1, 2).contiguous().transpose(1, 2);
    REQUIRE_FALSE(df.is_contiguous());
    ptp::ops::ascent_step(df, g.to(at::kFloat), 0.25, ptp::step_rule::l2, ptp::granularity::example, 0.3, ptp::norm_type::l2);
    auto hf = to_host(d0);
    ptp::ops::ascent_step(hf, to_host(g), 0.25, ptp::step_rule::l2, ptp::granularity::example, 0.3, ptp::norm_type::l2);
    CHECK(rel_err(df, from_host(hf)) < 1e-6);
  }
}

namespace {

// A double-precision tiny transformer with a deep prefix, for gradient checks.
struct prefix_setup {
  ptp_test::tiny_transformer net{nullptr};
  ptp::torch::prefix_encoder prefix{nullptr};
  at::Tensor e, mask, labels;
};
prefix_setup make_prefix_setup(bool projection, at::Device dev = at::kCPU) {
  torch::manual_seed(5);
  prefix_setup s;
  s.net = ptp_test::tiny_transformer(16, 8, 2, 2, 3, 16);
  s.prefix = ptp::torch::prefix_encoder(ptp::torch::prefix_encoder_options{
      .length = 3, .layers = 2, .hidden = 8, .heads = 2, .projection = projection, .projection_hidden = 6});
  s.net->to(dev, at::kDouble);
  s.prefix->to(dev, at::kDouble);
  s.net->freeze_backbone();
  s.e = at::randn({3, 5, 8}, at::TensorOptions().dtype(at::kDouble).device(dev));
  s.mask = at::ones({3, 5}, s.e.options());
  s.mask.index_put_({2, at::indexing::Slice(3, at::indexing::None)}, 0);
  s.labels = at::tensor(std::vector<std::int64_t>{0, 2, 1}).to(dev);
  return s;
}
ptp::torch::autograd_model prefix_model(prefix_setup& s, std::vector<at::Tensor> params) {
  return ptp::torch::autograd_model(
      [&s](const at::Tensor& x, const at::Tensor& m) { return s.net->forward(x, m, s.prefix->forward(x.size(0), x)); },
      std::move(params), s.mask, s.labels, {.modules = {s.net.ptr(), s.prefix.ptr()}});
}

}  // namespace

TEST_CASE("deep prefix: shapes, mask, and gradcheck by finite differences (double)", "[torch][prefix]") {
  for (bool projection : {false, true}) {
    INFO("projection " << projection);
    auto s = make_prefix_setup(projection);
    s.prefix->eval();  // gradcheck semantics: deterministic function (dropout off)
    auto kv = s.prefix->forward(3, s.e);
    REQUIRE(kv.size() == 2);
    CHECK(kv[1].key.sizes() == at::IntArrayRef{3, 2, 3, 4});
    CHECK(kv[1].value.sizes() == at::IntArrayRef{3, 2, 3, 4});
    // layout: layer 1's value is slice [3·hidden, 4·hidden) of the table, split per head
    auto table = s.prefix->table();
    CHECK(at::equal(kv[1].value[0].permute({1, 0, 2}).reshape({3, 8}), table.slice(1, 24, 32)));
    CHECK(at::equal(s.prefix->extend_mask(s.mask).slice(1, 0, 3), at::ones({3, 3}, s.mask.options())));
    CHECK(s.prefix->length() == 0);

    auto params = s.prefix->parameters();
    auto f = prefix_model(s, params);
    s.prefix->zero_grad();
    at::Tensor ge;
    f.evaluate_with_gradient(s.e, &ge, 1.0);
    auto loss_at = [&] {
      torch::NoGradGuard ng;
      return at::cross_entropy_loss(s.net->forward(s.e, s.mask, s.prefix->forward(3, s.e)), s.labels).item<double>();
    };
    double worst = 0;
    for (auto& p : params) {
      auto flat = p.detach().view(-1);
      auto grad = p.grad().view(-1);
      for (std::int64_t i = 0; i < flat.numel(); i += std::max<std::int64_t>(1, flat.numel() / 7)) {
        const double h = 1e-6, x0 = flat[i].item<double>();
        flat[i] = x0 + h;
        const double up = loss_at();
        flat[i] = x0 - h;
        const double dn = loss_at();
        flat[i] = x0;
        const double fd = (up - dn) / (2 * h), an = grad[i].item<double>();
        worst = std::max(worst, std::abs(fd - an) / std::max(1e-3, std::abs(fd)));
      }
    }
    // ∇_e as well
    auto ef = s.e.view(-1);
    for (std::int64_t i = 0; i < ef.numel(); i += 11) {
      const double h = 1e-6, x0 = ef[i].item<double>();
      ef[i] = x0 + h;
      const double up = loss_at();
      ef[i] = x0 - h;
      const double dn = loss_at();
      ef[i] = x0;
      worst = std::max(worst, std::abs((up - dn) / (2 * h) - ge.view(-1)[i].item<double>()) / std::max(1e-3, std::abs((up - dn) / (2 * h))));
    }
    std::printf("deep prefix gradcheck (projection %d): worst relative error %.3e\n", projection, worst);
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("autograd_model: gradients, graph cache, .grad accumulation", "[torch][model]") {
  auto s = make_prefix_setup(false);
  s.prefix->eval();
  auto params = s.prefix->parameters();
  auto f = prefix_model(s, params);
  // w = 0 leaves .grad alone; w adds w·∇θ
  s.prefix->zero_grad();
  at::Tensor g0;
  f.evaluate_with_gradient(s.e, &g0, 0.0);
  for (auto& p : params) CHECK((!p.grad().defined() || p.grad().abs().max().item<double>() == 0));
  f.evaluate_with_gradient(s.e, nullptr, 1.0);
  auto g1 = params[0].grad().clone();
  f.evaluate_with_gradient(s.e, nullptr, 0.5);
  CHECK(rel_err(params[0].grad(), g1 * 1.5) < 1e-14);
  // logits + logits_backward (dz of cross-entropy) = evaluate_with_gradient, without a 2nd forward
  s.prefix->zero_grad();
  const auto before = f.forward_passes();
  auto z = f.logits(s.e);
  at::Tensor dz, ge;
  ptp::losses::cross_entropy(z, f.labels(), &dz);
  f.logits_backward(s.e, dz, &ge, 1.0);
  CHECK(f.forward_passes() == before + 1);
  CHECK(rel_err(ge, g0) < 1e-12);
  CHECK(rel_err(params[0].grad(), g1) < 1e-12);
  // a modified input is not a cache hit
  auto e2 = s.e.clone();
  f.logits(e2);
  e2.add_(0.1);
  f.logits_backward(e2, dz, &ge, 0.0);
  CHECK(f.forward_passes() == before + 3);
  // concepts
  STATIC_REQUIRE(ptp::Differentiable<ptp::torch::autograd_model, at::Tensor>);
  STATIC_REQUIRE(ptp::LogitModel<ptp::torch::autograd_model, at::Tensor>);
}

TEST_CASE("prompts: soft prompt inits, P-tuning encoder", "[torch][prompts]") {
  ptp::generator g1{.seed = 9}, g2{.seed = 9};
  ptp::torch::soft_prompt sp(ptp::torch::soft_prompt_options{.length = 4, .width = 6, .init_std = 0.5}, g1);
  std::vector<float> host(24);
  g2.fill_normal(std::span<float>(host), 0.0, 0.5);
  CHECK(at::equal(sp->weight.detach(), at::tensor(host).view({4, 6})));
  auto E = at::randn({10, 6});
  auto tp = ptp::torch::soft_prompt::from_text(E, {3, 7}, 5);
  CHECK(at::equal(tp->weight.detach(), E.index_select(0, at::tensor(std::vector<std::int64_t>{3, 7, 3, 7, 3}))));
  ptp::generator g3{.seed = 1}, g4{.seed = 1};
  CHECK(at::equal(ptp::torch::soft_prompt::from_vocabulary(E, 4, g3)->weight, ptp::torch::soft_prompt::from_vocabulary(E, 4, g4)->weight));
  auto e = at::randn({2, 3, 6});
  CHECK(at::equal(sp->join(e).slice(1, 4, 7), e));
  CHECK(sp->join_mask(at::zeros({2, 3})).sum().item<double>() == 8);

  for (bool mlp_only : {false, true}) {
    ptp::torch::ptuning_encoder enc(ptp::torch::ptuning_encoder_options{.length = 4, .width = 6, .mlp_only = mlp_only});
    auto p = enc->forward();
    CHECK(p.sizes() == at::IntArrayRef{4, 6});
    CHECK(enc->join(e).sizes() == at::IntArrayRef{2, 7, 6});
    enc->join(e).pow(2).sum().backward();
    for (auto& q : enc->parameters()) CHECK(q.grad().defined());
    CHECK(enc->named_parameters().contains("lstm.weight_hh_l1_reverse") == !mlp_only);
  }
}

namespace {

struct trainer {
  ptp_test::tiny_transformer net{nullptr};
  ptp::torch::soft_prompt prompt{nullptr};
  ptp_test::synthetic_batch data;
  std::unique_ptr<torch::optim::AdamW> opt;
  std::unique_ptr<ptp::torch::linear_warmup_decay> sched;
  ptp::generator gen{.seed = 21};

  explicit trainer(at::Device dev = at::kCPU) {
    torch::manual_seed(1);
    net = ptp_test::tiny_transformer(12, 16, 2, 2, 2, 16);
    net->freeze_backbone();
    ptp::generator pg{.seed = 2};
    prompt = ptp::torch::soft_prompt(ptp::torch::soft_prompt_options{.length = 2, .width = 16}, pg);
    net->to(dev);
    prompt->to(dev);
    ptp::generator dg{.seed = 3};
    data = ptp_test::make_task(8, 6, 12, dg);
    data.ids = data.ids.to(dev), data.attention_mask = data.attention_mask.to(dev), data.perturb_mask = data.perturb_mask.to(dev),
    data.labels = data.labels.to(dev);
    auto params = prompt->parameters();
    for (auto& p : net->head->parameters()) params.push_back(p);
    opt = ptp::torch::adamw(params, {.lr = 1e-2});
    sched = std::make_unique<ptp::torch::linear_warmup_decay>(*opt, 2, 10);
  }
  ptp::torch::autograd_model model() {
    auto params = prompt->parameters();
    for (auto& p : net->head->parameters()) params.push_back(p);
    return ptp::torch::autograd_model(
        [this](const at::Tensor& x, const at::Tensor& m) { return net->forward(prompt->join(x), prompt->join_mask(m)); }, params,
        data.attention_mask, data.labels, {.modules = {net.ptr(), prompt.ptr()}});
  }
  at::Tensor embeddings() {
    torch::NoGradGuard ng;
    return net->tokens->forward(data.ids);
  }
  /// What a checkpoint must hold: the prompt and the trained head.
  std::shared_ptr<torch::nn::Module> trainable() {
    auto m = std::make_shared<torch::nn::Module>();
    m->register_module("prompt", prompt.ptr());
    m->register_module("head", net->head.ptr());
    return m;
  }
  template <class Reg>
  double step(const Reg& reg) {
    auto f = model();
    return ptp::torch::train_step(reg, f, embeddings(), data.perturb_mask, gen, *opt, sched.get());
  }
};

}  // namespace

TEST_CASE("frozen backbone stays bit-identical; evaluation is deterministic and unperturbed", "[torch][train]") {
  trainer t;
  std::vector<at::Tensor> frozen;
  for (auto& p : t.net->backbone_parameters()) frozen.push_back(p.detach().clone());
  auto w0 = t.prompt->weight.detach().clone();
  auto reg = ptp::regularizer(ptp::embedding::pgd{.steps = 2, .step_size = 0.1, .epsilon = 0.5});
  for (int i = 0; i < 4; ++i) CHECK(std::isfinite(t.step(reg)));
  auto now = t.net->backbone_parameters();
  for (std::size_t i = 0; i < frozen.size(); ++i) CHECK(at::equal(now[i], frozen[i]));
  CHECK_FALSE(at::equal(t.prompt->weight, w0));

  auto f = t.model();
  auto e = t.embeddings();
  const auto gen_before = t.gen;
  const double a = reg.loss(f, e, t.data.perturb_mask, t.gen, ptp::mode::eval);
  const double b = reg.loss(f, e, t.data.perturb_mask, t.gen, ptp::mode::eval);
  CHECK(a == b);
  CHECK(t.gen.offset == gen_before.offset);  // no randomness drawn
  // the clean loss, in eval mode and without a graph
  t.net->eval();
  torch::NoGradGuard ng;
  const double clean = at::cross_entropy_loss(t.net->forward(t.prompt->join(e), t.prompt->join_mask(t.data.attention_mask)), t.data.labels)
                           .item<double>();
  CHECK(a == clean);
  CHECK(t.net->is_training() == false);
}

TEST_CASE("non-finite faults: stop names step, batch and term; skip_step leaves everything as it was", "[torch][train]") {
  trainer t;
  auto reg = ptp::regularizer(ptp::embedding::gaussian{.sigma = 0.1});
  // A model whose perturbed pass (its second forward) yields NaN logits.
  int calls = 0;
  auto params = t.prompt->parameters();
  for (auto& p : t.net->head->parameters()) params.push_back(p);
  auto f = ptp::torch::autograd_model(
      [&](const at::Tensor& x, const at::Tensor& m) {
        auto z = t.net->forward(t.prompt->join(x), t.prompt->join_mask(m));
        return ++calls % 2 == 0 ? z * std::numeric_limits<float>::quiet_NaN() : z;
      },
      params, t.data.attention_mask, t.data.labels, {.modules = {t.net.ptr(), t.prompt.ptr()}});
  const auto e = t.embeddings();
  try {
    ptp::torch::train_step(reg, f, e, t.data.perturb_mask, t.gen, *t.opt, t.sched.get(), {.step = 12, .batch = 3});
    FAIL("no exception");
  } catch (const ptp::non_finite_error& err) {
    const std::string msg = err.what();
    CHECK_THAT(msg, Catch::Contains("perturbed") && Catch::Contains("at step 12, batch 3"));
  }
  const auto w0 = t.prompt->weight.detach().clone();
  const auto lr0 = t.opt->param_groups()[0].options().get_lr();
  const auto sched0 = t.sched->steps_taken();
  calls = 0;
  const double l = ptp::torch::train_step(reg, f, e, t.data.perturb_mask, t.gen, *t.opt, t.sched.get(),
                                          {.step = 13, .policy = ptp::torch::on_non_finite::skip_step});
  CHECK(std::isnan(l));
  CHECK(at::equal(t.prompt->weight, w0));
  CHECK(t.sched->steps_taken() == sched0);
  CHECK(t.opt->param_groups()[0].options().get_lr() == lr0);
  for (auto& p : params) CHECK((!p.grad().defined() || at::count_nonzero(p.grad()).item<std::int64_t>() == 0));
  // and a healthy step afterwards trains normally (vanilla: one forward, never the NaN one;
  // past the warm-up's first step, whose learning rate is 0)
  auto vanilla = ptp::regularizer();
  t.sched->step();
  calls = 0;
  CHECK(std::isfinite(ptp::torch::train_step(vanilla, f, e, t.data.perturb_mask, t.gen, *t.opt, t.sched.get())));
  CHECK_FALSE(at::equal(t.prompt->weight, w0));
}

TEST_CASE("train_step with max_grad_norm: the update is the gradient clipped to that global norm", "[torch][train][clip]") {
  // torch.nn.utils.clip_grad_norm_ semantics (PET/P-tuning clip at 1.0): one global L2 norm
  // over every parameter; gradients scaled by max_norm / norm when norm exceeds max_norm.
  trainer t;
  auto params = t.prompt->parameters();
  for (auto& p : t.net->head->parameters()) params.push_back(p);
  auto run = [&](double max_norm) {
    trainer u;
    auto ps = u.prompt->parameters();
    for (auto& p : u.net->head->parameters()) ps.push_back(p);
    std::vector<at::Tensor> before;
    for (auto& p : ps) before.push_back(p.detach().clone());
    torch::optim::SGD sgd(ps, torch::optim::SGDOptions(1.0));
    auto f = u.model();
    ptp::torch::train_step(ptp::regularizer(), f, u.embeddings(), u.data.perturb_mask, u.gen, sgd, nullptr, {.max_grad_norm = max_norm});
    double sq = 0;  // squared norm of the update = of the (clipped) gradient, SGD at lr 1
    for (std::size_t i = 0; i < ps.size(); ++i) sq += (ps[i].detach() - before[i]).pow(2).sum().item<double>();
    return std::sqrt(sq);
  };
  const double unclipped = run(0.0);
  REQUIRE(unclipped > 0.05);
  CHECK(run(0.05) == Approx(0.05).epsilon(1e-4));           // clipped to the bound
  CHECK(run(10 * unclipped) == Approx(unclipped).epsilon(1e-6));  // below the bound: untouched
  // clip_gradients itself returns the norm before clipping
  for (auto& p : params) p.mutable_grad() = torch::full_like(p, 2.0);
  std::int64_t n = 0;
  for (auto& p : params) n += p.numel();
  CHECK(ptp::torch::clip_gradients(*t.opt, 1.0) == Approx(2.0 * std::sqrt(static_cast<double>(n))).epsilon(1e-5));
  double sq = 0;
  for (auto& p : params) sq += p.grad().pow(2).sum().item<double>();
  CHECK(std::sqrt(sq) == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("linear warm-up + decay schedule", "[torch][train]") {
  auto w = torch::zeros({2}, torch::requires_grad());
  auto opt = ptp::torch::adamw({w}, {.lr = 0.1});
  ptp::torch::linear_warmup_decay s(*opt, 2, 6);
  std::vector<double> lrs{opt->param_groups()[0].options().get_lr()};
  for (int i = 0; i < 7; ++i) {
    s.step();
    lrs.push_back(opt->param_groups()[0].options().get_lr());
  }
  const std::vector<double> want{0.0, 0.05, 0.1, 0.075, 0.05, 0.025, 0.0, 0.0};
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(lrs[i] == Approx(want[i]).margin(1e-15));
}

TEST_CASE("grouped AdamW: each group keeps its own lr and decay, LibTorch's defaults included", "[torch][train]") {
  auto a = torch::ones({3}, torch::requires_grad()), b = torch::ones({3}, torch::requires_grad());
  // LibTorch 2.15 (optimizer.h, _merge_by_comparison) replaces a group option that equals
  // AdamWOptions' constructor default (lr 1e-3, decay 1e-2) by the optimizer's default:
  std::vector<torch::optim::OptimizerParamGroup> plain;
  plain.emplace_back(std::vector<at::Tensor>{a}, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-3).weight_decay(1e-2)));
  torch::optim::AdamW merged(std::move(plain), torch::optim::AdamWOptions(1e-5).weight_decay(0.1));
  CHECK(merged.param_groups()[0].options().get_lr() == 1e-5);  // if this fails, LibTorch changed; the fix is harmless

  auto opt = ptp::torch::adamw({{{a}, 1e-3, 1e-2}, {{b}, 1e-5, 0.0}}, {.lr = 1e-5, .weight_decay = 0.1});
  REQUIRE(opt->param_groups().size() == 2);
  const auto& g0 = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
  const auto& g1 = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[1].options());
  CHECK(g0.lr() == 1e-3);
  CHECK(g0.weight_decay() == 1e-2);
  CHECK(g1.lr() == 1e-5);
  CHECK(g1.weight_decay() == 0.0);
  // One step: AdamW's first update is lr·sign(g) (bias-corrected m/√v = ±1) after decay p·(1 − lr·wd).
  opt->zero_grad();
  (a.sum() + b.sum()).backward();
  opt->step();
  CHECK(a.detach()[0].item<double>() == Approx(1.0 * (1 - 1e-3 * 1e-2) - 1e-3).epsilon(1e-6));
  CHECK(b.detach()[0].item<double>() == Approx(1.0 - 1e-5).epsilon(1e-7));
}

TEST_CASE("checkpoints are atomic and resume bit-identically", "[torch][checkpoint]") {
  const auto dir = fs::temp_directory_path() / ("ptp_torch_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto path = dir / "prompt.pt";
  auto reg = ptp::regularizer(ptp::embedding::freelb{.steps = 2});
  trainer a;
  for (int i = 0; i < 3; ++i) a.step(reg);
  std::ofstream(path) << "an older checkpoint";  // replaced atomically
  ptp::torch::save_checkpoint(path, *a.trainable(), {.optimizer = a.opt.get(), .schedule = a.sched.get(), .gen = &a.gen, .step = 3});
  for (auto& entry : fs::directory_iterator(dir)) CHECK(entry.path().filename() == "prompt.pt");  // no temp file left
  std::vector<double> losses_a;
  for (int i = 0; i < 3; ++i) losses_a.push_back(a.step(reg));

  trainer b;  // fresh prompt/optimizer/schedule/generator, same frozen network (same torch seed)
  ptp::torch::checkpoint_state st{.optimizer = b.opt.get(), .schedule = b.sched.get(), .gen = &b.gen};
  ptp::torch::load_checkpoint(path, *b.trainable(), st);
  CHECK(st.step == 3);
  CHECK(b.sched->steps_taken() == 3);
  for (int i = 0; i < 3; ++i) CHECK(b.step(reg) == losses_a[static_cast<std::size_t>(i)]);
  CHECK(at::equal(a.prompt->weight, b.prompt->weight));
  fs::remove_all(dir);
}

TEST_CASE("checkpoints: another shape, dtype or a missing tensor is an error that names it, the prompt unchanged", "[torch][checkpoint]") {
  const auto dir = fs::temp_directory_path() / ("ptp_torch_ckpt_shape_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto path = dir / "prompt.pt";
  ::torch::manual_seed(3);
  ::torch::nn::Linear saved(3, 4);
  ptp::torch::save_checkpoint(path, *saved);

  ::torch::nn::Linear wider(3, 5);
  const auto before = wider->weight.clone();
  try {
    ptp::torch::load_checkpoint(path, *wider);
    FAIL("a 4x3 weight loaded into a 5x3 prompt");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("prompt.pt") && Catch::Contains("'weight'") && Catch::Contains("[4×3]") &&
                         Catch::Contains("[5×3]"));
  }
  CHECK(wider->weight.sizes() == before.sizes());
  CHECK(at::equal(wider->weight, before));

  ::torch::nn::Linear as_double(3, 4);
  as_double->to(at::kDouble);
  const auto double_before = as_double->weight.clone();
  CHECK_THROWS_WITH(ptp::torch::load_checkpoint(path, *as_double), Catch::Contains("prompt.pt") && Catch::Contains("does not hold"));
  CHECK(as_double->weight.scalar_type() == at::kDouble);
  CHECK(at::equal(as_double->weight, double_before));

  ::torch::nn::Sequential more(::torch::nn::Linear(3, 4), ::torch::nn::Linear(4, 2));
  CHECK_THROWS_WITH(ptp::torch::load_checkpoint(path, *more), Catch::Contains("prompt.pt") && Catch::Contains("does not hold"));

  std::ofstream(dir / "garbage.pt") << "not a checkpoint";
  CHECK_THROWS_WITH(ptp::torch::load_checkpoint(dir / "garbage.pt", *saved),
                    Catch::Contains("garbage.pt") && Catch::Contains("not a readable checkpoint"));

  ::torch::nn::Linear same(3, 4);
  ptp::torch::load_checkpoint(path, *same);
  CHECK(at::equal(same->weight, saved->weight));
  fs::remove_all(dir);
}

TEST_CASE("CUDA: the core's stages and a training step on the GPU match the CPU", "[torch][cuda]") {
  if (ptp_test::cuda_missing()) return;
  auto reg = ptp::regularizer(ptp::embedding::pgd{.steps = 2, .step_size = 0.1, .epsilon = 0.5});
  trainer cpu, gpu(at::kCUDA);
  for (int i = 0; i < 3; ++i) {
    const double lc = cpu.step(reg), lg = gpu.step(reg);
    CHECK(lg == Approx(lc).epsilon(1e-4));
  }
  CHECK(rel_err(gpu.prompt->weight.cpu(), cpu.prompt->weight) < 1e-3);
  ptp::generator g1{.seed = 5}, g2{.seed = 5};
  auto e = at::randn({2, 3, 4});
  auto m = at::ones({2, 3});
  CHECK(rel_err(ptp::embedding::gaussian{}.sample(e.to(at::kCUDA), m.to(at::kCUDA), g2).cpu(),
                ptp::embedding::gaussian{}.sample(e, m, g1)) < 1e-6);  // same draws; σ·rms reduced on device
  ptp::generator g3{.seed = 5}, g4{.seed = 5};
  CHECK(at::equal(ptp::embedding::neftune{}.sample(e, m, g3), ptp::embedding::neftune{}.sample(e.to(at::kCUDA), m.to(at::kCUDA), g4).cpu()));
}

namespace {
// A toy text stage: replaces every token 2/3 (the label markers) by token 5 — it only has to
// show that train_step_text runs the text stages before the batch is embedded.
struct hide_markers {
  std::vector<std::int64_t> operator()(std::vector<std::int64_t> ids, ptp::generator&, ptp::mode m) const {
    if (m == ptp::mode::train)
      for (auto& id : ids)
        if (id == 2 || id == 3) id = 5;
    return ids;
  }
};
}  // namespace

TEST_CASE("train_step_text: text stages, then embedding, then the regularized step", "[torch][train]") {
  trainer t;
  auto reg = ptp::regularizer(hide_markers{}, ptp::embedding::gaussian{.sigma = 0.1});
  auto flat = t.data.ids.flatten().contiguous();
  std::vector<std::int64_t> ids(flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel());
  struct prepared {
    ptp::torch::autograd_model model;
    at::Tensor embeddings, mask;
  };
  std::vector<std::int64_t> seen;
  auto w0 = t.prompt->weight.detach().clone();
  const double loss = ptp::torch::train_step_text(
      reg, ids,
      [&](std::vector<std::int64_t> perturbed) {
        seen = perturbed;
        auto x = at::tensor(perturbed, at::kLong).view_as(t.data.ids);
        torch::NoGradGuard ng;
        return prepared{t.model(), t.net->tokens->forward(x), t.data.perturb_mask};
      },
      t.gen, *t.opt, t.sched.get());
  CHECK(std::isfinite(loss));
  CHECK(std::count(ids.begin(), ids.end(), 2) + std::count(ids.begin(), ids.end(), 3) > 0);
  CHECK(std::count(seen.begin(), seen.end(), 2) + std::count(seen.begin(), seen.end(), 3) == 0);
  CHECK(t.sched->steps_taken() == 1);
  // warm-up: the first step runs at lr = 0 (Hugging Face's schedule), the next at base/2
  CHECK(at::equal(t.prompt->weight, w0));
  CHECK(t.prompt->weight.grad().abs().max().item<double>() > 0);
  CHECK(t.opt->param_groups()[0].options().get_lr() == Approx(0.5e-2));
}

TEST_CASE("train_step_text: the loss and θ's gradient are clean + λ·perturbed (manual autograd)", "[torch][train]") {
  // Reference: one autograd graph of CE(x) + λ·CE(x̃), x̃ = the markers hidden. The warm-up's
  // first step runs at lr = 0, so the parameters stay where the reference evaluated them.
  // Tolerance: float32 sums in a different order, 1e-5 relative.
  const double lam = 0.6;
  trainer ref;
  auto ids = ref.data.ids;
  auto hidden = ids.clone();
  hidden.masked_fill_((ids == 2).logical_or(ids == 3), 5);
  REQUIRE(!at::equal(ids, hidden));
  auto ce = [&](trainer& t, const at::Tensor& x) {
    at::Tensor e;
    {
      torch::NoGradGuard ng;
      e = t.net->tokens->forward(x);
    }
    return at::cross_entropy_loss(t.net->forward(t.prompt->join(e), t.prompt->join_mask(t.data.attention_mask)), t.data.labels);
  };
  ref.opt->zero_grad();
  const auto clean = ce(ref, ids), pert = ce(ref, hidden);
  const auto total = clean + lam * pert;
  total.backward();
  const double want = total.item<double>();
  const auto want_grad = ref.prompt->weight.grad().clone();
  // the two terms differ by 5e-4, 30× the tolerance below: (1 + λ)·CE(x) or (1 + λ)·CE(x̃) would fail
  REQUIRE(std::abs(clean.item<double>() - pert.item<double>()) > 1e-4);

  trainer t;
  auto reg = ptp::regularizer(hide_markers{}, ptp::objective::clean_plus_perturbed{.weight = lam});
  auto flat = t.data.ids.flatten().contiguous();
  std::vector<std::int64_t> v(flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel());
  struct prepared {
    ptp::torch::autograd_model model;
    at::Tensor embeddings, mask;
  };
  int calls = 0;
  const double got = ptp::torch::train_step_text(
      reg, v,
      [&](const std::vector<std::int64_t>& x) {
        ++calls;
        torch::NoGradGuard ng;
        return prepared{t.model(), t.net->tokens->forward(at::tensor(x, at::kLong).view_as(t.data.ids)), t.data.perturb_mask};
      },
      t.gen, *t.opt, t.sched.get());
  CHECK(calls == 2);  // the clean batch, then the perturbed one
  CHECK(got == Approx(want).epsilon(1e-5));
  CHECK(std::abs(got - pert.item<double>()) > 1e-3);
  const auto g = t.prompt->weight.grad();
  CHECK((g - want_grad).abs().max().item<double>() <= 1e-5 * want_grad.abs().max().item<double>());
}
