// Embedding-space perturbation throughput on Eigen and xtensor, each beside a plain triad
// (a[i] = b[i] + s·c[i]) measured in the same run, so every figure reads as a ratio.
// Bytes counted: what each kernel must move through memory at least once —
//   triad 3 streams; Gaussian 1 (write δ; its cost is the generator); PGD ascent+projection
//   3 (read g, read δ, write δ); FreeLB update the same 3.
// Each at 1 and 2 threads: each thread runs the kernel on its own tensors (what two ranks or
// two data-loader threads do); bytes/s are summed over threads, over wall time.
#include <benchmark/benchmark.h>

#include <ptp/adapters/eigen.hpp>
#include <ptp/adapters/xtensor.hpp>
#include <ptp/ptp.hpp>

#include <vector>

namespace {

template <class T>
T make3(std::size_t B, std::size_t L, std::size_t d) {
  return ptp::backend<T>::zeros({B, L, d});
}
template <class M>
M ones2(std::size_t B, std::size_t L) {
  M m = ptp::backend<M>::zeros({B, L});
  auto* p = ptp::backend<M>::data(m);
  for (std::size_t i = 0; i < B * L; ++i) p[i] = 1;
  return m;
}

constexpr std::size_t B = 32, L = 128;

void triad(benchmark::State& state) {
  const std::size_t n = B * L * static_cast<std::size_t>(state.range(0));
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  const float s = 0.5f;
  for (auto _ : state) {
    float* __restrict pa = a.data();
    const float* __restrict pb = b.data();
    const float* __restrict pc = c.data();
    for (std::size_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 3 * n * sizeof(float)));
}

template <class T, class M>
void gaussian(benchmark::State& state) {
  const std::size_t d = static_cast<std::size_t>(state.range(0));
  T e = make3<T>(B, L, d);
  M mask = ones2<M>(B, L);
  ptp::generator gen{.seed = 1};
  const ptp::embedding::gaussian g{.sigma = 0.01, .relative = false};
  for (auto _ : state) {
    T delta = g.sample(e, mask, gen);
    benchmark::DoNotOptimize(ptp::backend<T>::data(delta));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * B * L * d * sizeof(float)));
}

template <class T>
void pgd_step(benchmark::State& state) {
  const std::size_t d = static_cast<std::size_t>(state.range(0));
  T delta = make3<T>(B, L, d), g = make3<T>(B, L, d);
  ptp::generator gen{.seed = 2};
  ptp::ops::fill_normal(g, gen, 1.0);
  for (auto _ : state) {
    ptp::ops::ascent_step(delta, g, 0.03, ptp::step_rule::l2, ptp::granularity::example, 0.3, ptp::norm_type::l2);
    benchmark::DoNotOptimize(ptp::backend<T>::data(delta));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 3 * B * L * d * sizeof(float)));
}

template <class T>
void freelb_update(benchmark::State& state) {
  const std::size_t d = static_cast<std::size_t>(state.range(0));
  T delta = make3<T>(B, L, d), g = make3<T>(B, L, d);
  ptp::generator gen{.seed = 3};
  ptp::ops::fill_normal(g, gen, 1.0);
  for (auto _ : state) {
    // FreeLB-L∞: g/‖g‖∞ per example, then clamp.
    ptp::ops::ascent_step(delta, g, 0.1, ptp::step_rule::linf, ptp::granularity::example, 0.5, ptp::norm_type::linf);
    benchmark::DoNotOptimize(ptp::backend<T>::data(delta));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 3 * B * L * d * sizeof(float)));
}

using E3 = ptp::eigen::tensor3<float>;
using E2 = ptp::eigen::tensor2<float>;
using X3 = xt::xtensor<float, 3>;
using X2 = xt::xtensor<float, 2>;

}  // namespace

BENCHMARK(triad)->Arg(768)->Arg(1024)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(gaussian<E3, E2>)->Name("gaussian/eigen")->Arg(768)->Arg(1024)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(gaussian<X3, X2>)->Name("gaussian/xtensor")->Arg(768)->Arg(1024)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(pgd_step<E3>)->Name("pgd_l2_step/eigen")->Arg(768)->Arg(1024)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(pgd_step<X3>)->Name("pgd_l2_step/xtensor")->Arg(768)->Arg(1024)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(freelb_update<E3>)->Name("freelb_linf_update/eigen")->Arg(768)->Arg(1024)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(freelb_update<X3>)->Name("freelb_linf_update/xtensor")->Arg(768)->Arg(1024)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_MAIN();
