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

/// How the symmetric-KL term's gradient flows (objective::consistency::gradient).
enum class kl_choice { reference, full, detached_targets };

/// Hyper-parameters of the perturbation methods (docs/algorithms.md §3–4). Defaults are **our choice**
/// for these reproductions unless the paper's sources fix them, otherwise the library's (each
/// stage's header cites its reference); every one is a flag (below). A2T's sentence-encoder
/// threshold has none: the programs give A2T no sentence encoder, so it is never read.
struct method_options {
  double weight = 1.0;         ///< λ of clean + λ·perturbed (and of the KL terms)
  double sigma = 0.05;         ///< PTP-RN: Gaussian σ relative to each example's embedding RMS
  bool sigma_relative = true;  ///< PTP-RN: σ scaled by the example's embedding RMS (false: absolute)
  int pgd_steps = 2;           ///< PTP-ADV: PGD steps K
  double pgd_step_size = 0.05; ///< PTP-ADV: α (L2, per example)
  double pgd_epsilon = 0.3;    ///< PTP-ADV: ε (L2 ball per example; 0 = unbounded)
  embedding::init_kind pgd_init = embedding::init_kind::zero;
  double pgd_init_magnitude = 0.2;
  norm_type pgd_norm = norm_type::l2;
  double mask_rate = 0.1;      ///< PTP-RN text: token masking rate
  double a2t_rate = 0.1;       ///< PTP-ADV text: A2T's max modification rate
  double a2t_min_cosine = 0.8; ///< PTP-ADV text: candidate-embedding cosine threshold
  std::size_t a2t_candidates = 20;  ///< PTP-ADV text: candidates per word and source
  std::size_t a2t_min_words = 4;
  bool a2t_require_gain = true;
  text::a2t::word_importance a2t_importance = text::a2t::word_importance::mean_l1;
  int freelb_steps = 2;        ///< FreeLB K
  double freelb_step_size = 0.1, freelb_epsilon = 0.0, freelb_init = 0.2;
  embedding::init_kind freelb_init_kind = embedding::init_kind::random;
  norm_type freelb_norm = norm_type::l2;
  bool freelb_shared_dropout = true;
  int smart_steps = 1;
  double smart_step_size = 1e-3, smart_sigma = 1e-5, smart_floor = 1e-6;
  embedding::smart::ascent_loss smart_ascent = embedding::smart::ascent_loss::stable_kl;
  bool smart_ascent_mean = false;
  double r3f_epsilon = 1e-5;
  embedding::r3f::noise_kind r3f_noise = embedding::r3f::noise_kind::uniform;
  bool consistency_supervised = true;  ///< SMART, R3F: add the clean cross-entropy
  kl_choice kl_gradient = kl_choice::reference;
  double neftune_alpha = 5.0;  ///< NEFTune α
};

/// The names an enum option's flag takes (and the results file records).
template <class E>
struct enum_names;
template <>
struct enum_names<embedding::init_kind> {
  static constexpr std::array<std::pair<const char*, embedding::init_kind>, 2> list{{{"zero", embedding::init_kind::zero}, {"random", embedding::init_kind::random}}};
};
template <>
struct enum_names<norm_type> {
  static constexpr std::array<std::pair<const char*, norm_type>, 2> list{{{"l2", norm_type::l2}, {"linf", norm_type::linf}}};
};
template <>
struct enum_names<text::a2t::word_importance> {
  using W = text::a2t::word_importance;
  static constexpr std::array<std::pair<const char*, W>, 3> list{{{"mean-l1", W::mean_l1}, {"sum-of-l2", W::sum_of_l2}, {"sum-of-l1", W::sum_of_l1}}};
};
template <>
struct enum_names<embedding::smart::ascent_loss> {
  using A = embedding::smart::ascent_loss;
  static constexpr std::array<std::pair<const char*, A>, 2> list{{{"stable-kl", A::stable_kl}, {"sym-kl", A::sym_kl}}};
};
template <>
struct enum_names<embedding::r3f::noise_kind> {
  using N = embedding::r3f::noise_kind;
  static constexpr std::array<std::pair<const char*, N>, 2> list{{{"uniform", N::uniform}, {"normal", N::normal}}};
};
template <>
struct enum_names<kl_choice> {
  static constexpr std::array<std::pair<const char*, kl_choice>, 3> list{
      {{"reference", kl_choice::reference}, {"full", kl_choice::full}, {"detached-targets", kl_choice::detached_targets}}};
};

