// ptp/adapters/torch/backend.hpp — ptp::backend<torch::Tensor>: every operation the core
// dispatches to (backend.hpp, losses.hpp), written with torch ops so it runs on any device
// and any floating dtype without leaving the device. Host values cross only where the API
// returns them (dot, all_finite, norms, mask_lengths, the losses' scalar value) or takes them
// (per-example factors, class labels: B numbers uploaded).
//
// Randomness: by default fill_normal / fill_uniform draw from ptp's counter-based generator
// on the host, in the tensor's dtype (float/double; other dtypes through float), and copy the
// block to the tensor's device — so a seed gives the same bits as the Eigen and xtensor
// backends. Inside a ptp::torch::use_torch_generator scope they draw from torch's own
// generator instead (on device, no copy; bits then match PyTorch code seeded the same way,
// e.g. Hugging Face's NEFTune hook, not the other ptp backends).
//
// Note on names: this adapter lives in namespace ptp::torch, so inside namespace ptp the
// library is spelled ::torch.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ptp/backend.hpp"
#include "ptp/losses.hpp"
#include "ptp/random.hpp"

namespace ptp {

namespace torch {

/// While alive, ptp's random fills on torch tensors (this thread) draw from torch's generator
/// — `gen` if given, else the default generator of the tensor's device — instead of ptp's.
/// The ptp::generator passed to the call is then left untouched.
/// @code
///   ::torch::manual_seed(0);
///   ptp::torch::use_torch_generator scope;          // the same draws as PyTorch code
///   auto delta = ptp::embedding::neftune{.alpha = 5}.sample(e, mask, gen);
/// @endcode
class use_torch_generator {
 public:
  explicit use_torch_generator(std::optional<at::Generator> gen = std::nullopt) : previous_(current_()) {
    current_() = state{true, std::move(gen)};
  }
  ~use_torch_generator() { current_() = previous_; }
  use_torch_generator(const use_torch_generator&) = delete;
  use_torch_generator& operator=(const use_torch_generator&) = delete;

  /// Whether a scope is active on this thread, and its generator (nullopt: device default).
  [[nodiscard]] static bool active() { return current_().on; }
  [[nodiscard]] static std::optional<at::Generator> generator() { return current_().gen; }

 private:
  struct state {
    bool on = false;
    std::optional<at::Generator> gen;
  };
  static state& current_() {
    thread_local state s;
    return s;
  }
  state previous_;
};

/// While alive, ptp's random fills on torch tensors (this thread) are keyed by row: row b of
/// a filled tensor (its first dimension) draws from a sub-stream of (seed, stream, offset) and
/// of its global index `first_row + b`, and each fill advances the generator by one block,
/// whatever the shape. A data-parallel rank whose share of the batch starts at global row
/// `first_row` then perturbs each example exactly as one process does on the joined batch,
/// however the batch is split or padded (positions past a row's length are masked anyway).
/// Fills outside a scope are unchanged (the generator's plain stream).
/// @code
///   ptp::torch::keyed_noise scope(share.begin);   // this rank's rows start there
///   double loss = ptp::torch::train_step(reg, f, e, mask, gen, *opt);
/// @endcode
class keyed_noise {
 public:
  explicit keyed_noise(std::int64_t first_row) : previous_(current_()) { current_() = first_row; }
  ~keyed_noise() { current_() = previous_; }
  keyed_noise(const keyed_noise&) = delete;
  keyed_noise& operator=(const keyed_noise&) = delete;
  /// The first row's global index while a scope is active on this thread.
  [[nodiscard]] static std::optional<std::int64_t> first_row() { return current_(); }

  /// The generator of global row `row` for the fill at `gen`'s position (SplitMix64 mixing).
  [[nodiscard]] static generator row_generator(const generator& gen, std::int64_t row) {
    return generator{.seed = mix(gen.seed ^ mix(gen.offset + 0x6B657965644E6F69ull)), .stream = mix(gen.stream ^ mix(static_cast<std::uint64_t>(row) + 1)),
                     .offset = 0};
  }

