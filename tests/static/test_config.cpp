// tests/static/test_config.cpp — lowering Hana option maps to the plain aggregates
// (ptp/config.hpp). Hana values are compared with static_assert or REQUIRE((a == b)):
// Catch2's expression decomposition and Hana's operators do not mix (DESIGN.md).
#include <ptp/config.hpp>

#include <string>
#include <tuple>
#include <type_traits>

#include "catch.hpp"

namespace hana = boost::hana;
using namespace ptp::opt;
using ptp::config::make;
using ptp::config::options;
using ptp::config::stage;

// ---- the tags ------------------------------------------------------------------------------
static_assert(hana::equal(steps, hana::type_c<steps_t>), "a tag is the Hana type of itself");
static_assert(!hana::equal(steps, epsilon));
static_assert(std::string_view(steps_t::name) == "steps");
static_assert(std::string_view(init_magnitude_t::name) == "init_magnitude");
static_assert(hana::first(steps(3)) == steps);
static_assert(decltype(hana::contains(options(steps(3)), hana::type_c<steps_t>))::value);

// ---- lowering at compile time: the result is a plain aggregate -------------------------------
constexpr auto pgd = make<ptp::embedding::pgd>(options(steps(5), step_size(0.05), epsilon(0.5),
                                                       init(ptp::embedding::init_kind::random),
                                                       init_magnitude(0.1), norm(ptp::norm_type::linf)));
static_assert(std::is_same_v<std::remove_cv_t<decltype(pgd)>, ptp::embedding::pgd>);
static_assert(pgd.steps == 5 && pgd.step_size == 0.05 && pgd.epsilon == 0.5 &&
              pgd.init == ptp::embedding::init_kind::random && pgd.init_magnitude == 0.1 &&
              pgd.norm == ptp::norm_type::linf);

TEST_CASE("an empty map gives the aggregate's documented defaults", "[static][config]") {
  const ptp::embedding::pgd d{};
  const auto p = make<ptp::embedding::pgd>(options());
  CHECK(p.steps == d.steps);
  CHECK(p.step_size == d.step_size);
  CHECK(p.epsilon == d.epsilon);
  CHECK(p.init == d.init);
  CHECK(p.init_magnitude == d.init_magnitude);
  CHECK(p.norm == d.norm);
  const auto f = make<ptp::embedding::freelb>(hana::make_map());
  CHECK(f.steps == ptp::embedding::freelb{}.steps);
  CHECK(f.init == ptp::embedding::freelb{}.init);
}

TEST_CASE("options set only their own fields", "[static][config]") {
  const auto p = make<ptp::embedding::pgd>(options(epsilon(0.7)));
  CHECK(p.epsilon == 0.7);
  CHECK(p.steps == ptp::embedding::pgd{}.steps);
  CHECK(p.step_size == ptp::embedding::pgd{}.step_size);
  const auto g = make<ptp::embedding::gaussian>(options(sigma(0.2), relative(false)));
  CHECK(g.sigma == 0.2);
  CHECK_FALSE(g.relative);
  CHECK(make<ptp::embedding::neftune>(options(alpha(15))).alpha == 15.0);
  CHECK(make<ptp::embedding::uniform>(options(epsilon(0.01))).epsilon == 0.01);
  const auto fgm = make<ptp::embedding::fgm>(options(epsilon(0.02), norm(ptp::norm_type::linf)));
  CHECK(fgm.epsilon == 0.02);
  CHECK(fgm.norm == ptp::norm_type::linf);
  const auto s = make<ptp::embedding::smart>(options(steps(2), step_size(1e-2), sigma(1e-4), ptp::opt::floor(1e-5)));
  CHECK(s.steps == 2);
  CHECK(s.step_size == 1e-2);
  CHECK(s.sigma == 1e-4);
  CHECK(s.floor == 1e-5);
  const auto r = make<ptp::embedding::r3f>(options(epsilon(1e-4), noise(ptp::embedding::r3f::noise_kind::normal)));
  CHECK(r.epsilon == 1e-4);
  CHECK(r.noise == ptp::embedding::r3f::noise_kind::normal);
}

TEST_CASE("values convert without narrowing", "[static][config]") {
  // An integer for a floating field, a hana::integral_constant for an integer one,
  // a string literal for a std::string, a wide integer for a narrower id.
  const auto p = make<ptp::embedding::pgd>(options(epsilon(0), steps(hana::int_c<4>)));
  CHECK(p.epsilon == 0.0);
  CHECK(p.steps == 4);
  const auto m = make<ptp::text::random_mask>(options(rate(0.15), mask_id(103), mask_word("<mask>")));
  CHECK(m.rate == 0.15);
  CHECK(m.mask_id == 103);
  CHECK(m.mask_word == "<mask>");
  const auto sub = make<ptp::text::random_substitution>(options(first_id(1000), last_id(30522ull)));
  CHECK(sub.first_id == 1000);
  CHECK(sub.last_id == 30522);
}

