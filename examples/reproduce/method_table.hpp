// examples/reproduce/method_table.hpp — the regularizer methods the programs run, in one table:
// per method its name, help, options (each with its flag), the fields that identify its runs in
// a results file, and the ptp::regularizer it trains with. A new method is one entry here.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <ptp/ptp.hpp>
#include <ptp/text/a2t.hpp>
#include <ptp/text/masking.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ptp::repro {

/// Hyper-parameters of the perturbation methods (docs/algorithms.md §3–4). Defaults are **our choice**
/// for these reproductions unless the paper's sources fix them; every one is a flag (below).
struct method_options {
  double weight = 1.0;         ///< λ of clean + λ·perturbed (and of the KL terms)
  double sigma = 0.05;         ///< PTP-RN: Gaussian σ relative to each example's embedding RMS
  int pgd_steps = 2;           ///< PTP-ADV: PGD steps K
  double pgd_step_size = 0.05; ///< PTP-ADV: α (L2, per example)
  double pgd_epsilon = 0.3;    ///< PTP-ADV: ε (L2 ball per example; 0 = unbounded)
  double mask_rate = 0.1;      ///< PTP-RN text: token masking rate
  double a2t_rate = 0.1;       ///< PTP-ADV text: A2T's max modification rate
  double a2t_min_cosine = 0.8; ///< PTP-ADV text: candidate-embedding cosine threshold
  std::size_t a2t_candidates = 20;  ///< PTP-ADV text: candidates per word and source
  int freelb_steps = 2;        ///< FreeLB K
  double freelb_step_size = 0.1, freelb_epsilon = 0.0, freelb_init = 0.2;
  double neftune_alpha = 5.0;  ///< NEFTune α
};

/// One method option: its flag, its help, and the method_options field it sets.
struct method_option {
  const char* flag;
  const char* help;
  std::variant<double method_options::*, int method_options::*, std::size_t method_options::*> field;

  /// The option's value in `m`, as the results file records it.
  [[nodiscard]] nlohmann::json value(const method_options& m) const {
    return std::visit([&](auto f) { return nlohmann::json(m.*f); }, field);
  }
  /// Binds the flag to the field of `m`.
  void add_to(CLI::App& app, method_options& m) const {
    std::visit([&](auto f) { app.add_option(flag, m.*f, help)->capture_default_str(); }, field);
  }
};

/// Every method option, once.
namespace option {
inline const method_option weight{"--lambda", "λ of clean + λ·perturbed (of the symmetric-KL term for SMART, R3F)", &method_options::weight};
inline const method_option sigma{"--sigma", "PTP-RN: Gaussian σ relative to each example's embedding RMS", &method_options::sigma};
inline const method_option pgd_steps{"--pgd-steps", "PTP-ADV: PGD steps K", &method_options::pgd_steps};
inline const method_option pgd_step_size{"--pgd-step-size", "PTP-ADV: PGD step size α (L2, per example)", &method_options::pgd_step_size};
inline const method_option pgd_epsilon{"--pgd-epsilon", "PTP-ADV: PGD radius ε (L2 ball per example; 0: unbounded)", &method_options::pgd_epsilon};
inline const method_option mask_rate{"--mask-rate", "PTP-RN-text: token masking rate", &method_options::mask_rate};
inline const method_option a2t_rate{"--a2t-rate", "PTP-ADV-text: A2T's largest share of words changed", &method_options::a2t_rate};
inline const method_option a2t_min_cosine{"--a2t-min-cosine", "PTP-ADV-text: least cosine of a candidate's embedding to the word's",
                                          &method_options::a2t_min_cosine};
inline const method_option a2t_candidates{"--a2t-candidates", "PTP-ADV-text: candidates asked per word from each source (0: all)",
                                          &method_options::a2t_candidates};
inline const method_option freelb_steps{"--freelb-steps", "FreeLB: ascent passes K", &method_options::freelb_steps};
inline const method_option freelb_step_size{"--freelb-step-size", "FreeLB: ascent step size α", &method_options::freelb_step_size};
inline const method_option freelb_epsilon{"--freelb-epsilon", "FreeLB: radius ε (0: unbounded)", &method_options::freelb_epsilon};
inline const method_option freelb_init{"--freelb-init", "FreeLB: magnitude of the random start δ₀", &method_options::freelb_init};
inline const method_option neftune_alpha{"--neftune-alpha", "NEFTune: noise scale α", &method_options::neftune_alpha};
}  // namespace option

