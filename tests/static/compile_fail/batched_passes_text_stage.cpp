// expect: static.assert(ion)? failed.*ptp::batched_passes: text stages are not stacked
// Text stages (A2T's gradient-aware one among them) are embedded on their own after the clean
// pass, so ptp::batched_passes with a text stage is refused at compile time (regularizer.hpp).
#include <ptp/embedding/gaussian.hpp>
#include <ptp/regularizer.hpp>

#include <vector>

struct reads_gradient {  // an A2T-like text stage: it needs the clean gradient
  static constexpr bool needs_clean_gradient = true;
  template <class G>
  std::vector<int> operator()(std::vector<int> x, const G&, ptp::generator&, ptp::mode) const { return x; }
};

auto make() {
#if PTP_COMPILE_FAIL
  return ptp::regularizer(ptp::batched_passes{}, reads_gradient{}, ptp::embedding::gaussian{});
#else
  return ptp::regularizer(ptp::batched_passes{}, ptp::embedding::gaussian{});
#endif
}