 private:
  static constexpr std::uint64_t mix(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  static std::optional<std::int64_t>& current_() {
    thread_local std::optional<std::int64_t> s;
    return s;
  }
  std::optional<std::int64_t> previous_;
};

namespace detail {

// The (blocks, block size) view of a B×L×d tensor for a granularity, as a 2-D reshape.
inline std::pair<std::int64_t, std::int64_t> blocks(const at::Tensor& t, granularity g) {
  const auto n = t.numel();
  if (n == 0) return {0, 0};
  switch (g) {
    case granularity::token: return {n / t.size(-1), t.size(-1)};
    case granularity::example: return {t.size(0), n / t.size(0)};
    case granularity::global: return {1, n};
  }
  return {1, n};
}

// Fills host tensor h (contiguous) row by row from keyed_noise's row generators; `draw`
// fills one row's span from a generator. Advances gen by one block.
template <class V, class Draw>
void keyed_fill(at::Tensor& h, generator& gen, std::int64_t first_row, Draw&& draw) {
  const auto rows = h.dim() == 0 ? std::int64_t{1} : h.size(0);
  const auto per_row = rows == 0 ? 0 : h.numel() / rows;
  V* p = h.data_ptr<V>();
  for (std::int64_t b = 0; b < rows; ++b) {
    auto g = keyed_noise::row_generator(gen, first_row + b);
    draw(g, std::span<V>(p + b * per_row, static_cast<std::size_t>(per_row)));
  }
  ++gen.offset;
}

// A dtype the host generator writes directly.
inline at::ScalarType host_fill_dtype(at::ScalarType s) {
  return s == at::kDouble ? at::kDouble : at::kFloat;
}

// Mask → 0/1 in dtype `like`, shape B×L×1 (broadcasts over d).
inline at::Tensor mask_factor(const at::Tensor& mask, const at::Tensor& like) {
  return mask.ne(0).to(like.device(), like.scalar_type()).unsqueeze(-1);
}

// Runs f on a contiguous 2-D [blocks, block] view of t, writing back if t was not contiguous.
template <class Fn>
void on_blocks(at::Tensor& t, granularity g, Fn&& f) {
  const auto [nb, bs] = blocks(t, g);
  if (nb == 0) return;
  if (t.is_contiguous()) {
    auto v = t.view({nb, bs});
    f(v);
  } else {
    auto c = t.contiguous();
    auto v = c.view({nb, bs});
    f(v);
    t.copy_(c);
  }
}

// Per-row scalars as a column in t's dtype/device, uploaded once.
inline at::Tensor column(std::span<const double> v, const at::Tensor& like) {
  auto host = at::from_blob(const_cast<double*>(v.data()), {static_cast<std::int64_t>(v.size())},
                            at::TensorOptions().dtype(at::kDouble))
                  .clone();
  return host.to(like.device(), like.scalar_type());
}

inline at::Tensor labels_tensor(std::span<const std::int64_t> labels, const at::Tensor& z, const char* what) {
  const auto C = z.size(1);
  for (std::size_t b = 0; b < labels.size(); ++b)
    if (labels[b] < 0 || labels[b] >= C)
      throw std::out_of_range(std::string(what) + ": label " + std::to_string(labels[b]) + " at row " +
                              std::to_string(b) + " outside [0, " + std::to_string(C) + ")");
  auto host = at::from_blob(const_cast<std::int64_t*>(labels.data()), {static_cast<std::int64_t>(labels.size())},
                            at::TensorOptions().dtype(at::kLong))
                  .clone();
  return host.to(z.device());
}

// Logits in a dtype wide enough for the losses (half/bfloat16 → float).
inline at::Tensor loss_dtype(const at::Tensor& z) {
  return z.scalar_type() == at::kHalf || z.scalar_type() == at::kBFloat16 ? z.to(at::kFloat) : z;
}

inline void require_logits(const at::Tensor& z, const char* what) {
  if (z.dim() != 2) throw shape_error(std::string(what) + ": logits must be B×C, got " + ptp::to_string(shape_type(z.sizes().begin(), z.sizes().end())));
  if (z.size(0) == 0) throw std::invalid_argument(std::string(what) + ": empty batch");
}

}  // namespace detail
}  // namespace torch

/// The LibTorch backend: any device, any floating dtype. All ops run under NoGradGuard and
/// on detached data: δ and gradients are plain tensors, never part of a graph.
template <>
struct backend<at::Tensor> {
  using tensor = at::Tensor;

