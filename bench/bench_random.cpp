// ptp::generator::fill_normal throughput (normals/s), against the scalar path of the same
// stream, the previous double-precision Box–Muller, and raw Philox bits.
// torch.randn's rate on the same machine: bench/py_randn_bench.py (BENCHMARKS.md, "Random
// numbers"). Built without -march flags: the AVX-512/AVX2 paths are picked at run time, as
// in a user's build. Each benchmark runs at 1 and at 2 threads (each thread fills its own
// buffer from its own generator; items/s are summed over threads, over wall time).
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <span>
#include <vector>

#include "ptp/random.hpp"

namespace {

// fill_normal as users call it (widest path this CPU has).
template <class T>
void fill_normal(benchmark::State& state) {
  std::vector<T> v(static_cast<std::size_t>(state.range(0)));
  ptp::generator gen{.seed = 1};
  for (auto _ : state) {
    gen.fill_normal(std::span{v}, 0.0, 1.0);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The same stream on a forced path: 0 = scalar reference, 1 = AVX2+FMA, 2 = AVX-512.
void fill_normal_level(benchmark::State& state) {
  std::vector<float> v(static_cast<std::size_t>(state.range(0)));
  const int level = static_cast<int>(state.range(1));
  if (ptp::detail::normal::level(level) != level) {
    state.SkipWithError("this CPU lacks that path");
    return;
  }
  std::uint64_t offset = 0;
  for (auto _ : state) {
    ptp::detail::normal::fill(offset, {0, 0}, {1, 0}, std::span{v}, 0.0, 1.0, level);
    offset += v.size() / 4;
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The stream before issue 21: scalar Box–Muller in double (std::log/sqrt/cos/sin).
void fill_normal_previous(benchmark::State& state) {
  std::vector<float> v(static_cast<std::size_t>(state.range(0)));
  ptp::generator gen{.seed = 1};
  for (auto _ : state) {
    const std::size_t n = v.size();
    for (std::size_t i = 0; i < n; i += 4) {
      const auto b = gen.block(gen.offset + i / 4);
      double z[4];
      for (int pair = 0; pair < 2; ++pair) {
        const double r = std::sqrt(-2.0 * std::log(ptp::uniform_open01(b[2 * pair])));
        const double t = 2.0 * std::numbers::pi * ptp::uniform_open01(b[2 * pair + 1]);
        z[2 * pair] = r * std::cos(t);
        z[2 * pair + 1] = r * std::sin(t);
      }
      for (std::size_t lane = 0; lane < 4 && i + lane < n; ++lane) v[i + lane] = static_cast<float>(z[lane]);
    }
    gen.offset += (n + 3) / 4;
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Reference: the raw Philox words alone (the generator's share of a normal).
void philox_bits(benchmark::State& state) {
  std::vector<std::uint32_t> v(static_cast<std::size_t>(state.range(0)));
  const ptp::generator gen{.seed = 1};
  std::uint64_t offset = 0;
  for (auto _ : state) {
    gen.bits_at(offset, v);
    offset += v.size() / 4;
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

BENCHMARK(fill_normal<float>)->Name("fill_normal/float")->Arg(4096)->Arg(1 << 20)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(fill_normal<double>)->Name("fill_normal/double")->Arg(1 << 20)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(fill_normal_level)->Name("fill_normal/float/level")->Args({1 << 20, 0})->Args({1 << 20, 1})->Args({1 << 20, 2})->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(fill_normal_previous)->Name("fill_normal/float/previous_double_stream")->Arg(1 << 20)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(philox_bits)->Name("philox_bits")->Arg(1 << 20)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_MAIN();