TEST_CASE("keys may be written as hana::type_c and maps built with hana::make_map", "[static][config]") {
  const auto m = hana::make_map(hana::make_pair(hana::type_c<steps_t>, 7), hana::make_pair(hana::type_c<norm_t>, ptp::norm_type::linf));
  const auto f = make<ptp::embedding::freelb>(m);
  CHECK(f.steps == 7);
  CHECK(f.norm == ptp::norm_type::linf);
  // A Hana tuple of pairs lowers too (the order of options does not matter).
  const auto t = make<ptp::embedding::freelb>(hana::make_tuple(norm(ptp::norm_type::linf), steps(7)));
  CHECK(t.steps == f.steps);
  CHECK(t.norm == f.norm);
}

TEST_CASE("text stages and objectives lower like embedding stages", "[static][config]") {
  CHECK(make<ptp::text::random_deletion>(options(rate(0.3))).rate == 0.3);
  CHECK(make<ptp::text::adjacent_swap>(options(rate(0.2))).rate == 0.2);
  const auto syn = make<ptp::text::synonym_substitution<>>(options(rate(0.25), skip_stopwords(false), max_candidates(5)));
  CHECK(syn.rate == 0.25);
  CHECK_FALSE(syn.skip_stopwords);
  CHECK(syn.max_candidates == 5);
  CHECK(make<ptp::objective::clean_plus_perturbed>(options(weight(0.5))).weight == 0.5);
  const auto c = make<ptp::objective::consistency>(options(weight(4), supervised(false)));
  CHECK(c.weight == 4.0);
  CHECK_FALSE(c.supervised);
  STATIC_REQUIRE(std::is_same_v<decltype(make<ptp::objective::perturbed_only>(options())), ptp::objective::perturbed_only>);
}

TEST_CASE("describe() prints name=value for logs", "[static][config]") {
  CHECK(ptp::config::describe(options(steps(3), relative(true), mask_word("[MASK]"))) ==
        "steps=3 relative=true mask_word=[MASK]");
  CHECK(ptp::config::describe(options()).empty());
}

TEST_CASE("experiment() builds the same regularizer as ptp::regularizer(...)", "[static][config]") {
  auto reg = ptp::config::experiment(hana::make_map(
      text(hana::make_tuple(stage<ptp::text::random_mask>(rate(0.05), mask_id(103)),
                            ptp::text::adjacent_swap{.rate = 0.2})),
      embedding(stage<ptp::embedding::pgd>(steps(3), step_size(0.03), epsilon(0.3))),
      objective(stage<ptp::objective::clean_plus_perturbed>(weight(0.5)))));
  using direct = decltype(ptp::regularizer(ptp::text::random_mask{}, ptp::text::adjacent_swap{},
                                           ptp::embedding::pgd{}, ptp::objective::clean_plus_perturbed{}));
  STATIC_REQUIRE(std::is_same_v<decltype(reg), direct>);
  STATIC_REQUIRE(ptp::Regularizer<decltype(reg)>);
  CHECK(reg.embedding_stage().steps == 3);
  CHECK(reg.embedding_stage().step_size == 0.03);
  CHECK(reg.embedding_stage().epsilon == 0.3);
  CHECK(reg.objective().weight == 0.5);
  CHECK(std::get<0>(reg.text_stages()).rate == 0.05);  // order kept: mask, then swap
  CHECK(std::get<0>(reg.text_stages()).mask_id == 103);
  CHECK(std::get<1>(reg.text_stages()).rate == 0.2);
}

TEST_CASE("experiment() leaves missing slots to ptp::regularizer's defaults", "[static][config]") {
  // No objective: R3F brings its own (consistency); PGD gets clean + perturbed.
  auto r3f = ptp::config::experiment(hana::make_map(embedding(stage<ptp::embedding::r3f>(epsilon(1e-4)))));
  STATIC_REQUIRE(std::is_same_v<decltype(r3f)::objective_type, ptp::objective::consistency>);
  CHECK(r3f.embedding_stage().epsilon == 1e-4);
  auto single_text = ptp::config::experiment(hana::make_map(text(stage<ptp::text::random_deletion>(rate(0.1)))));
  STATIC_REQUIRE(std::is_same_v<decltype(single_text)::embedding_type, ptp::no_embedding_perturbation>);
  CHECK(std::get<0>(single_text.text_stages()).rate == 0.1);
  // A stage map given whole, and a ready aggregate in a slot.
  auto whole = ptp::config::experiment(hana::make_map(embedding(stage<ptp::embedding::fgm>(options(epsilon(0.05)))),
                                                      objective(ptp::objective::perturbed_only{})));
  CHECK(whole.embedding_stage().epsilon == 0.05);
  STATIC_REQUIRE(std::is_same_v<decltype(whole)::objective_type, ptp::objective::perturbed_only>);
  auto vanilla = ptp::config::experiment(hana::make_map());
  STATIC_REQUIRE(std::is_same_v<decltype(vanilla)::embedding_type, ptp::no_embedding_perturbation>);
  CHECK(vanilla.passes() == 1);
}
