// bench/bench_train_step.cpp — one P-tuning v2 training step on the packaged MiniLM (real
// weights, frozen), CPU: vanilla, PTP-RN (Gaussian), PGD-3 and FreeLB-3, each a full step
// (word-embedding lookup, forward, backward, AdamW); and, under batched/B<b>_L128/, vanilla,
// PTP-RN and PTP-RN with ptp::batched_passes (clean + perturbed as one 2B pass; run by
// bench/batched_passes.sh). References measured in the same run:
//  * the vanilla step itself — a method's overhead is time / (passes × vanilla);
//  * torch::mm 2048×2048 fp32 — the machine's GEMM rate, against which the vanilla step's
//    achieved GFLOP/s (model FLOPs counted by step_flops below) is read.
// bench/py_train_step.py does the same work in Python (transformers + the same torch wheel)
// on the inputs this program writes (--ptp_write_inputs); bench/train_step.sh runs both
// interleaved and prints the combined table (BENCHMARKS.md "Training step (MiniLM, CPU)").
//
// Flags (before Google Benchmark's own):
//   --ptp_write_inputs=DIR   write DIR/inputs_B<b>_L<l>.pt (torch.load-able) and exit
//   --ptp_rss=B,L,METHOD     build the model, run 3 steps, print peak RSS as JSON and exit
//                            (one process per config, so peaks do not mix)
// Environment: PTP_BENCH_THREADS (intra-op threads, default 1), PTP_BENCH_ITERS (timed steps
// per benchmark, default 2), PTP_MODEL_DIR (else examples/reproduce/packaged_models.hpp's
// find_default_model()).
#include <benchmark/benchmark.h>

#include <ptp/adapters/torch.hpp>
#include <ptp/ptp.hpp>
#include <torch/torch.h>

#include "packaged_models.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace {

constexpr std::int64_t kPsl = 8;          // P-tuning v2 prefix length
constexpr std::int64_t kClasses = 2;
constexpr std::uint64_t kSeed = 20240607;

struct config {
  std::int64_t batch, length;
};
// B1 L2 ([CLS] [SEP]) is a probe of the per-step fixed cost (dispatch, autograd, module
// plumbing): next to no arithmetic, the same call path.
const std::vector<config> kConfigs = {{16, 128}, {2, 256}, {1, 2}};
bool is_probe(const config& c) { return c.batch * c.length < 64; }

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
int threads() { return env_int("PTP_BENCH_THREADS", 1); }

ptp::torch::pretrained_encoder& backbone() {
  static ptp::torch::pretrained_encoder model = [] {
    auto [m, report] = ptp::torch::load_pretrained_encoder(ptp::repro::find_default_model(), {.freeze = true});
    (void)report;
    m->train();  // dropout on, as in training
    return m;
  }();
  return model;
}

/// The step's inputs, identical in C++ and Python (written by --ptp_write_inputs).
struct inputs {
  at::Tensor ids, mask, labels;             // B×L int64, B×L int64 (1 = token), B int64
  at::Tensor prefix_weight;                 // psl × (layers·2·hidden): the prefix table
  at::Tensor cls_weight, cls_bias;          // C×H, C
};