  static shape_type shape(const tensor& t) { return shape_type(t.sizes().begin(), t.sizes().end()); }

  /// Zeros of t's shape, dtype and device, contiguous, not requiring grad.
  static tensor zeros_like(const tensor& t) {
    return at::zeros(t.sizes(), t.options().requires_grad(false).memory_format(at::MemoryFormat::Contiguous));
  }
  /// A CPU float tensor of shape s (host-side helpers; device code uses zeros_like).
  static tensor zeros(const shape_type& s, at::TensorOptions opts = at::TensorOptions().dtype(at::kFloat)) {
    return at::zeros(std::vector<std::int64_t>(s.begin(), s.end()), opts);
  }

  /// A detached contiguous deep copy.
  static tensor copy(const tensor& t) { return t.detach().clone(at::MemoryFormat::Contiguous); }

  /// The values on the host (one device-to-host copy), as float or double.
  template <class V>
  static void to_host(const tensor& t, std::span<V> out) {
    const at::Tensor c = t.detach().to(at::kCPU, std::is_same_v<V, double> ? at::kDouble : at::kFloat).contiguous();
    std::copy_n(c.data_ptr<V>(), out.size(), out.data());
  }

  static void axpy(tensor& y, double a, const tensor& x) {
    ops::require_same_shape(y, x, "ptp::ops::axpy");
    ::torch::NoGradGuard ng;
    y.add_(x.detach(), a);
  }
  /// x + y; keeps x's graph when x requires grad (trainable upstream embeddings), δ = y is
  /// treated as a constant.
  static tensor add(const tensor& x, const tensor& y) {
    ops::require_same_shape(x, y, "ptp::ops::add");
    return x + y.detach();
  }
  static void scale(tensor& t, double s) {
    ::torch::NoGradGuard ng;
    t.mul_(s);
  }
  static double dot(const tensor& a, const tensor& b) {
    ops::require_same_shape(a, b, "ptp::ops::dot");
    ::torch::NoGradGuard ng;
    return (a.detach().to(at::kDouble) * b.detach().to(at::kDouble)).sum().item<double>();
  }
  static bool all_finite(const tensor& t) {
    ::torch::NoGradGuard ng;
    return at::isfinite(t.detach()).all().item<bool>();
  }

  static void fill_normal(tensor& t, generator& gen, double stddev) {
    ::torch::NoGradGuard ng;
    if (ptp::torch::use_torch_generator::active()) {
      t.normal_(0.0, stddev, ptp::torch::use_torch_generator::generator());
      return;
    }
    auto host = at::empty(t.sizes(), at::TensorOptions().dtype(ptp::torch::detail::host_fill_dtype(t.scalar_type())));
    if (const auto first = ptp::torch::keyed_noise::first_row()) {
      auto draw = [stddev](generator& g, auto row) { g.fill_normal(row, 0.0, stddev); };
      if (host.scalar_type() == at::kDouble) ptp::torch::detail::keyed_fill<double>(host, gen, *first, draw);
      else ptp::torch::detail::keyed_fill<float>(host, gen, *first, draw);
    } else if (host.scalar_type() == at::kDouble)
      gen.fill_normal(std::span<double>(host.data_ptr<double>(), static_cast<std::size_t>(host.numel())), 0.0, stddev);
    else
      gen.fill_normal(std::span<float>(host.data_ptr<float>(), static_cast<std::size_t>(host.numel())), 0.0, stddev);
    t.copy_(host);
  }
  static void fill_uniform(tensor& t, generator& gen, double lo, double hi) {
    ::torch::NoGradGuard ng;
    if (ptp::torch::use_torch_generator::active()) {
      t.uniform_(lo, hi, ptp::torch::use_torch_generator::generator());
      return;
    }
    auto host = at::empty(t.sizes(), at::TensorOptions().dtype(ptp::torch::detail::host_fill_dtype(t.scalar_type())));
    if (const auto first = ptp::torch::keyed_noise::first_row()) {
      auto draw = [lo, hi](generator& g, auto row) { g.fill_uniform(row, lo, hi); };
      if (host.scalar_type() == at::kDouble) ptp::torch::detail::keyed_fill<double>(host, gen, *first, draw);
      else ptp::torch::detail::keyed_fill<float>(host, gen, *first, draw);
    } else if (host.scalar_type() == at::kDouble)
      gen.fill_uniform(std::span<double>(host.data_ptr<double>(), static_cast<std::size_t>(host.numel())), lo, hi);
    else
      gen.fill_uniform(std::span<float>(host.data_ptr<float>(), static_cast<std::size_t>(host.numel())), lo, hi);
    t.copy_(host);
  }

