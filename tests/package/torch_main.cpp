// The consumer's LibTorch half, built when the ptp under test has ptp::torch: the adapter's
// headers arrive, LibTorch links through the exported target, and a CPU tensor filled
// through ptp::backend<at::Tensor> holds the same numbers as a plain buffer filled from the
// same generator state (ptp's promise: same seed, same numbers, every backend).
#include <ptp/ptp.hpp>
#include <ptp/adapters/torch.hpp>

#include <cmath>
#include <cstdio>
#include <span>
#include <vector>

int main() {
  static_assert(ptp::Tensor<at::Tensor>, "at::Tensor is a ptp::Tensor");
  at::Tensor t = ptp::backend<at::Tensor>::zeros({2, 3, 5}, at::TensorOptions().dtype(at::kDouble));
  ptp::generator a{.seed = 42, .stream = 1}, b = a;
  ptp::ops::fill_normal(t, a, 0.5);
  std::vector<double> ref(30);
  b.fill_normal(std::span<double>(ref), 0.0, 0.5);
  bool ok = ptp::ops::shape(t) == ptp::shape_type{2, 3, 5} && a.offset == b.offset;
  const at::Tensor c = t.contiguous();
  for (std::size_t i = 0; i < ref.size(); ++i) ok = ok && std::abs(c.data_ptr<double>()[i] - ref[i]) <= 1e-12;
  std::printf("%s ptp::torch: backend fill == plain fill\n", ok ? "ok  " : "FAIL");
  std::printf("%s\n", ok ? "consumer (torch): all checks passed" : "consumer (torch): FAILED");
  return ok ? 0 : 1;
}