/// Deterministic from kSeed: row b has a real length in [L/2, L] ([CLS] … [SEP], ids drawn
/// from the WordPiece range 1000..30521), then padding (id 0, mask 0); the first row is full
/// length so the batch is L wide. Prefix table N(0, 1) (nn.Embedding's init), head U(±1/√H).
inputs make_inputs(const config& c) {
  const auto& cfg = backbone()->config();
  ptp::generator gen{.seed = kSeed, .stream = static_cast<std::uint64_t>(c.batch * 1000 + c.length)};
  inputs in;
  in.ids = at::zeros({c.batch, c.length}, at::kLong);
  in.mask = at::zeros({c.batch, c.length}, at::kLong);
  in.labels = at::zeros({c.batch}, at::kLong);
  auto ids = in.ids.accessor<std::int64_t, 2>();
  auto mask = in.mask.accessor<std::int64_t, 2>();
  for (std::int64_t b = 0; b < c.batch; ++b) {
    const auto len = b == 0 ? c.length : c.length / 2 + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(c.length / 2 + 1)));
    for (std::int64_t t = 0; t < len; ++t) {
      ids[b][t] = t == 0 ? 101 : t == len - 1 ? 102 : 1000 + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(cfg.vocab_size - 1000)));
      mask[b][t] = 1;
    }
    in.labels[b] = static_cast<std::int64_t>(gen.below(kClasses));
  }
  in.prefix_weight = at::zeros({kPsl, cfg.num_hidden_layers * 2 * cfg.hidden_size}, at::kFloat);
  gen.fill_normal(std::span<float>(in.prefix_weight.data_ptr<float>(), static_cast<std::size_t>(in.prefix_weight.numel())), 0.0, 1.0);
  const double bound = 1.0 / std::sqrt(static_cast<double>(cfg.hidden_size));
  in.cls_weight = at::zeros({kClasses, cfg.hidden_size}, at::kFloat);
  in.cls_bias = at::zeros({kClasses}, at::kFloat);
  gen.fill_uniform(std::span<float>(in.cls_weight.data_ptr<float>(), static_cast<std::size_t>(in.cls_weight.numel())), -bound, bound);
  gen.fill_uniform(std::span<float>(in.cls_bias.data_ptr<float>(), static_cast<std::size_t>(in.cls_bias.numel())), -bound, bound);
  return in;
}

/// Model FLOPs of one vanilla step (written down in BENCHMARKS.md). N = B·L token positions
/// (padding included: the model computes them), S = psl + L keys, n layers, H hidden, I
/// intermediate:
///   forward  linear    F_lin  = n · 2N · (4H² + 2HI)           (Q, K, V, O, FFN in/out)
///            attention F_attn = n · 4N·S·H                     (QKᵀ and AV over all heads)
///   backward frozen weights: no weight-gradient GEMMs; activation gradients flow back to the
///            layer-0 prefix, so every Linear's input gradient (1× its forward) and the
///            attention's dP, dS→dQ, dK, dV (2× its forward) — except layer 0's Q/K/V input
///            gradients (the input needs none in a vanilla step): −2N·3H².
///   total ≈ 2·F_lin + 3·F_attn − 6NH²   (LayerNorm, GELU, softmax, pooler, head excluded)
double step_flops(const config& c) {
  const auto& cfg = backbone()->config();
  const double N = static_cast<double>(c.batch * c.length), S = static_cast<double>(kPsl + c.length);
  const double H = static_cast<double>(cfg.hidden_size), I = static_cast<double>(cfg.intermediate_size);
  const double n = static_cast<double>(cfg.num_hidden_layers);
  const double f_lin = n * 2 * N * (4 * H * H + 2 * H * I);
  const double f_attn = n * 4 * N * S * H;
  return 2 * f_lin + 3 * f_attn - 6 * N * H * H;
}

/// P-tuning v2 around the frozen backbone: deep prefix (psl 8, dropout 0.1, no projection)
/// and a classification head (dropout 0.1 → Linear(H, 2)) on the pooled [CLS] state, the
/// assembly of examples/reproduce/runner.hpp.
struct ptv2_model {
  ptp::torch::prefix_encoder prefix{nullptr};
  ::torch::nn::Dropout dropout{nullptr};
  ::torch::nn::Linear classifier{nullptr};
  std::unique_ptr<::torch::optim::AdamW> optimizer;

