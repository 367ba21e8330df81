// Parity with PyTorch: the C++ regularizers on torch tensors (through ptp's core, unchanged)
// against regularizers_reference.py's plain-autograd peers written from the upstream code (FreeLB,
// mt-dnn, fairseq, torchattacks, Hugging Face) — final δ, loss and
// prompt gradient, to 1e-6 relative (norm-relative: max|a − b| / max|b|) — and NEFTune against
// Hugging Face's own hook. Also: the torch backend's random fills are bit-identical to ptp's
// host generator (hence to the Eigen/xtensor backends).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "torch_test_support.hpp"

namespace fs = std::filesystem;
using ptp_test::rel_err;

namespace {

constexpr double tol = 1e-6;

struct parity_fixture {
  fs::path dir;
  std::ostringstream params;
  std::vector<std::string> cases;

  parity_fixture() {
    dir = fs::temp_directory_path() / ("ptp_torch_parity_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~parity_fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& name, const at::Tensor& t0) {
    auto t = t0.detach().cpu().contiguous();
    if (t.scalar_type() != at::kLong) t = t.to(at::kDouble);
    std::ofstream out(dir / (name + ".bin"), std::ios::binary);
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    params << "shape." << name << "=";
    for (std::int64_t i = 0; i < t.dim(); ++i) params << (i ? "," : "") << t.size(i);
    params << "\n";
  }
  template <class V>
  void param(const std::string& k, const V& v) {
    params << k << "=" << v << "\n";
  }
  at::Tensor read(const std::string& name, at::IntArrayRef shape) {
    std::ifstream in(dir / (name + ".bin"), std::ios::binary);
    REQUIRE(in.good());
    auto t = at::empty(shape, at::kDouble);
    in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    REQUIRE(in.gcount() == static_cast<std::streamsize>(t.nbytes()));
    return t;
  }
  double read_loss(const std::string& c) {
    std::ifstream in(dir / ("py_" + c + "_loss.txt"));
    double v = NAN;
    in >> v;
    return v;
  }
  void run_python() {
    params << "cases=";
    for (std::size_t i = 0; i < cases.size(); ++i) params << (i ? "," : "") << cases[i];
    params << "\n";
    std::ofstream(dir / "params.txt") << params.str();
    const char* py = std::getenv("PTP_PYTHON");
    const char* src = std::getenv("PTP_SOURCE_DIR");
    REQUIRE(py != nullptr);   // exported by ./ptp and set by CTest: a missing interpreter FAILS
    REQUIRE(src != nullptr);
    const auto cmd = std::string("\"") + py + "\" \"" + src + "/tests/adapters/torch/regularizers_reference.py\" \"" + dir.string() + "\"";
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
};

// What the C++ side measured for one case.
struct result {
  at::Tensor delta, grad;
  double loss;
};

}  // namespace

TEST_CASE("torch backend: random fills are bit-identical to ptp's host generator", "[torch][random]") {
  for (auto dev : ptp_test::devices()) {
    for (auto dtype : {at::kFloat, at::kDouble}) {
      ptp::generator g1{.seed = 7, .stream = 2}, g2 = g1;
      auto t = at::zeros({3, 5, 7}, at::TensorOptions().dtype(dtype).device(dev));
      ptp::ops::fill_normal(t, g1, 0.3);
      auto u = at::zeros({3, 5, 7}, at::TensorOptions().dtype(dtype).device(dev));
      ptp::ops::fill_uniform(u, g1, -2.0, 1.0);
      std::vector<float> hf(105);
      std::vector<double> hd(105);
      auto ref = at::empty({3, 5, 7}, dtype);
      if (dtype == at::kFloat) g2.fill_normal(std::span<float>(ref.data_ptr<float>(), 105), 0.0, 0.3);
      else g2.fill_normal(std::span<double>(ref.data_ptr<double>(), 105), 0.0, 0.3);
      REQUIRE(at::equal(t.cpu(), ref));
      if (dtype == at::kFloat) g2.fill_uniform(std::span<float>(ref.data_ptr<float>(), 105), -2.0, 1.0);
      else g2.fill_uniform(std::span<double>(ref.data_ptr<double>(), 105), -2.0, 1.0);
      REQUIRE(at::equal(u.cpu(), ref));
      REQUIRE(g1.offset == g2.offset);
    }
  }
}

TEST_CASE("torch parity with upstream-semantics peers: PGD, FreeLB, FGM, Gaussian, NEFTune, SMART, R3F", "[torch][parity]") {
  torch::manual_seed(0);
  const std::int64_t B = 4, L = 6, d = 8, H = 10, C = 3, Pn = 3;
  auto dbl = at::TensorOptions().dtype(at::kDouble);
  auto e = at::randn({B, L, d}, dbl);
  auto att = at::ones({B, L}, dbl);
  att.index_put_({1, at::indexing::Slice(4, at::indexing::None)}, 0);
  att.index_put_({3, at::indexing::Slice(3, at::indexing::None)}, 0);
  auto pm = att.clone();
  pm.select(1, 0).zero_();  // [CLS] never perturbed
  auto labels = at::tensor(std::vector<std::int64_t>{0, 2, 1, 2}, at::kLong);
  auto theta = at::randn({Pn, d}, dbl) * 0.5;
  auto W1 = at::randn({d, H}, dbl) * 0.6, b1 = at::randn({H}, dbl) * 0.1;
  auto W2 = at::randn({H, C}, dbl) * 0.8, b2 = at::randn({C}, dbl) * 0.1;

  parity_fixture fx;
  for (auto& [n, t] : std::map<std::string, at::Tensor>{{"e", e}, {"attention_mask", att}, {"perturb_mask", pm}, {"labels", labels},
                                                        {"theta", theta}, {"W1", W1}, {"b1", b1}, {"W2", W2}, {"b2", b2}})
    fx.write(n, t);

  ptp::torch::soft_prompt prompt(theta);
  at::Tensor last_input;
  auto f = ptp::torch::autograd_model(
      [&](const at::Tensor& x, const at::Tensor& m) {
        last_input = x.detach().clone();
        auto xj = prompt->join(x);
        auto mj = prompt->join_mask(m);
        auto h = at::tanh(at::matmul(xj, W1) + b1);
        auto pooled = (h * mj.unsqueeze(-1)).sum(1) / mj.sum(1, true);
        return at::matmul(pooled, W2) + b2;
      },
      prompt->parameters(), att, labels);

  std::map<std::string, result> got;
  // Runs one regularizer step from a fresh gradient; δ is the last point the model saw.
  auto run = [&](const std::string& c, const auto& reg, ptp::generator gen) {
    prompt->weight.mutable_grad() = at::zeros_like(prompt->weight);
    const double loss = reg.loss(f, e, pm, gen);
    got[c] = {last_input - e, prompt->weight.grad().clone(), loss};
  };
  auto dump_noise = [&](const std::string& c, ptp::generator gen, auto fill) {
    auto z = at::zeros_like(e);
    fill(z, gen);
    fx.write(c + ".noise", z);
  };

  // PGD-3, L2, zero start
  fx.cases.push_back("pgd_l2");
  fx.param("pgd_l2.kind", "pgd"), fx.param("pgd_l2.steps", 3), fx.param("pgd_l2.step_size", 0.4), fx.param("pgd_l2.epsilon", 0.6),
      fx.param("pgd_l2.norm", "l2"), fx.param("pgd_l2.init", "zero"), fx.param("pgd_l2.lambda", 1.0);
  run("pgd_l2",
      ptp::regularizer(ptp::embedding::pgd{.steps = 3, .step_size = 0.4, .epsilon = 0.6, .norm = ptp::norm_type::l2}),
      ptp::generator{.seed = 11});
  // PGD-2, L∞, random start, λ = 0.5
  fx.cases.push_back("pgd_linf");
  fx.param("pgd_linf.kind", "pgd"), fx.param("pgd_linf.steps", 2), fx.param("pgd_linf.step_size", 0.01),
      fx.param("pgd_linf.epsilon", 0.02), fx.param("pgd_linf.norm", "linf"), fx.param("pgd_linf.init", "random"),
      fx.param("pgd_linf.lambda", 0.5);
  fx.param("pgd_linf.init_magnitude", 0.05);
  dump_noise("pgd_linf", ptp::generator{.seed = 12}, [](at::Tensor& z, ptp::generator& g) { ptp::ops::fill_uniform(z, g, -1.0, 1.0); });
  run("pgd_linf",
      ptp::regularizer(ptp::embedding::pgd{.steps = 2, .step_size = 0.01, .epsilon = 0.02, .init = ptp::embedding::init_kind::random,
                                           .init_magnitude = 0.05, .norm = ptp::norm_type::linf},
                       ptp::objective::clean_plus_perturbed{.weight = 0.5}),
      ptp::generator{.seed = 12});
  // FreeLB-3, L2, random start, with ptp's clean term
  fx.cases.push_back("freelb_l2");
  fx.param("freelb_l2.kind", "freelb"), fx.param("freelb_l2.steps", 3), fx.param("freelb_l2.step_size", 0.1),
      fx.param("freelb_l2.epsilon", 0.3), fx.param("freelb_l2.init_magnitude", 0.2), fx.param("freelb_l2.norm", "l2"),
      fx.param("freelb_l2.lambda", 1.0), fx.param("freelb_l2.clean_weight", 1.0);
  dump_noise("freelb_l2", ptp::generator{.seed = 13}, [](at::Tensor& z, ptp::generator& g) { ptp::ops::fill_uniform(z, g, -1.0, 1.0); });
  run("freelb_l2", ptp::regularizer(ptp::embedding::freelb{.steps = 3, .step_size = 0.1, .epsilon = 0.3, .init_magnitude = 0.2}),
      ptp::generator{.seed = 13});
  // FreeLB-2, L∞, as in the original script (perturbed term only)
  fx.cases.push_back("freelb_linf");
  fx.param("freelb_linf.kind", "freelb"), fx.param("freelb_linf.steps", 2), fx.param("freelb_linf.step_size", 0.02),
      fx.param("freelb_linf.epsilon", 0.03), fx.param("freelb_linf.init_magnitude", 0.01), fx.param("freelb_linf.norm", "linf"),
      fx.param("freelb_linf.lambda", 1.0), fx.param("freelb_linf.clean_weight", 0.0);
  dump_noise("freelb_linf", ptp::generator{.seed = 14}, [](at::Tensor& z, ptp::generator& g) { ptp::ops::fill_uniform(z, g, -0.01, 0.01); });
  run("freelb_linf",
      ptp::regularizer(ptp::embedding::freelb{.steps = 2, .step_size = 0.02, .epsilon = 0.03, .init_magnitude = 0.01,
                                              .norm = ptp::norm_type::linf},
                       ptp::objective::perturbed_only{}),
      ptp::generator{.seed = 14});
  // FGM (L2) and FGSM (L∞)
  fx.cases.push_back("fgm_l2");
  fx.param("fgm_l2.kind", "fgm"), fx.param("fgm_l2.epsilon", 0.5), fx.param("fgm_l2.norm", "l2"), fx.param("fgm_l2.lambda", 1.0);
  run("fgm_l2", ptp::regularizer(ptp::embedding::fgm{.epsilon = 0.5}), ptp::generator{.seed = 15});
  fx.cases.push_back("fgsm");
  fx.param("fgsm.kind", "fgm"), fx.param("fgsm.epsilon", 0.05), fx.param("fgsm.norm", "linf"), fx.param("fgsm.lambda", 1.0);
  run("fgsm", ptp::regularizer(ptp::embedding::fgm{.epsilon = 0.05, .norm = ptp::norm_type::linf}), ptp::generator{.seed = 16});
  // Gaussian (PTP-RN), σ relative to the embedding RMS
  fx.cases.push_back("gaussian");
  fx.param("gaussian.kind", "gaussian"), fx.param("gaussian.sigma", 0.1), fx.param("gaussian.lambda", 1.0);
  dump_noise("gaussian", ptp::generator{.seed = 17}, [](at::Tensor& z, ptp::generator& g) { ptp::ops::fill_normal(z, g, 1.0); });
  run("gaussian", ptp::regularizer(ptp::embedding::gaussian{.sigma = 0.1}), ptp::generator{.seed = 17});
  // SMART-2 with its consistency objective
  fx.cases.push_back("smart");
  fx.param("smart.kind", "smart"), fx.param("smart.steps", 2), fx.param("smart.step_size", 1e-3), fx.param("smart.lambda", 1.0),
      fx.param("smart.floor", 1e-6);
  dump_noise("smart", ptp::generator{.seed = 18}, [](at::Tensor& z, ptp::generator& g) { ptp::ops::fill_normal(z, g, 1e-5); });
  run("smart", ptp::regularizer(ptp::embedding::smart{.steps = 2, .step_size = 1e-3, .sigma = 1e-5}), ptp::generator{.seed = 18});
  // R3F with its consistency objective (uniform noise, ε large enough to move the loss)
  fx.cases.push_back("r3f");
  fx.param("r3f.kind", "r3f"), fx.param("r3f.lambda", 1.5);
  dump_noise("r3f", ptp::generator{.seed = 20}, [](at::Tensor& z, ptp::generator& g) { ptp::ops::fill_uniform(z, g, -0.1, 0.1); });
  run("r3f", ptp::regularizer(ptp::embedding::r3f{.epsilon = 0.1}, ptp::objective::consistency{.weight = 1.5}), ptp::generator{.seed = 20});
  // NEFTune with torch's generator on an all-ones mask (Hugging Face uses the padded length)
  const std::int64_t seed = 4321;
  fx.cases.push_back("neftune");
  fx.param("neftune.kind", "neftune"), fx.param("neftune.alpha", 5.0), fx.param("neftune.lambda", 1.0),
      fx.param("neftune.torch_seed", seed);
  auto ones = at::ones({B, L}, dbl);
  {
    ptp::torch::use_torch_generator scope;
    torch::manual_seed(seed);
    prompt->weight.mutable_grad() = at::zeros_like(prompt->weight);
    ptp::generator gen{.seed = 19};
    const double loss = ptp::regularizer(ptp::embedding::neftune{.alpha = 5.0}).loss(f, e, ones, gen);
    got["neftune"] = {last_input - e, prompt->weight.grad().clone(), loss};
    REQUIRE(gen.offset == 0);  // torch's generator was used, ptp's untouched
  }
  // …and on a padded batch, where ptp's real length differs from HF's padded one.
  auto ep = at::randn({B, L, d}, dbl);
  fx.write("neftune.padded_e", ep);
  at::Tensor ours_padded;
  {
    ptp::torch::use_torch_generator scope;
    torch::manual_seed(seed);
    ptp::generator gen{.seed = 19};
    ours_padded = ptp::embedding::neftune{.alpha = 5.0}.sample(ep, att, gen);
  }

  fx.run_python();

  for (const auto& c : fx.cases) {
    const auto& r = got.at(c);
    const auto pd = fx.read("py_" + c + "_delta", {B, L, d});
    const auto pg = fx.read("py_" + c + "_grad", {Pn, d});
    const double pl = fx.read_loss(c);
    const double ed = rel_err(r.delta, pd), eg = rel_err(r.grad, pg), el = std::abs(r.loss - pl) / std::abs(pl);
    std::printf("parity %-12s  delta %.3e  loss %.3e  prompt-grad %.3e   (|delta| max %.3g, loss %.6f)\n", c.c_str(), ed, el, eg,
                pd.abs().max().item<double>(), pl);
    INFO(c);
    CHECK(pd.abs().max().item<double>() > 0);  // a real perturbation was compared
    CHECK(ed <= tol);
    CHECK(el <= tol);
    CHECK(eg <= tol);
  }

  // NEFTune on the padded batch: ptp scales by the real length, so on real positions
  // δ_ptp = δ_HF·√(L_pad / L_b) exactly, and padding stays unperturbed (HF perturbs it).
  const auto hf = fx.read("py_neftune_padded_delta", {B, L, d});
  const auto len = att.sum(1);
  const auto expected = hf * at::sqrt(static_cast<double>(L) / len).view({B, 1, 1}) * att.unsqueeze(-1);
  const double ep_err = rel_err(ours_padded, expected);
  std::printf("parity neftune padded: ours vs HF·sqrt(L_pad/L_b) on real tokens %.3e\n", ep_err);
  CHECK(ep_err <= tol);
  CHECK(at::equal(ours_padded * (1 - att).unsqueeze(-1), at::zeros_like(ours_padded)));
  CHECK((hf * (1 - att).unsqueeze(-1)).abs().max().item<double>() > 0);
  CHECK(rel_err(ours_padded.select(0, 1), hf.select(0, 1)) > 0.1);  // the short row really differs
}
