// ptp/config.hpp -- compile-time configured experiments: typed option tags as the keys of a
// boost::hana::map, lowered to the plain options aggregates the algorithms take.
//
// Hana stays here, at the configuration boundary (DESIGN.md): `make<A>(map)` returns an
// ordinary `A` (e.g. ptp::embedding::pgd) and no algorithm header ever sees a Hana type.
// Mistakes are compile errors that name the offending option:
//   * an option `A` has no field for → ptp::config::unknown_option<Tag, A>
//   * the same option twice           → ptp::config::duplicate_option<Tag>
//   * a value that does not fit       → ptp::config::bad_option_value<Tag, A, Value>
//     (narrowing is refused: .steps from 0.5 fails, .epsilon from 0 is fine)
// The type in the diagnostic's "In instantiation of …" line is the tag (ptp::opt::sigma_t);
// each tag also carries its field's name as `Tag::name` for logs (ptp::config::describe).
//
// @code
//   namespace hana = boost::hana;
//   using namespace ptp::opt;
//   constexpr auto pgd = ptp::config::make<ptp::embedding::pgd>(
//       ptp::config::options(steps(3), step_size(0.03), epsilon(0.3), norm(ptp::norm_type::l2)));
//   // pgd is a plain ptp::embedding::pgd{.steps = 3, .step_size = 0.03, .epsilon = 0.3, …}
//
//   auto reg = ptp::config::experiment(hana::make_map(
//       text(ptp::config::stage<ptp::text::random_mask>(rate(0.05), mask_id(103))),
//       embedding(ptp::config::stage<ptp::embedding::pgd>(steps(3), epsilon(0.3))),
//       objective(ptp::config::stage<ptp::objective::clean_plus_perturbed>(weight(1.0)))));
//   // same type and values as ptp::regularizer(random_mask{…}, pgd{…}, clean_plus_perturbed{…})
// @endcode
// Keys may also be written hana::type_c<ptp::opt::steps_t>; a map built with
// hana::make_map directly is checked for duplicates too. Requires Boost (Hana, ≥ 1.66).
#pragma once

#include <boost/hana.hpp>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ptp/backend.hpp"
#include "ptp/concepts.hpp"
#include "ptp/embedding/common.hpp"
#include "ptp/embedding/fgm.hpp"
#include "ptp/embedding/freelb.hpp"
#include "ptp/embedding/gaussian.hpp"
#include "ptp/embedding/neftune.hpp"
#include "ptp/embedding/pgd.hpp"
#include "ptp/embedding/r3f.hpp"
#include "ptp/embedding/smart.hpp"
#include "ptp/embedding/uniform.hpp"
#include "ptp/objective.hpp"
#include "ptp/regularizer.hpp"
#include "ptp/text/deletion.hpp"
#include "ptp/text/masking.hpp"
#include "ptp/text/substitution.hpp"
#include "ptp/text/swap.hpp"
#include "ptp/text/synonym.hpp"