  explicit ptv2_model(const inputs& in) {
    const auto& cfg = backbone()->config();
    prefix = ptp::torch::prefix_encoder(ptp::torch::prefix_encoder_options{.length = kPsl,
                                                                          .layers = cfg.num_hidden_layers,
                                                                          .hidden = cfg.hidden_size,
                                                                          .heads = cfg.num_attention_heads,
                                                                          .dropout = 0.1});
    dropout = ::torch::nn::Dropout(cfg.hidden_dropout_prob);
    classifier = ::torch::nn::Linear(cfg.hidden_size, kClasses);
    {
      ::torch::NoGradGuard ng;
      prefix->embedding->weight.copy_(in.prefix_weight);
      classifier->weight.copy_(in.cls_weight);
      classifier->bias.copy_(in.cls_bias);
    }
    prefix->train();
    dropout->train();
    optimizer = ptp::torch::adamw(parameters(), {.lr = 1e-2, .weight_decay = 0.01});
  }
  std::vector<at::Tensor> parameters() const {
    auto p = prefix->parameters();
    for (auto& t : classifier->parameters()) p.push_back(t);
    return p;
  }
  at::Tensor forward(const at::Tensor& e, const at::Tensor& mask) {
    ptp::torch::kv_prefixes kv;
    for (auto& lp : prefix->forward(e.size(0), e)) kv.emplace_back(lp.key, lp.value);
    auto out = backbone()->forward_embeds(e, {}, mask, kv);
    return classifier->forward(dropout->forward(out.pooled_output));
  }
};

enum class method { vanilla, rn, pgd, freelb, rn_batched };
const char* method_name(method m) {
  switch (m) {
    case method::vanilla: return "vanilla";
    case method::rn: return "rn";
    case method::rn_batched: return "rn_batched";
    case method::pgd: return "pgd3";
    case method::freelb: return "freelb3";
  }
  return "?";
}
method parse_method(const std::string& s) {
  for (auto m : {method::vanilla, method::rn, method::pgd, method::freelb, method::rn_batched})
    if (s == method_name(m)) return m;
  throw std::invalid_argument("unknown method '" + s + "' (vanilla, rn, pgd3, freelb3, rn_batched)");
}

/// One training step's runner for method m: (loss, passes) per call.
struct stepper {
  inputs in;
  ptv2_model model;
  ptp::torch::autograd_model f;
  ptp::generator gen{.seed = kSeed + 1};
  method m;

  stepper(const config& c, method which)
      : in(make_inputs(c)),
        model(in),
        f([this](const at::Tensor& e, const at::Tensor& mask) { return model.forward(e, mask); }, model.parameters(),
          in.mask, in.labels, {.stackable = which == method::rn_batched}),
        m(which) {}

  template <class Reg>
  std::pair<double, std::size_t> run(const Reg& reg) {
    at::Tensor e;
    {
      ::torch::NoGradGuard ng;
      e = backbone()->embed_words(in.ids);
    }
    model.optimizer->zero_grad();
    auto r = reg.loss_and_passes(f, e, in.mask, gen);
    model.optimizer->step();
    return r;
  }
  std::pair<double, std::size_t> step() {
    namespace pe = ptp::embedding;
    static const auto vanilla = ptp::regularizer();
    static const auto rn = ptp::regularizer(pe::gaussian{.sigma = 1e-2});
    static const auto rn_batched = ptp::regularizer(ptp::batched_passes{}, pe::gaussian{.sigma = 1e-2});
    static const auto pgd = ptp::regularizer(pe::pgd{.steps = 3, .step_size = 0.03, .epsilon = 0.3,
                                                     .init = pe::init_kind::zero, .norm = ptp::norm_type::l2});
    static const auto freelb = ptp::regularizer(pe::freelb{.steps = 3, .step_size = 0.1, .epsilon = 0.0,
                                                           .init = pe::init_kind::random, .init_magnitude = 0.2,
                                                           .norm = ptp::norm_type::l2});
    switch (m) {
      case method::vanilla: return run(vanilla);
      case method::rn: return run(rn);
      case method::pgd: return run(pgd);
      case method::freelb: return run(freelb);
      case method::rn_batched: return run(rn_batched);
    }
    return {0, 0};
  }
};

void bm_step(benchmark::State& state, config c, method m) {
  at::set_num_threads(threads());
  stepper s(c, m);
  auto warm = s.step();  // allocates AdamW's moments and warms the allocator
  for (auto _ : state) {
    auto r = s.step();
    benchmark::DoNotOptimize(r.first);
  }
  state.SetItemsProcessed(state.iterations() * c.batch * c.length);
  state.counters["passes"] = static_cast<double>(warm.second);
  state.counters["model_flop"] = step_flops(c);
  state.counters["threads"] = threads();
}

