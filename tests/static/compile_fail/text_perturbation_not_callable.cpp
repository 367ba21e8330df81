// expect: static.assert(ion)? failed.*TextPerturbation: missing member `S operator\(\)\(const S&, ptp::generator&, ptp::mode\) const`
// A text stage is called as p(seq, gen, mode) on a const stage; a stage without that call
// operator is named by the TextPerturbation check.
#include <ptp/text/concepts.hpp>

struct shout {
  double rate = 0.1;
#if !PTP_COMPILE_FAIL
  ptp::text::words operator()(const ptp::text::words& w, ptp::generator&, ptp::mode) const { return w; }
#endif
};

static_assert(ptp::text::check_text_perturbation<shout, ptp::text::words>());