// ==== option tags ==========================================================================
namespace ptp::opt {

/// What every option tag is: a Hana type (so it hashes and compares as a map key) that
/// makes its key–value pair when called: `ptp::opt::steps(3)`.
template <class Self>
struct option : boost::hana::basic_type<Self> {
  template <class V>
  constexpr auto operator()(V&& value) const {
    return boost::hana::make_pair(Self{}, std::forward<V>(value));
  }
};

// -- embedding-space stages (docs/algorithms.md §3)
struct steps_t : option<steps_t> { static constexpr const char* name = "steps"; };                      ///< K
struct step_size_t : option<step_size_t> { static constexpr const char* name = "step_size"; };          ///< α, η
struct epsilon_t : option<epsilon_t> { static constexpr const char* name = "epsilon"; };                ///< ε
struct init_t : option<init_t> { static constexpr const char* name = "init"; };                         ///< δ0 kind
struct init_magnitude_t : option<init_magnitude_t> { static constexpr const char* name = "init_magnitude"; };
struct norm_t : option<norm_t> { static constexpr const char* name = "norm"; };                         ///< L2 / L∞
struct sigma_t : option<sigma_t> { static constexpr const char* name = "sigma"; };                      ///< σ
struct relative_t : option<relative_t> { static constexpr const char* name = "relative"; };
struct alpha_t : option<alpha_t> { static constexpr const char* name = "alpha"; };                      ///< NEFTune α
struct floor_t : option<floor_t> { static constexpr const char* name = "floor"; };
struct noise_t : option<noise_t> { static constexpr const char* name = "noise"; };
// -- objectives (docs/algorithms.md §2)
struct weight_t : option<weight_t> { static constexpr const char* name = "weight"; };                   ///< λ
struct supervised_t : option<supervised_t> { static constexpr const char* name = "supervised"; };
// -- text-space stages (docs/algorithms.md §4)
struct rate_t : option<rate_t> { static constexpr const char* name = "rate"; };
struct mask_id_t : option<mask_id_t> { static constexpr const char* name = "mask_id"; };
struct mask_word_t : option<mask_word_t> { static constexpr const char* name = "mask_word"; };
struct first_id_t : option<first_id_t> { static constexpr const char* name = "first_id"; };
struct last_id_t : option<last_id_t> { static constexpr const char* name = "last_id"; };
struct skip_stopwords_t : option<skip_stopwords_t> { static constexpr const char* name = "skip_stopwords"; };
struct max_candidates_t : option<max_candidates_t> { static constexpr const char* name = "max_candidates"; };
// -- the slots of an experiment (ptp::config::experiment)
struct text_t : option<text_t> { static constexpr const char* name = "text"; };
struct embedding_t : option<embedding_t> { static constexpr const char* name = "embedding"; };
struct objective_t : option<objective_t> { static constexpr const char* name = "objective"; };

inline constexpr steps_t steps{};
inline constexpr step_size_t step_size{};
inline constexpr epsilon_t epsilon{};
inline constexpr init_t init{};
inline constexpr init_magnitude_t init_magnitude{};
inline constexpr norm_t norm{};
inline constexpr sigma_t sigma{};
inline constexpr relative_t relative{};
inline constexpr alpha_t alpha{};
inline constexpr floor_t floor{};
inline constexpr noise_t noise{};
inline constexpr weight_t weight{};
inline constexpr supervised_t supervised{};
inline constexpr rate_t rate{};
inline constexpr mask_id_t mask_id{};
inline constexpr mask_word_t mask_word{};
inline constexpr first_id_t first_id{};
inline constexpr last_id_t last_id{};
inline constexpr skip_stopwords_t skip_stopwords{};
inline constexpr max_candidates_t max_candidates{};
inline constexpr text_t text{};
inline constexpr embedding_t embedding{};
inline constexpr objective_t objective{};

}  // namespace ptp::opt

