// eigen_soft_prompt.cpp — prompt tuning with PTP regularizers on your own Eigen model.
//
// The model is yours: a tiny frozen "encoder" (a fixed random tanh projection, mean-pooled
// over the real tokens) with a trainable soft prompt prepended to the input and a trainable
// linear head. You write its forward pass and its gradients; ptp draws or ascends to the
// embedding perturbation δ, evaluates the objective clean + λ·perturbed, and accumulates
// the parameters' gradients through your logits_backward. Plain Adam does the rest.
//
// Task: sequences of 4–10 tokens over a 24-word vocabulary (embeddings: a fixed random
// table); label 1 when the sequence holds more "positive" words (ids 0–5) than "negative"
// ones (6–11), with 10% label noise in the 64 training examples. Prints dev accuracy,
// mean ± std over 5 seeds, for vanilla prompt tuning, PTP-RN (Gaussian) and PTP-ADV (PGD).
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include <ptp/adapters/eigen.hpp>
#include <ptp/ptp.hpp>

using T3 = ptp::eigen::tensor3<float>;  // B×L×d embeddings (row-major)
using T2 = ptp::eigen::tensor2<float>;  // B×L masks, B×C logits, P×d prompt, weights

constexpr long V = 24, d = 16, H = 48, C = 2, P = 4, Lmax = 10;

// ---- the user's model: frozen tanh encoder + soft prompt + linear head --------------------
struct model {
  ptp::soft_prompt<T2, T3> prompt;  // θ: P×d, trainable
  T2 U, c;                          // frozen encoder: h = tanh(Uᵀx + c)
  T2 W, gW;                         // trainable head C×H and its gradient
  const T2* mask = nullptr;         // B×L mask of the current batch (pooling skips padding)

  model(ptp::generator& frozen, ptp::generator& init) : prompt(P, d, init, 0.5), U(d, H), c(1, H), W(C, H), gW(C, H) {
    ptp::ops::fill_normal(U, frozen, 1.0 / std::sqrt(double(d)));
    ptp::ops::fill_normal(c, frozen, 0.1);
    ptp::ops::fill_normal(W, init, 0.1);
    gW.setZero();
  }
  // Pooled features of example b: mean of h over the P prompt tokens and its real tokens.
  void features(const T3& x, long b, long L, Eigen::Tensor<float, 2, Eigen::RowMajor>& h, std::vector<float>& pool) const {
    long n = 0;
    std::fill(pool.begin(), pool.end(), 0.f);
    for (long l = 0; l < P + L; ++l) {
      const bool real = l < P || (*mask)(b, l - P) != 0;
      for (long k = 0; k < H; ++k) {
        float a = c(0, k);
        for (long j = 0; j < d; ++j) a += x(b, l, j) * U(j, k);
        h(l, k) = real ? std::tanh(a) : 0.f;
        pool[k] += h(l, k);
      }
      n += real;
    }
    for (auto& p : pool) p /= float(n);
  }
  T2 logits(const T3& e) const {
    const T3 x = prompt.join(e);
    const long B = e.dimension(0), L = e.dimension(1);
    T2 z(B, C), h(P + L, H);
    std::vector<float> pool(H);
    for (long b = 0; b < B; ++b) {
      features(x, b, L, h, pool);
      for (long k = 0; k < C; ++k) z(b, k) = std::inner_product(pool.begin(), pool.end(), &W(k, 0), 0.f);
    }
    return z;
  }
  // Vector–Jacobian product: ∂L/∂e into *ge (if asked), w·∂L/∂θ added to the prompt and head.
  void logits_backward(const T3& e, const T2& dz, T3* ge, double w) {
    const T3 x = prompt.join(e);
    const long B = e.dimension(0), L = e.dimension(1);
    T3 gx(B, P + L, d);
    gx.setZero();
    T2 h(P + L, H);
    std::vector<float> pool(H), dpool(H);
    for (long b = 0; b < B; ++b) {
      features(x, b, L, h, pool);
      long n = P;
      for (long l = 0; l < L; ++l) n += (*mask)(b, l) != 0;
      for (long k = 0; k < H; ++k) {
        dpool[k] = 0;
        for (long o = 0; o < C; ++o) {
          dpool[k] += dz(b, o) * W(o, k);
          gW(o, k) += float(w) * dz(b, o) * pool[k];
        }
      }
      for (long l = 0; l < P + L; ++l) {
        if (l >= P && (*mask)(b, l - P) == 0) continue;  // padding: not pooled, zero gradient
        for (long k = 0; k < H; ++k) {
          const float da = dpool[k] / float(n) * (1 - h(l, k) * h(l, k));
          for (long j = 0; j < d; ++j) gx(b, l, j) += da * U(j, k);
        }
      }
    }
    prompt.split_gradient(gx, ge, w);
  }
};

