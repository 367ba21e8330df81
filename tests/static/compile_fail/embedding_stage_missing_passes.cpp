// expect: ptp::EmbeddingPerturbation: missing `std::size_t passes\(\) const`
// An embedding-space stage must say how many model passes a step costs (`passes()`).
#include <cstddef>

#include <ptp/concepts.hpp>

struct my_noise {
  using embedding_stage_tag = void;
  double sigma = 0.1;
#if !PTP_COMPILE_FAIL
  std::size_t passes() const { return 2; }
#endif
};

static_assert((ptp::check::embedding_perturbation<my_noise>(), true));