// ==== field ↔ tag tables ======================================================================
namespace ptp::config {

/// One row of an aggregate's option table: option `Tag` sets member `member`.
template <class Tag, class MemberPtr>
struct field {
  using tag = Tag;
  MemberPtr member;
};
template <class Tag, class A, class M>
constexpr field<Tag, M A::*> field_for(M A::*member) {
  return {member};
}

/// The option table of aggregate A: `static constexpr auto fields = std::make_tuple(…)`.
/// Specialise it (in this header) for every options aggregate that can be configured.
template <class A>
struct options_of;

template <>
struct options_of<embedding::gaussian> {
  using A = embedding::gaussian;
  static constexpr auto fields = std::make_tuple(field_for<opt::sigma_t>(&A::sigma), field_for<opt::relative_t>(&A::relative));
};
template <>
struct options_of<embedding::uniform> {
  using A = embedding::uniform;
  static constexpr auto fields = std::make_tuple(field_for<opt::epsilon_t>(&A::epsilon));
};
template <>
struct options_of<embedding::neftune> {
  using A = embedding::neftune;
  static constexpr auto fields = std::make_tuple(field_for<opt::alpha_t>(&A::alpha));
};
template <>
struct options_of<embedding::fgm> {
  using A = embedding::fgm;
  static constexpr auto fields = std::make_tuple(field_for<opt::epsilon_t>(&A::epsilon), field_for<opt::norm_t>(&A::norm));
};
template <>
struct options_of<embedding::pgd> {
  using A = embedding::pgd;
  static constexpr auto fields =
      std::make_tuple(field_for<opt::steps_t>(&A::steps), field_for<opt::step_size_t>(&A::step_size),
                      field_for<opt::epsilon_t>(&A::epsilon), field_for<opt::init_t>(&A::init),
                      field_for<opt::init_magnitude_t>(&A::init_magnitude), field_for<opt::norm_t>(&A::norm));
};
template <>
struct options_of<embedding::freelb> {
  using A = embedding::freelb;
  static constexpr auto fields =
      std::make_tuple(field_for<opt::steps_t>(&A::steps), field_for<opt::step_size_t>(&A::step_size),
                      field_for<opt::epsilon_t>(&A::epsilon), field_for<opt::init_t>(&A::init),
                      field_for<opt::init_magnitude_t>(&A::init_magnitude), field_for<opt::norm_t>(&A::norm));
};
template <>
struct options_of<embedding::smart> {
  using A = embedding::smart;
  static constexpr auto fields =
      std::make_tuple(field_for<opt::steps_t>(&A::steps), field_for<opt::step_size_t>(&A::step_size),
                      field_for<opt::sigma_t>(&A::sigma), field_for<opt::floor_t>(&A::floor));
};
template <>
struct options_of<embedding::r3f> {
  using A = embedding::r3f;
  static constexpr auto fields = std::make_tuple(field_for<opt::epsilon_t>(&A::epsilon), field_for<opt::noise_t>(&A::noise));
};
template <>
struct options_of<objective::clean_plus_perturbed> {
  using A = objective::clean_plus_perturbed;
  static constexpr auto fields = std::make_tuple(field_for<opt::weight_t>(&A::weight));
};
template <>
struct options_of<objective::perturbed_only> {
  static constexpr auto fields = std::tuple<>{};
};
template <>
struct options_of<objective::consistency> {
  using A = objective::consistency;
  static constexpr auto fields =
      std::make_tuple(field_for<opt::weight_t>(&A::weight), field_for<opt::supervised_t>(&A::supervised));
};
template <>
struct options_of<text::random_mask> {
  using A = text::random_mask;
  static constexpr auto fields = std::make_tuple(field_for<opt::rate_t>(&A::rate), field_for<opt::mask_id_t>(&A::mask_id),
                                                 field_for<opt::mask_word_t>(&A::mask_word));
};
template <>
struct options_of<text::random_deletion> {
  using A = text::random_deletion;
  static constexpr auto fields = std::make_tuple(field_for<opt::rate_t>(&A::rate));
};
template <>
struct options_of<text::adjacent_swap> {
  using A = text::adjacent_swap;
  static constexpr auto fields = std::make_tuple(field_for<opt::rate_t>(&A::rate));
};
template <>
struct options_of<text::random_substitution> {
  using A = text::random_substitution;
  static constexpr auto fields = std::make_tuple(field_for<opt::rate_t>(&A::rate), field_for<opt::first_id_t>(&A::first_id),
                                                 field_for<opt::last_id_t>(&A::last_id));
};
/// The candidate source is a run-time resource (a WordNet database): set it on the result.
template <class Source>
struct options_of<text::synonym_substitution<Source>> {
  using A = text::synonym_substitution<Source>;
  static constexpr auto fields =
      std::make_tuple(field_for<opt::rate_t>(&A::rate), field_for<opt::skip_stopwords_t>(&A::skip_stopwords),
                      field_for<opt::max_candidates_t>(&A::max_candidates));
};

/// The slots of ptp::config::experiment, for diagnostics: unknown_option<Tag, experiment_slots>.
struct experiment_slots {};

// ==== diagnostics ================================================================================
// Each is instantiated only on a mistake; its template arguments name the option, so the
// compiler's "In instantiation of 'struct ptp::config::unknown_option<ptp::opt::sigma_t, …>'"
// line says which one.
template <class...>
inline constexpr bool dependent_false = false;

template <class Tag, class Aggregate>
struct unknown_option {
  static_assert(dependent_false<Tag, Aggregate>,
                "ptp::config: unknown option -- the option Tag in ptp::config::unknown_option<Tag, Aggregate> "
                "is not a field of Aggregate (option tables: ptp/config.hpp)");
  static constexpr bool value = false;
};

template <class Tag>
struct duplicate_option {
  static_assert(dependent_false<Tag>,
                "ptp::config: duplicate option -- the option Tag in ptp::config::duplicate_option<Tag> is given "
                "more than once");
  static constexpr bool value = false;
};

template <class Tag, class Aggregate, class Value>
struct bad_option_value {
  static_assert(dependent_false<Tag, Aggregate, Value>,
                "ptp::config: the value's type does not fit the field -- see Tag, Aggregate and Value in "
                "ptp::config::bad_option_value<Tag, Aggregate, Value> (narrowing is refused)");
  static constexpr bool value = false;
};

template <class Aggregate>
struct no_option_table {
  static_assert(dependent_false<Aggregate>,
                "ptp::config: no option table for Aggregate in ptp::config::no_option_table<Aggregate> -- "
                "add a ptp::config::options_of<Aggregate> specialisation to ptp/config.hpp");
  static constexpr bool value = false;
};

template <class Slot, class Stage>
struct wrong_stage_kind {
  static_assert(dependent_false<Slot, Stage>,
                "ptp::config::experiment: Stage in ptp::config::wrong_stage_kind<Slot, Stage> does not belong "
                "in Slot (text: text stages, embedding: an EmbeddingPerturbation, objective: an Objective)");
  static constexpr bool value = false;
};

// ==== lowering ===================================================================================
namespace detail {

/// The tag type a key stands for: ptp::opt::steps and hana::type_c<ptp::opt::steps_t>
/// are the same key.
template <class K>
struct key_tag {
  using type = K;
};
template <class K>
  requires requires { typename K::hana_tag; typename K::type; } &&
           std::is_same_v<typename K::hana_tag, boost::hana::type_tag>
struct key_tag<K> {
  using type = typename K::type;
};
template <class P>
using pair_tag = typename key_tag<std::remove_cvref_t<decltype(boost::hana::first(std::declval<const P&>()))>>::type;
template <class P>
using pair_value = std::remove_cvref_t<decltype(boost::hana::second(std::declval<const P&>()))>;

template <class A>
concept has_option_table = requires { options_of<A>::fields; };

template <class A>
using fields_t = std::remove_cvref_t<decltype(options_of<A>::fields)>;

/// Index of Tag's row in A's table, or the table's size when A has no such option.
template <class Tag, class Fields>
struct field_index;
template <class Tag, class... F>
struct field_index<Tag, std::tuple<F...>> {
  static constexpr std::size_t value = [] {
    constexpr bool hit[] = {std::is_same_v<Tag, typename F::tag>..., false};
    std::size_t i = 0;
    while (i < sizeof...(F) && !hit[i]) ++i;
    return i;
  }();
};

/// hana::integral_constant values (hana::int_c<3>) count as their value.
template <class V>
concept integral_constant_like = requires {
  typename V::value_type;
  V::value;
} && std::is_arithmetic_v<typename V::value_type>;
template <class V>
constexpr decltype(auto) plain_value(const V& v) {
  if constexpr (integral_constant_like<V>)
    return V::value;
  else
    return (v);
}
template <class V>
using plain_t = std::remove_cvref_t<decltype(plain_value(std::declval<const V&>()))>;

/// Which values a field of type M takes: its own type, any arithmetic value for a floating
/// field, any integer for an integer field, and whatever constructs a class-type field
/// (std::string from "…"). Refused: floating → integer, arithmetic ↔ bool, mixed enums.
template <class M, class V>
inline constexpr bool value_fits =
    std::is_same_v<M, V> ||
    (std::is_floating_point_v<M> && std::is_arithmetic_v<V> && !std::is_same_v<V, bool>) ||
    (std::is_integral_v<M> && !std::is_same_v<M, bool> && std::is_integral_v<V> && !std::is_same_v<V, bool>) ||
    (std::is_class_v<M> && std::is_constructible_v<M, const V&>);

template <class Tag, class... Tags>
inline constexpr std::size_t count_of = (std::size_t{0} + ... + (std::is_same_v<Tag, Tags> ? 1 : 0));

/// Instantiates duplicate_option<Tag> for every tag given more than once.
template <class... Tags>
constexpr bool check_unique() {
  return (... && [] {
    if constexpr (count_of<Tags, Tags...> > 1) return duplicate_option<Tags>::value;
    else return true;
  }());
}

template <class A, class P>
constexpr void assign(A& out, const P& p) {
  using Tag = pair_tag<P>;
  constexpr std::size_t i = field_index<Tag, fields_t<A>>::value;
  if constexpr (i == std::tuple_size_v<fields_t<A>>) {
    (void)unknown_option<Tag, A>::value;
  } else {
    constexpr auto member = std::get<i>(options_of<A>::fields).member;
    using M = std::remove_cvref_t<decltype(out.*member)>;
    using V = plain_t<pair_value<P>>;
    if constexpr (!value_fits<M, V>) {
      (void)bad_option_value<Tag, A, pair_value<P>>::value;
    } else {
      out.*member = static_cast<M>(plain_value(boost::hana::second(p)));
    }
  }
}

}  // namespace detail

/// The options map from key–value pairs, refusing duplicate keys (duplicate_option<Tag>):
///   ptp::config::options(ptp::opt::steps(3), ptp::opt::epsilon(0.3))
template <class... P>
constexpr auto options(P&&... pairs) {
  (void)detail::check_unique<detail::pair_tag<std::remove_cvref_t<P>>...>();
  return boost::hana::make_map(std::forward<P>(pairs)...);
}

/// Lowers an options map (a hana::map, or any Hana sequence of pairs) to the plain
/// aggregate A: every option sets its field, the rest keep A's documented defaults.
/// @tparam A an aggregate with an option table in this header (pgd, gaussian, random_mask, …)
template <class A, class Map>
constexpr A make(const Map& map) {
  if constexpr (!detail::has_option_table<A>) {
    (void)no_option_table<A>::value;
    return A{};
  } else {
    return boost::hana::unpack(map, [](const auto&... pairs) {
      (void)detail::check_unique<detail::pair_tag<std::remove_cvref_t<decltype(pairs)>>...>();
      A out{};
      (detail::assign(out, pairs), ...);
      return out;
    });
  }
}

/// A stage of an experiment: the aggregate to build and its options.
template <class A, class Map>
struct stage_spec {
  using aggregate = A;
  Map options;
};

/// `stage<ptp::embedding::pgd>(steps(3), epsilon(0.3))` or `stage<…>(options_map)`.
template <class A, class... P>
constexpr auto stage(P&&... pairs) {
  if constexpr (sizeof...(P) == 1 && (boost::hana::is_a<boost::hana::map_tag, std::remove_cvref_t<P>> && ...)) {
    return stage_spec<A, std::remove_cvref_t<P>...>{std::forward<P>(pairs)...};
  } else {
    using M = decltype(options(std::forward<P>(pairs)...));
    return stage_spec<A, M>{options(std::forward<P>(pairs)...)};
  }
}

namespace detail {

template <class T>
inline constexpr bool is_stage_spec = false;
template <class A, class M>
inline constexpr bool is_stage_spec<stage_spec<A, M>> = true;

// One slot value → the aggregate: a stage_spec is lowered, a ready aggregate passes.
template <class V>
constexpr auto lower(const V& v) {
  if constexpr (is_stage_spec<V>) return make<typename V::aggregate>(v.options);
  else return v;
}

template <class Slot, class S>
constexpr bool check_kind() {
  constexpr bool ok = std::is_same_v<Slot, opt::embedding_t>   ? EmbeddingPerturbation<S>
                      : std::is_same_v<Slot, opt::objective_t> ? Objective<S>
                                                              : !EmbeddingPerturbation<S> && !Objective<S>;
  if constexpr (!ok) return wrong_stage_kind<Slot, S>::value;
  return ok;
}

// A slot's stages as a std::tuple in order (text may hold a hana::tuple of stages).
template <class Slot, class V>
auto slot_stages(const V& v) {
  if constexpr (boost::hana::is_a<boost::hana::tuple_tag, V>) {
    static_assert(std::is_same_v<Slot, opt::text_t>, "ptp::config::experiment: only the text slot takes a sequence of stages");
    return boost::hana::unpack(v, [](const auto&... s) { return std::tuple_cat(slot_stages<Slot>(s)...); });
  } else {
    auto s = lower(v);
    (void)check_kind<Slot, decltype(s)>();
    return std::tuple<decltype(s)>{std::move(s)};
  }
}

template <class Map, class Slot>
auto slot(const Map& map, Slot) {
  if constexpr (decltype(boost::hana::contains(map, Slot{}))::value) return slot_stages<Slot>(map[Slot{}]);
  else return std::tuple<>{};
}

}  // namespace detail

/// A whole experiment's regularizer from one map of slots (opt::text, opt::embedding,
/// opt::objective) whose values are stage<…>(options), ready aggregates, or -- for text —
/// a hana::tuple of those in order. A missing slot takes ptp::regularizer's default
/// (no text stage; vanilla prompt tuning; the stage's default objective).
/// @code
///   auto reg = ptp::config::experiment(boost::hana::make_map(
///       ptp::opt::embedding(ptp::config::stage<ptp::embedding::freelb>(ptp::opt::steps(2)))));
/// @endcode
template <class Map>
auto experiment(const Map& map) {
  boost::hana::unpack(map, [](const auto&... pairs) {
    (void)detail::check_unique<detail::pair_tag<std::remove_cvref_t<decltype(pairs)>>...>();
    ([]<class P>(const P&) {
      using Tag = detail::pair_tag<P>;
      if constexpr (!std::is_same_v<Tag, opt::text_t> && !std::is_same_v<Tag, opt::embedding_t> &&
                    !std::is_same_v<Tag, opt::objective_t>)
        (void)unknown_option<Tag, experiment_slots>::value;
    }(pairs), ...);
  });
  auto stages = std::tuple_cat(detail::slot(map, opt::text), detail::slot(map, opt::embedding),
                               detail::slot(map, opt::objective));
  return std::apply([](auto&&... s) { return ptp::regularizer(std::move(s)...); }, std::move(stages));
}

/// "name=value …" for a log line: ptp::config::describe(options(steps(3))) == "steps=3".
template <class Map>
std::string describe(const Map& map) {
  std::ostringstream os;
  bool first = true;
  boost::hana::for_each(map, [&](const auto& p) {
    using Tag = detail::pair_tag<std::remove_cvref_t<decltype(p)>>;
    const auto& v = detail::plain_value(boost::hana::second(p));
    using V = std::remove_cvref_t<decltype(v)>;
    os << (first ? "" : " ") << Tag::name << '=';
    first = false;
    if constexpr (std::is_same_v<V, bool>) os << (v ? "true" : "false");
    else if constexpr (std::is_enum_v<V>) os << static_cast<long long>(v);
    else if constexpr (requires { os << v; }) os << v;
    else os << "…";
  });
  return os.str();
}

}  // namespace ptp::config
