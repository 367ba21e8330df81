// examples/reproduce/methods.hpp — the regularizer methods by name, for the CLI programs.
//   vanilla        plain prompt tuning (one clean pass)
//   ptp-rn         PTP-RN, embedding space: Gaussian noise, clean + λ·perturbed
//   ptp-adv        PTP-ADV, embedding space: PGD-K, clean + λ·perturbed
//   ptp-rn-text    PTP-RN, text space: random token masking, clean + λ·masked
//   ptp-adv-text   PTP-ADV, text space: A2T (HotFlip-ranked WordNet + embedding-neighbour
//                  swaps from the clean pass's gradient), clean + λ·attacked
//   freelb         FreeLB (K passes) with ptp's clean term (our default; PAPER.md §3)
//   smart          SMART, symmetric-KL consistency
//   r3f            R3F, symmetric-KL consistency
//   neftune        NEFTune noise, perturbed pass only (as the NEFTune paper trains)
#pragma once

#include <ptp/ptp.hpp>

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

#include "runner.hpp"

namespace ptp::repro {

/// Every method name the programs accept.
inline constexpr std::array<std::string_view, 9> method_names = {"vanilla", "ptp-rn",  "ptp-adv", "ptp-rn-text", "ptp-adv-text",
                                                                 "freelb",  "smart",   "r3f",     "neftune"};

/// The step of a method name: its regularizer, text stages included, through make_step.
inline step_function method_step(const std::string& name, const method_options& m, text_resources& run) {
  using namespace ptp::embedding;
  const objective::clean_plus_perturbed both{.weight = m.weight};
  if (name == "vanilla") return make_step(ptp::regularizer());
  if (name == "ptp-rn") return make_step(ptp::regularizer(gaussian{.sigma = m.sigma}, both));
  if (name == "ptp-adv") return make_step(ptp::regularizer(pgd{.steps = m.pgd_steps, .step_size = m.pgd_step_size, .epsilon = m.pgd_epsilon}, both));
  if (name == "ptp-rn-text") return make_step(ptp::regularizer(text::random_mask{.rate = m.mask_rate, .mask_id = run.mask_id()}, both));
  if (name == "ptp-adv-text")
    return make_step(ptp::regularizer(
        run.a2t(text::a2t{.max_rate = m.a2t_rate, .min_embedding_cosine = m.a2t_min_cosine, .max_candidates = m.a2t_candidates}), both));
  if (name == "freelb")
    return make_step(ptp::regularizer(
        freelb{.steps = m.freelb_steps, .step_size = m.freelb_step_size, .epsilon = m.freelb_epsilon, .init_magnitude = m.freelb_init}, both));
  if (name == "smart") return make_step(ptp::regularizer(smart{}, objective::consistency{.weight = m.weight}));
  if (name == "r3f") return make_step(ptp::regularizer(r3f{}, objective::consistency{.weight = m.weight}));
  if (name == "neftune") return make_step(ptp::regularizer(neftune{.alpha = m.neftune_alpha}, objective::perturbed_only{}));
  std::string list;
  for (auto n : method_names) list += (list.empty() ? "" : ", ") + std::string(n);
  throw std::invalid_argument("unknown method '" + name + "' (" + list + ")");
}

/// One run of the named method.
inline run_result run_method(const run_config& cfg, const run_data& data, const trained_hook& on_trained = {}) {
  return run_with_step(cfg, data, [&](text_resources& r) { return method_step(cfg.method, cfg.m, r); }, on_trained);
}

inline run_result run(const run_config& cfg, const run_data& data) { return run_method(cfg, data); }

}  // namespace ptp::repro