void bm_gemm(benchmark::State& state) {
  at::set_num_threads(threads());
  const std::int64_t n = 2048;
  auto a = at::randn({n, n}), b = at::randn({n, n}), out = at::empty({n, n});
  at::mm_out(out, a, b);
  for (auto _ : state) {
    at::mm_out(out, a, b);
    benchmark::DoNotOptimize(out.data_ptr<float>());
    benchmark::ClobberMemory();
  }
  state.counters["flop"] = 2.0 * n * n * n;
  state.counters["threads"] = threads();
}

long maxrss_kib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

int write_inputs(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const auto& c : kConfigs) {
    const auto in = make_inputs(c);
    c10::Dict<std::string, at::Tensor> d;
    d.insert("input_ids", in.ids);
    d.insert("attention_mask", in.mask);
    d.insert("labels", in.labels);
    d.insert("prefix_weight", in.prefix_weight);
    d.insert("cls_weight", in.cls_weight);
    d.insert("cls_bias", in.cls_bias);
    d.insert("psl", at::tensor(std::vector<std::int64_t>{kPsl}));
    d.insert("model_flop", at::tensor(std::vector<double>{step_flops(c)}, at::kDouble));
    const auto bytes = ::torch::pickle_save(c10::IValue(d));
    const auto path = dir / ("inputs_B" + std::to_string(c.batch) + "_L" + std::to_string(c.length) + ".pt");
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
    std::printf("%s\n", path.c_str());
  }
  std::printf("model_dir %s\n", ptp::repro::find_default_model().c_str());
  return 0;
}

int rss(const std::string& spec) {
  at::set_num_threads(threads());
  config c{};
  char name[32] = {0};
  if (std::sscanf(spec.c_str(), "%ld,%ld,%31s", &c.batch, &c.length, name) != 3)
    throw std::invalid_argument("--ptp_rss=B,L,METHOD");
  const auto m = parse_method(name);
  backbone();
  const long loaded = maxrss_kib();
  stepper s(c, m);
  for (int i = 0; i < 3; ++i) s.step();
  std::printf("{\"lang\": \"cpp\", \"batch\": %ld, \"length\": %ld, \"method\": \"%s\", \"maxrss_loaded_kib\": %ld, "
              "\"maxrss_kib\": %ld}\n",
              c.batch, c.length, name, loaded, maxrss_kib());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--ptp_write_inputs=", 0) == 0) return write_inputs(a.substr(std::strlen("--ptp_write_inputs=")));
    if (a.rfind("--ptp_rss=", 0) == 0) return rss(a.substr(std::strlen("--ptp_rss=")));
    rest.push_back(argv[i]);
  }
  const int iters = env_int("PTP_BENCH_ITERS", 2);
  benchmark::RegisterBenchmark("gemm_2048", bm_gemm)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->Iterations(std::max(iters, 3));
  for (const auto& c : kConfigs)
    for (auto m : {method::vanilla, method::rn, method::pgd, method::freelb}) {
      const auto name = "step/B" + std::to_string(c.batch) + "_L" + std::to_string(c.length) + "/" + method_name(m);
      benchmark::RegisterBenchmark(name.c_str(), [c, m](benchmark::State& st) { bm_step(st, c, m); })
          ->Unit(benchmark::kMillisecond)
          ->MeasureProcessCPUTime()
          ->Iterations(is_probe(c) ? 20 * iters : iters);
    }
  // ptp::batched_passes against two passes (bench/batched_passes.sh), at B 8 and 16
  for (const auto b : {std::int64_t{8}, std::int64_t{16}})
    for (auto m : {method::vanilla, method::rn, method::rn_batched}) {
      const config c{b, 128};
      const auto name = "batched/B" + std::to_string(b) + "_L128/" + method_name(m);
      benchmark::RegisterBenchmark(name.c_str(), [c, m](benchmark::State& st) { bm_step(st, c, m); })
          ->Unit(benchmark::kMillisecond)
          ->MeasureProcessCPUTime()
          ->Iterations(iters);
    }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