template <class E>
const char* enum_name(E e) {
  for (const auto& [n, v] : enum_names<E>::list)
    if (v == e) return n;
  throw std::logic_error("enum_name: a value without a name");
}

/// One method option: its flag, its help, and the method_options field it sets.
struct method_option {
  const char* flag;
  const char* help;
  std::variant<double method_options::*, int method_options::*, std::size_t method_options::*, bool method_options::*,
               embedding::init_kind method_options::*, norm_type method_options::*, text::a2t::word_importance method_options::*,
               embedding::smart::ascent_loss method_options::*, embedding::r3f::noise_kind method_options::*, kl_choice method_options::*>
      field;

  /// The option's value in `m`, as the results file records it (an enum by its name).
  [[nodiscard]] nlohmann::json value(const method_options& m) const {
    return std::visit(
        [&]<class T>(T method_options::*f) {
          if constexpr (std::is_enum_v<T>) return nlohmann::json(enum_name(m.*f));
          else return nlohmann::json(m.*f);
        },
        field);
  }
  /// Binds the flag to the field of `m`; an enum's flag takes its names only.
  void add_to(CLI::App& app, method_options& m) const {
    std::visit(
        [&]<class T>(T method_options::*f) {
          if constexpr (std::is_enum_v<T>) {
            std::vector<std::string> names;
            for (const auto& [n, v] : enum_names<T>::list) names.emplace_back(n);
            app.add_option_function<std::string>(
                   flag,
                   [&m, f](const std::string& s) {
                     for (const auto& [n, v] : enum_names<T>::list)
                       if (s == n) m.*f = v;
                   },
                   help)
                ->check(CLI::IsMember(names))
                ->default_str(enum_name(m.*f));
          } else {
            app.add_option(flag, m.*f, help)->capture_default_str();
          }
        },
        field);
  }
};

/// Every method option, once.
namespace option {
using M = method_options;
inline const method_option weight{"--lambda", "λ of clean + λ·perturbed (of the symmetric-KL term for SMART, R3F)", &M::weight};
inline const method_option sigma{"--sigma", "PTP-RN: Gaussian σ (relative to each example's embedding RMS unless --sigma-relative false)", &M::sigma};
inline const method_option sigma_relative{"--sigma-relative", "PTP-RN: scale σ by each example's embedding RMS (false: σ is absolute)", &M::sigma_relative};
inline const method_option pgd_steps{"--pgd-steps", "PTP-ADV: PGD steps K", &M::pgd_steps};
inline const method_option pgd_step_size{"--pgd-step-size", "PTP-ADV: PGD step size α (L2, per example)", &M::pgd_step_size};
inline const method_option pgd_epsilon{"--pgd-epsilon", "PTP-ADV: PGD radius ε (L2 ball per example; 0: unbounded)", &M::pgd_epsilon};
inline const method_option pgd_init{"--pgd-init", "PTP-ADV: PGD's start δ₀, zero or random", &M::pgd_init};
inline const method_option pgd_init_magnitude{"--pgd-init-magnitude", "PTP-ADV: magnitude of the random start (L∞: ε)", &M::pgd_init_magnitude};
inline const method_option pgd_norm{"--pgd-norm", "PTP-ADV: ball and step geometry, l2 or linf", &M::pgd_norm};
inline const method_option mask_rate{"--mask-rate", "PTP-RN-text: token masking rate", &M::mask_rate};
inline const method_option a2t_rate{"--a2t-rate", "PTP-ADV-text: A2T's largest share of words changed", &M::a2t_rate};
inline const method_option a2t_min_cosine{"--a2t-min-cosine", "PTP-ADV-text: least cosine of a candidate's embedding to the word's", &M::a2t_min_cosine};
inline const method_option a2t_candidates{"--a2t-candidates", "PTP-ADV-text: candidates asked per word from each source (0: all)", &M::a2t_candidates};
inline const method_option a2t_min_words{"--a2t-min-words", "PTP-ADV-text: words that may change whatever the rate (TextAttack's min_threshold)",
                                         &M::a2t_min_words};
inline const method_option a2t_require_gain{"--a2t-require-gain", "PTP-ADV-text: only swaps with a positive HotFlip score", &M::a2t_require_gain};
inline const method_option a2t_importance{"--a2t-importance", "PTP-ADV-text: word importance from sub-token gradients, mean-l1, sum-of-l2 or sum-of-l1",
                                          &M::a2t_importance};
inline const method_option freelb_steps{"--freelb-steps", "FreeLB: ascent passes K", &M::freelb_steps};
inline const method_option freelb_step_size{"--freelb-step-size", "FreeLB: ascent step size α", &M::freelb_step_size};
inline const method_option freelb_epsilon{"--freelb-epsilon", "FreeLB: radius ε (0: unbounded)", &M::freelb_epsilon};
inline const method_option freelb_init{"--freelb-init", "FreeLB: magnitude of the random start δ₀", &M::freelb_init};
inline const method_option freelb_init_kind{"--freelb-init-kind", "FreeLB: the start δ₀, random or zero", &M::freelb_init_kind};
inline const method_option freelb_norm{"--freelb-norm", "FreeLB: ball and step geometry, l2 or linf", &M::freelb_norm};
inline const method_option freelb_shared_dropout{"--freelb-shared-dropout", "FreeLB: one dropout mask for the K passes (false: a fresh one each)",
                                                 &M::freelb_shared_dropout};
inline const method_option smart_steps{"--smart-steps", "SMART: ascent steps K", &M::smart_steps};
inline const method_option smart_step_size{"--smart-step-size", "SMART: ascent step size η", &M::smart_step_size};
inline const method_option smart_sigma{"--smart-sigma", "SMART: standard deviation of δ₀", &M::smart_sigma};
inline const method_option smart_floor{"--smart-floor", "SMART: added to the per-token max before dividing", &M::smart_floor};
inline const method_option smart_ascent{"--smart-ascent", "SMART: the ascent's divergence, stable-kl or sym-kl", &M::smart_ascent};
inline const method_option smart_ascent_mean{"--smart-ascent-mean", "SMART: the ascent's divergence averaged over the batch (false: summed)",
                                             &M::smart_ascent_mean};
inline const method_option r3f_epsilon{"--r3f-epsilon", "R3F: noise scale ε", &M::r3f_epsilon};
inline const method_option r3f_noise{"--r3f-noise", "R3F: noise distribution, uniform or normal", &M::r3f_noise};
inline const method_option consistency_supervised{"--consistency-supervised", "SMART, R3F: add the clean cross-entropy to the KL term",
                                                  &M::consistency_supervised};
inline const method_option kl_gradient{"--kl-gradient", "SMART, R3F: the KL term's gradient, reference (the stage's upstream), full or detached-targets",
                                       &M::kl_gradient};
inline const method_option neftune_alpha{"--neftune-alpha", "NEFTune: noise scale α", &M::neftune_alpha};
}  // namespace option