/// Every option in --help order.
inline const std::array<const method_option*, 14> method_option_list{
    &option::weight,       &option::sigma,          &option::pgd_steps,    &option::pgd_step_size, &option::pgd_epsilon,
    &option::mask_rate,    &option::a2t_rate,       &option::a2t_min_cosine, &option::a2t_candidates, &option::freelb_steps,
    &option::freelb_step_size, &option::freelb_epsilon, &option::freelb_init, &option::neftune_alpha};

/// A key a method adds to the run identity: one option as its value, several as an array.
struct identity_field {
  const char* key;
  std::vector<const method_option*> options;
};

/// One method: `make(options, run)` builds its regularizer; `run` is what the runner offers a
/// stage that needs the run (text_methods.hpp's text_resources: mask_id(), a2t(attack)).
template <class Make>
struct method {
  const char* name;
  const char* help;
  std::vector<const method_option*> options;  ///< the options it reads
  std::vector<identity_field> identity;       ///< what its results lines record besides run_config's keys
  Make make;
};

template <class Make>
method<Make> make_method(const char* name, const char* help, std::vector<const method_option*> options,
                         std::vector<identity_field> identity, Make make) {
  return {name, help, std::move(options), std::move(identity), std::move(make)};
}

/// The methods, in the order --help lists them. Their identity fields are those results files
/// have always recorded, so older files still resume (NEFTune records λ, which it ignores).
inline const auto& method_table() {
  using namespace ptp::embedding;
  using objective::clean_plus_perturbed;
  using namespace option;
  static const auto table = std::tuple{
      make_method("vanilla", "plain prompt tuning (one clean pass)", {}, {},
                  [](const method_options&, auto&) { return ptp::regularizer(); }),
      make_method("ptp-rn", "PTP-RN, embedding space: Gaussian noise, clean + λ·perturbed", {&weight, &sigma},
                  {{"weight", {&weight}}, {"sigma", {&sigma}}}, [](const method_options& m, auto&) {
                    return ptp::regularizer(gaussian{.sigma = m.sigma}, clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("ptp-adv", "PTP-ADV, embedding space: PGD-K, clean + λ·perturbed", {&weight, &pgd_steps, &pgd_step_size, &pgd_epsilon},
                  {{"weight", {&weight}}, {"pgd", {&pgd_steps, &pgd_step_size, &pgd_epsilon}}}, [](const method_options& m, auto&) {
                    return ptp::regularizer(pgd{.steps = m.pgd_steps, .step_size = m.pgd_step_size, .epsilon = m.pgd_epsilon},
                                            clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("ptp-rn-text", "PTP-RN, text space: random token masking, clean + λ·masked", {&weight, &mask_rate},
                  {{"weight", {&weight}}, {"mask_rate", {&mask_rate}}}, [](const method_options& m, auto& run) {
                    return ptp::regularizer(text::random_mask{.rate = m.mask_rate, .mask_id = run.mask_id()},
                                            clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("ptp-adv-text",
                  "PTP-ADV, text space: A2T (HotFlip-ranked WordNet + embedding-neighbour swaps from the clean pass's gradient), "
                  "clean + λ·attacked",
                  {&weight, &a2t_rate, &a2t_min_cosine, &a2t_candidates},
                  {{"weight", {&weight}}, {"a2t", {&a2t_rate, &a2t_min_cosine, &a2t_candidates}}}, [](const method_options& m, auto& run) {
                    return ptp::regularizer(
                        run.a2t(text::a2t{.max_rate = m.a2t_rate, .min_embedding_cosine = m.a2t_min_cosine, .max_candidates = m.a2t_candidates}),
                        clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("freelb", "FreeLB (K passes) with ptp's clean term (our default; docs/algorithms.md §3)",
                  {&weight, &freelb_steps, &freelb_step_size, &freelb_epsilon, &freelb_init},
                  {{"weight", {&weight}}, {"freelb", {&freelb_steps, &freelb_step_size, &freelb_epsilon, &freelb_init}}},
                  [](const method_options& m, auto&) {
                    return ptp::regularizer(freelb{.steps = m.freelb_steps, .step_size = m.freelb_step_size, .epsilon = m.freelb_epsilon,
                                                   .init_magnitude = m.freelb_init},
                                            clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("smart", "SMART, symmetric-KL consistency", {&weight}, {{"weight", {&weight}}}, [](const method_options& m, auto&) {
        return ptp::regularizer(smart{}, objective::consistency{.weight = m.weight});
      }),
      make_method("r3f", "R3F, symmetric-KL consistency", {&weight}, {{"weight", {&weight}}}, [](const method_options& m, auto&) {
        return ptp::regularizer(r3f{}, objective::consistency{.weight = m.weight});
      }),
      make_method("neftune", "NEFTune noise, perturbed pass only (as the NEFTune paper trains)", {&neftune_alpha},
                  {{"weight", {&weight}}, {"neftune_alpha", {&neftune_alpha}}}, [](const method_options& m, auto&) {
                    return ptp::regularizer(neftune{.alpha = m.neftune_alpha}, objective::perturbed_only{});
                  }),
  };
  return table;
}

/// Every method name, in table order.
inline std::vector<std::string_view> method_names() {
  return std::apply([](const auto&... e) { return std::vector<std::string_view>{e.name...}; }, method_table());
}

/// The error for a name the table does not hold; it lists the valid ones.
inline std::invalid_argument unknown_method(std::string_view name) {
  std::string list;
  for (auto n : method_names()) list += (list.empty() ? "" : ", ") + std::string(n);
  return std::invalid_argument("unknown method '" + std::string(name) + "' (valid: " + list + ")");
}

/// f(entry) for the method named `name` (f returns the same type for every entry); an unknown
/// name throws unknown_method.
template <class F>
auto with_method(std::string_view name, F&& f) {
  return std::apply(
      [&](const auto&... e) {
        using R = std::common_type_t<decltype(f(e))...>;
        std::optional<R> r;
        ((!r && name == e.name ? (r.emplace(f(e)), true) : false), ...);
        if (!r) throw unknown_method(name);
        return std::move(*r);
      },
      method_table());
}

/// Throws unknown_method for the first name of `names` the table does not hold.
inline void check_methods(const std::vector<std::string>& names) {
  const auto known = method_names();
  for (const auto& n : names)
    if (std::find(known.begin(), known.end(), n) == known.end()) throw unknown_method(n);
}

/// The fields method `name` adds to the run identity under options `m`.
inline nlohmann::json method_identity(std::string_view name, const method_options& m) {
  return with_method(name, [&](const auto& e) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& f : e.identity) {
      if (f.options.size() == 1) {
        j[f.key] = f.options.front()->value(m);
      } else {
        j[f.key] = nlohmann::json::array();
        for (const auto* o : f.options) j[f.key].push_back(o->value(m));
      }
    }
    return j;
  });
}

/// Binds every method option's flag to `m`.
inline void add_method_flags(CLI::App& app, method_options& m) {
  for (const auto* o : method_option_list) o->add_to(app, m);
}

/// The methods with their help and flags, for a program's --help.
inline std::string methods_help() {
  std::string s = "Methods (--methods):\n";
  std::apply(
      [&](const auto&... e) {
        auto line = [&](const auto& x) {
          const std::string_view n = x.name;
          s += "  " + std::string(n) + std::string(n.size() < 14 ? 14 - n.size() : 1, ' ') + x.help;
          for (std::size_t i = 0; i < x.options.size(); ++i) s += (i ? ", " : " [") + std::string(x.options[i]->flag);
          s += x.options.empty() ? "\n" : "]\n";
        };
        (line(e), ...);
      },
      method_table());
  return s;
}

}  // namespace ptp::repro