// ---- data -----------------------------------------------------------------------------
struct dataset {
  T3 e;
  T2 mask;
  std::vector<std::int64_t> y;
};
dataset make_data(long n, const T2& table, ptp::generator& gen, double label_noise) {
  dataset ds{T3(n, Lmax, d), T2(n, Lmax), std::vector<std::int64_t>(n)};
  ds.e.setZero();
  ds.mask.setZero();
  for (long b = 0; b < n; ++b) {
    const long len = 4 + long(gen.below(Lmax - 3));
    int score = 0;
    for (long l = 0; l < len; ++l) {
      const long t = long(gen.below(V));
      score += t < 6 ? 1 : t < 12 ? -1 : 0;
      for (long j = 0; j < d; ++j) ds.e(b, l, j) = table(t, j);
      ds.mask(b, l) = 1;
    }
    ds.y[b] = score > 0;
    if (gen.uniform() < label_noise) ds.y[b] = 1 - ds.y[b];
  }
  return ds;
}
dataset slice(const dataset& ds, const std::vector<long>& idx) {
  const long n = long(idx.size());
  dataset out{T3(n, Lmax, d), T2(n, Lmax), {}};
  for (long i = 0; i < n; ++i) {
    out.e.chip(i, 0) = ds.e.chip(idx[i], 0);
    out.mask.chip(i, 0) = ds.mask.chip(idx[i], 0);
    out.y.push_back(ds.y[idx[i]]);
  }
  return out;
}

// ---- Adam, inline ------------------------------------------------------------------------
struct adam {
  double lr = 0.05, b1 = 0.9, b2 = 0.999;
  std::vector<float> m, v;
  long t = 0;
  void step(std::initializer_list<std::pair<float*, const float*>> params, std::initializer_list<long> sizes) {
    long total = std::accumulate(sizes.begin(), sizes.end(), 0L), off = 0;
    if (m.empty()) m.assign(total, 0.f), v.assign(total, 0.f);
    ++t;
    auto s = sizes.begin();
    for (auto [p, g] : params) {
      for (long i = 0; i < *s; ++i, ++off) {
        m[off] = float(b1 * m[off] + (1 - b1) * g[i]);
        v[off] = float(b2 * v[off] + (1 - b2) * g[i] * g[i]);
        p[i] -= float(lr * (m[off] / (1 - std::pow(b1, t))) / (std::sqrt(v[off] / (1 - std::pow(b2, t))) + 1e-8));
      }
      ++s;
    }
  }
};

// ---- one training run: 40 epochs of batches of 16, then dev accuracy ---------------------
template <class Reg>
double train(const Reg& reg, std::uint64_t seed, const dataset& train_set, const dataset& dev, ptp::generator frozen) {
  ptp::generator init{.seed = seed, .stream = 1}, noise{.seed = seed, .stream = 2}, order{.seed = seed, .stream = 3};
  model m(frozen, init);
  adam opt;
  const long n = long(train_set.y.size());
  std::vector<long> idx(n);
  for (int epoch = 0; epoch < 40; ++epoch) {
    std::iota(idx.begin(), idx.end(), 0L);
    for (long i = n - 1; i > 0; --i) std::swap(idx[i], idx[order.below(i + 1)]);  // shuffle
    for (long s = 0; s < n; s += 16) {
      const dataset batch = slice(train_set, std::vector<long>(idx.begin() + s, idx.begin() + std::min(n, s + 16)));
      m.mask = &batch.mask;
      ptp::supervised<model, T3> f(m, batch.y);  // the model + labels: a Differentiable
      m.prompt.zero_grad();
      m.gW.setZero();
      reg.loss(f, batch.e, batch.mask, noise);  // adds ∇θ of clean + λ·perturbed
      opt.step({{m.prompt.parameters().data(), m.prompt.gradient().data()}, {m.W.data(), m.gW.data()}},
               {P * d, C * H});
    }
  }
  m.mask = &dev.mask;
  const T2 z = m.logits(dev.e);
  long correct = 0;
  for (long b = 0; b < z.dimension(0); ++b) correct += (z(b, 1) > z(b, 0)) == (dev.y[b] == 1);
  return 100.0 * double(correct) / double(z.dimension(0));
}

int main() {
  ptp::generator data_gen{.seed = 2023};
  T2 table(V, d);  // the fixed "pretrained" word embeddings
  ptp::ops::fill_normal(table, data_gen, 1.0);
  const dataset train_set = make_data(64, table, data_gen, 0.1), dev = make_data(1000, table, data_gen, 0.0);
  const ptp::generator frozen{.seed = 7};  // the frozen encoder is the same in every run

  auto report = [&](const char* name, const auto& reg) {
    std::vector<double> acc;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) acc.push_back(train(reg, seed, train_set, dev, frozen));
    const double mean = std::accumulate(acc.begin(), acc.end(), 0.0) / acc.size();
    double var = 0;
    for (double a : acc) var += (a - mean) * (a - mean) / (acc.size() - 1);
    std::printf("%-30s %6.2f ± %.2f\n", name, mean, std::sqrt(var));
  };
  std::printf("%-30s %s\n", "method", "dev accuracy % (mean ± std, 5 seeds)");
  report("vanilla prompt tuning", ptp::regularizer());
  // σ is relative to the embeddings' RMS; δ goes on the real tokens only (the mask).
  report("PTP-RN  (Gaussian, sigma 0.1)", ptp::regularizer(ptp::embedding::gaussian{.sigma = 0.1}));
  // PGD on the per-example L2 ball: 3 ascent steps of 0.05, radius 0.1; clean + 1·perturbed.
  report("PTP-ADV (PGD-3, eps 0.1)",
         ptp::regularizer(ptp::embedding::pgd{.steps = 3, .step_size = 0.05, .epsilon = 0.1},
                          ptp::objective::clean_plus_perturbed{.weight = 1.0}));
}