/// Every option in --help order.
inline const std::array<const method_option*, 34> method_option_list{
    &option::weight,           &option::sigma,          &option::sigma_relative,    &option::pgd_steps,
    &option::pgd_step_size,    &option::pgd_epsilon,    &option::pgd_init,          &option::pgd_init_magnitude,
    &option::pgd_norm,         &option::mask_rate,      &option::a2t_rate,          &option::a2t_min_cosine,
    &option::a2t_candidates,   &option::a2t_min_words,  &option::a2t_require_gain,  &option::a2t_importance,
    &option::freelb_steps,     &option::freelb_step_size, &option::freelb_epsilon,  &option::freelb_init,
    &option::freelb_init_kind, &option::freelb_norm,    &option::freelb_shared_dropout, &option::smart_steps,
    &option::smart_step_size,  &option::smart_sigma,    &option::smart_floor,       &option::smart_ascent,
    &option::smart_ascent_mean, &option::r3f_epsilon,   &option::r3f_noise,         &option::consistency_supervised,
    &option::kl_gradient,      &option::neftune_alpha};

/// A key a method adds to the run identity: one option as its value, several as an array.
/// `when_set`: the key enters only when an option differs from its default, so results files
/// written before the option had a flag still resume.
struct identity_field {
  const char* key;
  std::vector<const method_option*> options;
  bool when_set = false;
};

