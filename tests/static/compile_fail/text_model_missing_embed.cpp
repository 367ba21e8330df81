// expect: static.assert(ion)? failed.*ptp::TextModel: missing `embed\(const X& batch\)`
// reg.step(model, batch, …) re-embeds the perturbed text, so a model without `embed(batch)`
// is refused at the API boundary with the concept's message.
#include <ptp/ptp.hpp>

#include <vector>

#include "toy_tensor.hpp"

struct toy_loss {
  double evaluate(const toy::tensor&) { return 0.0; }
  void gradient(const toy::tensor&, toy::tensor*, double) {}
};

struct toy_text_model {
  toy::tensor e, mask;
#if !PTP_COMPILE_FAIL
  auto embed(const std::vector<int>&) { return ptp::embedded{toy_loss{}, e, mask}; }
#endif
};

double use(toy_text_model& model) {
  auto reg = ptp::regularizer(ptp::embedding::gaussian{});
  ptp::generator gen{.seed = 1};
  return reg.step(model, std::vector<int>{1, 2}, gen);
}
