// The landscape's LibTorch pieces: the prompt-space Differentiable (parameter_space, in
// examples/reproduce/landscape_space.hpp) against finite differences on a tiny model, its
// host bridge through ptp::landscape, and the gnuplot scripts on tiny synthetic inputs
// (gnuplot missing is a failure, not a skip: ./ptp setup installs gnuplot-nox).
#include <ptp/adapters/torch.hpp>
#include <ptp/landscape.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "catch.hpp"
#include "landscape_space.hpp"

namespace {

namespace fs = std::filesystem;

struct tiny {
  at::Tensor w = at::randn({3, 4}, at::kDouble).set_requires_grad(true);
  at::Tensor x = at::randn({5, 4}, at::kDouble);
  at::Tensor y = at::tensor(std::vector<std::int64_t>{0, 2, 1, 1, 0}, at::kLong);
  at::Tensor loss() { return ::torch::nn::functional::cross_entropy(at::tanh(x.matmul(w.t())) * 2.0, y); }
};

fs::path source_dir() {
  const char* s = std::getenv("PTP_SOURCE_DIR");  // set by CTest; the build's own path otherwise
  return s ? fs::path(s) : fs::path(PTP_TEST_SOURCE_DIR);
}

fs::path scratch(const std::string& name) {
  auto d = fs::temp_directory_path() / ("ptp_landscape_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

bool is_png(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char m[8] = {};
  in.read(m, 8);
  return in.gcount() == 8 && std::string(m + 1, 3) == "PNG" && fs::file_size(p) > 1000;
}

}  // namespace

TEST_CASE("parameter_space: gradient matches central finite differences", "[landscape][torch]") {
  ::torch::manual_seed(3);
  tiny m;
  ptp::repro::parameter_space f(m.w, [&] { return m.loss(); }, {3, 2, 2});
  const at::Tensor x0 = f.point() + 0.1;
  REQUIRE(x0.sizes() == at::IntArrayRef({3, 2, 2}));
  at::Tensor g;
  const double v = f.evaluate_with_gradient(x0, &g, 1.0);
  CHECK(v == Approx(f.evaluate(x0)).epsilon(1e-12));
  REQUIRE(g.sizes() == x0.sizes());
  const double h = 1e-6;
  auto flat = x0.reshape({-1});
  for (std::int64_t i = 0; i < flat.numel(); ++i) {
    auto xp = flat.clone(), xm = flat.clone();
    xp[i] += h;
    xm[i] -= h;
    const double fd = (f.evaluate(xp.view({3, 2, 2})) - f.evaluate(xm.view({3, 2, 2}))) / (2 * h);
    CHECK(g.reshape({-1})[i].item<double>() == Approx(fd).margin(1e-7));
  }
  f.restore();
  CHECK(at::equal(m.w.detach(), f.point().view({3, 4})));
  CHECK(m.w.requires_grad());
}

TEST_CASE("parameter_space through the host bridge: ptp::landscape surface around the parameter", "[landscape][torch]") {
  ::torch::manual_seed(5);
  tiny m;
  const at::Tensor before = m.w.detach().clone();
  double l0 = 0;
  {
    ptp::repro::parameter_space f(m.w, [&] { return m.loss(); });
    l0 = f.evaluate(f.point());
    ptp::repro::on_host<ptp::repro::parameter_space, 2> h(f, m.w.options());
    const auto x0 = ptp::repro::to_host<2>(f.point());
    ptp::generator gen{.seed = 11};
    const auto s = ptp::landscape::loss_surface(h, x0, gen, {.points = 5, .radius = 0.5});
    CHECK(s.center_loss == Approx(l0).epsilon(1e-5));  // float host copy
    CHECK(std::abs(s.direction_cosine) < 1e-5);
    CHECK(s.at(2, 2) == Approx(s.center_loss).epsilon(1e-6));
    CHECK(s.max_increase >= 0);
  }  // the destructor restores the parameter
  CHECK(at::equal(m.w.detach(), before));
}

TEST_CASE("plot_landscape.sh and plot_sweep.sh write PNGs from tiny inputs", "[landscape][plot]") {
  const auto dir = scratch("plot");
  const auto src = source_dir();
  for (const std::string m : {"vanilla", "ptp-rn"}) {
    std::ofstream csv(dir / ("landscape-embeddings-" + m + ".csv"));
    csv << "a,b,loss\n";
    for (int i = -2; i <= 2; ++i)
      for (int j = -2; j <= 2; ++j) csv << i / 2.0 << ',' << j / 2.0 << ',' << 0.5 + (m == "vanilla" ? 1.0 : 0.3) * (i * i + j * j) / 4.0 << '\n';
    std::ofstream js(dir / ("landscape-embeddings-" + m + ".json"));
    js << "{\n \"method\": \"" << m << "\",\n \"space\": \"embeddings\",\n \"center_loss\": 0.5,\n \"max_increase\": 0.1,\n"
       << " \"mean_increase\": 0.2,\n \"sharpness_radius\": 0.5\n}\n";
  }
  const auto png = dir / "landscape.png";
  const std::string cmd = "\"" + (src / "tools/plot_landscape.sh").string() + "\" \"" + png.string() + "\" \"" +
                          (dir / "landscape-embeddings-vanilla.csv").string() + "\" \"" + (dir / "landscape-embeddings-ptp-rn.csv").string() +
                          "\" > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(is_png(png));

  {
    std::ofstream jl(dir / "r.jsonl");
    for (const std::string m : {"vanilla", "ptp-rn"})
      for (int s = 1; s <= 3; ++s)
        jl << "{\"config\":{\"epochs\":1},\"key\":\"k\",\"method\":\"" << m << "\",\"metrics\":{\"accuracy\":" << 0.5 + 0.01 * s
           << ",\"best_epoch\":1,\"majority\":0.375},\"seed\":" << s << ",\"task\":\"WiC\",\"wall_seconds\":1.0}\n";
    jl << "{\"config\":{\"epochs\":1},\"key\":\"torn";  // a torn tail is skipped
  }
  const auto spng = dir / "sweep.png";
  const std::string cmd2 = "PTP_PLOT_GP=\"" + (dir / "sweep.gp").string() + "\" \"" + (src / "tools/plot_sweep.sh").string() + "\" \"" + (dir / "r.jsonl").string() + "\" \"" +
                           spng.string() + "\" > /dev/null";
  REQUIRE(std::system(cmd2.c_str()) == 0);
  CHECK(is_png(spng));
  // the majority-class rate (metrics.majority, a fraction) is drawn as a line at 37.5 %
  std::ifstream gp(dir / "sweep.gp");
  const std::string script((std::istreambuf_iterator<char>(gp)), std::istreambuf_iterator<char>());
  CHECK(script.find("37.5 with lines dt 2 lw 2 lc rgb '#777777' title 'majority class'") != std::string::npos);
  fs::remove_all(dir);
}