/// The library's consistency objective under the KL options.
inline objective::consistency consistency_of(const method_options& m) {
  objective::consistency c{.weight = m.weight, .supervised = m.consistency_supervised};
  if (m.kl_gradient == kl_choice::full) c.gradient = losses::kl_gradient::full;
  if (m.kl_gradient == kl_choice::detached_targets) c.gradient = losses::kl_gradient::detached_targets;
  return c;
}

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
      make_method("ptp-rn", "PTP-RN, embedding space: Gaussian noise, clean + λ·perturbed", {&weight, &sigma, &sigma_relative},
                  {{"weight", {&weight}}, {"sigma", {&sigma}}, {"sigma_relative", {&sigma_relative}, true}}, [](const method_options& m, auto&) {
                    return ptp::regularizer(gaussian{.sigma = m.sigma, .relative = m.sigma_relative}, clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("ptp-adv", "PTP-ADV, embedding space: PGD-K, clean + λ·perturbed",
                  {&weight, &pgd_steps, &pgd_step_size, &pgd_epsilon, &pgd_init, &pgd_init_magnitude, &pgd_norm},
                  {{"weight", {&weight}},
                   {"pgd", {&pgd_steps, &pgd_step_size, &pgd_epsilon}},
                   {"pgd_more", {&pgd_init, &pgd_init_magnitude, &pgd_norm}, true}},
                  [](const method_options& m, auto&) {
                    return ptp::regularizer(pgd{.steps = m.pgd_steps, .step_size = m.pgd_step_size, .epsilon = m.pgd_epsilon,
                                                .init = m.pgd_init, .init_magnitude = m.pgd_init_magnitude, .norm = m.pgd_norm},
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
                  {&weight, &a2t_rate, &a2t_min_cosine, &a2t_candidates, &a2t_min_words, &a2t_require_gain, &a2t_importance},
                  {{"weight", {&weight}},
                   {"a2t", {&a2t_rate, &a2t_min_cosine, &a2t_candidates}},
                   {"a2t_more", {&a2t_min_words, &a2t_require_gain, &a2t_importance}, true}},
                  [](const method_options& m, auto& run) {
                    return ptp::regularizer(run.a2t(text::a2t{.max_rate = m.a2t_rate,
                                                              .min_words = m.a2t_min_words,
                                                              .min_embedding_cosine = m.a2t_min_cosine,
                                                              .max_candidates = m.a2t_candidates,
                                                              .require_gain = m.a2t_require_gain,
                                                              .importance = m.a2t_importance}),
                                            clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("freelb", "FreeLB (K passes) with ptp's clean term (our default; docs/algorithms.md §3)",
                  {&weight, &freelb_steps, &freelb_step_size, &freelb_epsilon, &freelb_init, &freelb_init_kind, &freelb_norm,
                   &freelb_shared_dropout},
                  {{"weight", {&weight}},
                   {"freelb", {&freelb_steps, &freelb_step_size, &freelb_epsilon, &freelb_init}},
                   {"freelb_more", {&freelb_init_kind, &freelb_norm, &freelb_shared_dropout}, true}},
                  [](const method_options& m, auto&) {
                    return ptp::regularizer(freelb{.steps = m.freelb_steps,
                                                   .step_size = m.freelb_step_size,
                                                   .epsilon = m.freelb_epsilon,
                                                   .init = m.freelb_init_kind,
                                                   .init_magnitude = m.freelb_init,
                                                   .norm = m.freelb_norm,
                                                   .shared_dropout = m.freelb_shared_dropout},
                                            clean_plus_perturbed{.weight = m.weight});
                  }),
      make_method("smart", "SMART, symmetric-KL consistency",
                  {&weight, &smart_steps, &smart_step_size, &smart_sigma, &smart_floor, &smart_ascent, &smart_ascent_mean,
                   &consistency_supervised, &kl_gradient},
                  {{"weight", {&weight}},
                   {"smart", {&smart_steps, &smart_step_size, &smart_sigma, &smart_floor, &smart_ascent, &smart_ascent_mean}, true},
                   {"consistency", {&consistency_supervised, &kl_gradient}, true}},
                  [](const method_options& m, auto&) {
                    return ptp::regularizer(smart{.steps = m.smart_steps,
                                                  .step_size = m.smart_step_size,
                                                  .sigma = m.smart_sigma,
                                                  .floor = m.smart_floor,
                                                  .ascent = m.smart_ascent,
                                                  .ascent_mean = m.smart_ascent_mean},
                                            consistency_of(m));
                  }),
      make_method("r3f", "R3F, symmetric-KL consistency", {&weight, &r3f_epsilon, &r3f_noise, &consistency_supervised, &kl_gradient},
                  {{"weight", {&weight}}, {"r3f", {&r3f_epsilon, &r3f_noise}, true}, {"consistency", {&consistency_supervised, &kl_gradient}, true}},
                  [](const method_options& m, auto&) {
                    return ptp::regularizer(r3f{.epsilon = m.r3f_epsilon, .noise = m.r3f_noise}, consistency_of(m));
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
    static const method_options defaults;
    for (const auto& f : e.identity) {
      if (f.when_set && std::none_of(f.options.begin(), f.options.end(), [&](const auto* o) { return o->value(m) != o->value(defaults); }))
        continue;
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