  /// Real lengths (non-zero mask entries per row), returned to the host.
  static std::vector<double> mask_lengths(const tensor& mask) {
    if (mask.dim() != 2) throw shape_error("ptp::ops::mask_lengths: mask must be B×L, got " + ptp::to_string(shape(mask)));
    ::torch::NoGradGuard ng;
    auto n = mask.ne(0).sum(1).to(at::kDouble).cpu().contiguous();
    return std::vector<double>(n.data_ptr<double>(), n.data_ptr<double>() + n.numel());
  }

  static void mask_and_scale(tensor& t, const tensor& mask, std::span<const double> factors) {
    ops::require_embedding_and_mask(t, mask, "ptp::ops::mask_and_scale");
    if (!factors.empty() && factors.size() != static_cast<std::size_t>(t.size(0)))
      throw shape_error("ptp::ops::mask_and_scale: " + std::to_string(factors.size()) + " factors for batch " +
                        std::to_string(t.size(0)));
    ::torch::NoGradGuard ng;
    auto k = ptp::torch::detail::mask_factor(mask, t);
    if (!factors.empty()) k = k * ptp::torch::detail::column(factors, t).view({-1, 1, 1});
    t.mul_(k);
  }

  static std::vector<double> norms(const tensor& t, norm_type n, granularity g) {
    ::torch::NoGradGuard ng;
    const auto [nb, bs] = ptp::torch::detail::blocks(t, g);
    if (nb == 0) return {};
    auto v = t.detach().reshape({nb, bs}).to(at::kDouble);
    auto r = (n == norm_type::l2 ? v.norm(2, 1) : v.abs().amax(1)).cpu().contiguous();
    return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
  }

  /// δ ← Π_ε(δ + α·dir(g)) per block, entirely on the tensor's device.
  static void ascent_step(tensor& delta, const tensor& grad, double alpha, step_rule rule, granularity block,
                          double eps, norm_type proj) {
    ops::require_same_shape(delta, grad, "ptp::ops::ascent_step (δ vs gradient)");
    ::torch::NoGradGuard ng;
    const auto [nb, bs] = ptp::torch::detail::blocks(delta, block);
    if (nb == 0) return;
    auto g = grad.detach().reshape({nb, bs}).to(delta.scalar_type());
    ptp::torch::detail::on_blocks(delta, block, [&](at::Tensor& d) {
      switch (rule) {
        case step_rule::l2: d.add_(g * (alpha / g.norm(2, 1, true).clamp_min(min_norm))); break;
        case step_rule::linf: d.add_(g * (alpha / g.abs().amax(1, true).clamp_min(min_norm))); break;
        case step_rule::sign: d.add_(g.sign(), alpha); break;
      }
      project_blocks(d, eps, proj);
    });
  }

  static void project(tensor& delta, double eps, norm_type proj, granularity block) {
    ::torch::NoGradGuard ng;
    ptp::torch::detail::on_blocks(delta, block, [&](at::Tensor& d) { project_blocks(d, eps, proj); });
  }

  /// t_b ← f_b·t_b per block of a granularity (the landscape's per-filter normalisation).
  static void scale_blocks(tensor& t, std::span<const double> factors, granularity block) {
    const auto [nb, bs] = ptp::torch::detail::blocks(t, block);
    if (factors.size() != static_cast<std::size_t>(nb))
      throw shape_error("ptp::ops::scale_blocks: " + std::to_string(factors.size()) + " factors for " + std::to_string(nb) +
                        " blocks of " + ptp::to_string(shape(t)));
    ::torch::NoGradGuard ng;
    const auto f = ptp::torch::detail::column(factors, t);
    ptp::torch::detail::on_blocks(t, block, [&](at::Tensor& d) { d.mul_(f.view({-1, 1})); });
  }

  /// δ ← δ / (‖δ‖∞ per token + floor) (mt-dnn's SMART normalisation).
  static void normalize_per_token_linf(tensor& delta, double floor) {
    ::torch::NoGradGuard ng;
    delta.div_(delta.abs().amax(-1, true) + floor);
  }

