// expect: static.assert(ion)? failed.*a gradient-aware text stage \(needs_clean_gradient
// A gradient-aware text stage (A2T) reads the clean pass's ∇_e L(x); perturb_text runs no clean
// pass, so composing one there is refused at compile time, naming step() as the way.
#include <ptp/regularizer.hpp>

#include <vector>

struct reads_gradient {  // a text stage that says it needs the clean gradient
  static constexpr bool needs_clean_gradient = true;
  template <class G>
  std::vector<int> operator()(std::vector<int> x, const G&, ptp::generator&, ptp::mode) const { return x; }
};
struct plain {  // the control: an ordinary text stage
  std::vector<int> operator()(std::vector<int> x, ptp::generator&, ptp::mode) const { return x; }
};

std::vector<int> run() {
  ptp::generator gen{};
#if PTP_COMPILE_FAIL
  const auto reg = ptp::regularizer(reads_gradient{});
#else
  const auto reg = ptp::regularizer(plain{});
#endif
  return reg.perturb_text(std::vector<int>{1, 2, 3}, gen, ptp::mode::train);
}