  /// Mean cross-entropy; dz ← (softmax(z) − onehot(y)) / B on z's device and dtype.
  static double cross_entropy(const tensor& z0, std::span<const std::int64_t> labels, tensor* dz) {
    ptp::torch::detail::require_logits(z0, "ptp::losses::cross_entropy");
    if (labels.size() != static_cast<std::size_t>(z0.size(0)))
      throw shape_error("ptp::losses::cross_entropy: " + std::to_string(labels.size()) + " labels for " +
                        std::to_string(z0.size(0)) + " rows of logits");
    ::torch::NoGradGuard ng;
    const auto z = ptp::torch::detail::loss_dtype(z0.detach());
    const auto y = ptp::torch::detail::labels_tensor(labels, z, "ptp::losses::cross_entropy").unsqueeze(1);
    const auto ls = at::log_softmax(z, 1);
    const auto loss = -ls.gather(1, y).mean();
    if (dz) {
      auto d = ls.exp();
      d.scatter_add_(1, y, at::full_like(y, -1, d.options()));
      *dz = (d / static_cast<double>(z.size(0))).to(z0.scalar_type());
    }
    return loss.item<double>();
  }

  /// Mean symmetric KL (1/B) Σ_b Σ_j (p − q)(log p − log q) and its gradients (full, or
  /// each direction's target detached: losses::kl_gradient).
  static double sym_kl(const tensor& zp0, const tensor& zq0, tensor* dzp, tensor* dzq,
                       losses::kl_gradient how = losses::kl_gradient::full) {
    ops::require_same_shape(zp0, zq0, "ptp::losses::sym_kl");
    ptp::torch::detail::require_logits(zp0, "ptp::losses::sym_kl");
    ::torch::NoGradGuard ng;
    const auto zp = ptp::torch::detail::loss_dtype(zp0.detach());
    const auto zq = ptp::torch::detail::loss_dtype(zq0.detach());
    const double B = static_cast<double>(zp.size(0));
    const auto lp = at::log_softmax(zp, 1), lq = at::log_softmax(zq, 1);
    const auto p = lp.exp(), q = lq.exp(), d = lp - lq;
    const auto loss = ((p - q) * d).sum() / B;
    const bool full = how == losses::kl_gradient::full;
    if (dzp) *dzp = ((full ? p * (d - (p * d).sum(1, true)) + (p - q) : p - q) / B).to(zp0.scalar_type());
    if (dzq) *dzq = ((full ? q * ((q * d).sum(1, true) - d) + (q - p) : q - p) / B).to(zq0.scalar_type());
    return loss.item<double>();
  }

  /// mt-dnn's stable_kl (losses.hpp): 2 Σ p (r(p) − r(y)), r detached, summed or mean.
  static double stable_kl(const tensor& z0, const tensor& y0, tensor* dz, bool mean, double epsilon) {
    ops::require_same_shape(z0, y0, "ptp::losses::stable_kl");
    ptp::torch::detail::require_logits(z0, "ptp::losses::stable_kl");
    ::torch::NoGradGuard ng;
    const auto z = ptp::torch::detail::loss_dtype(z0.detach());
    const auto p = at::softmax(z, 1), y = at::softmax(ptp::torch::detail::loss_dtype(y0.detach()), 1);
    const auto r = [epsilon](const at::Tensor& x) { return -(1.0 / (x + epsilon) - 1.0 + epsilon).log(); };
    const auto c = r(p) - r(y);
    const double scale = mean ? 1.0 / static_cast<double>(z.size(0)) : 1.0;
    const auto s = (p * c).sum(1, true);
    if (dz) *dz = (2.0 * scale * p * (c - s)).to(z0.scalar_type());
    return 2.0 * scale * s.sum().item<double>();
  }

 private:
  static void project_blocks(at::Tensor& d, double eps, norm_type proj) {
    if (eps <= 0) return;
    if (proj == norm_type::linf) {
      d.clamp_(-eps, eps);
    } else {
      const auto n = d.norm(2, 1, true);
      d.mul_(at::where(n > eps, eps / n, at::ones_like(n)));
    }
  }
};

}  // namespace ptp
