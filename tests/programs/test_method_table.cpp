// The programs' method table (examples/reproduce/method_table.hpp): every method once, its
// run identity exactly as results files have recorded it (so they still resume), every
// option reachable by its flag, an unknown name refused with the valid ones, and each entry
// building the regularizer its options describe.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "method_table.hpp"
#include "run_config.hpp"

namespace {

using namespace ptp::repro;

// What a method's `make` asks of the run, without a model: PTP-ADV-text's stage is a stand-in
// that keeps the attack options it was given.
struct stub_a2t {
  ptp::text::a2t attack;
};
struct stub_run {
  [[nodiscard]] std::int64_t mask_id() const { return 103; }
  [[nodiscard]] stub_a2t a2t(const ptp::text::a2t& attack) const { return {attack}; }
};

// The identity of a default run_config (model /models/m) running `method`, as a results
// file's key holds it.
std::string identity_of(const std::string& method) {
  run_config cfg;
  cfg.model_dir = "/models/m";
  cfg.method = method;
  return cfg.identity().dump();
}

}  // namespace

TEST_CASE("method table: every method once, in the documented order", "[reproduce][methods]") {
  const std::vector<std::string_view> expected{"vanilla", "ptp-rn", "ptp-adv", "ptp-rn-text", "ptp-adv-text",
                                               "freelb",  "smart",  "r3f",     "neftune"};
  CHECK(method_names() == expected);
  const auto names = method_names();
  CHECK(std::set<std::string_view>(names.begin(), names.end()).size() == names.size());
}

TEST_CASE("method table: each method's run identity is the one results files hold", "[reproduce][methods][sweep]") {
  // a results line's key holds config.dump(): keys sorted, run_config's own and the method's
  const std::map<std::string, std::string> expected{
      {"vanilla", R"({"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"max_length":128,"model":"m","prefix_length":16,)"
                  R"("prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,"weight_decay":0.01})"},
      {"ptp-rn", R"({"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"max_length":128,"model":"m","prefix_length":16,)"
                 R"("prefix_projection":false,"prompt":"prefix","sigma":0.05,"tune_backbone":false,"warmup_ratio":0.0,"weight":1.0,)"
                 R"("weight_decay":0.01})"},
      {"ptp-adv", R"({"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"max_length":128,"model":"m","pgd":[2,0.05,0.3],)"
                  R"("prefix_length":16,"prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,"weight":1.0,)"
                  R"("weight_decay":0.01})"},
      {"ptp-rn-text", R"({"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"mask_rate":0.1,"max_length":128,"model":"m",)"
                      R"("prefix_length":16,"prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,)"
                      R"("weight":1.0,"weight_decay":0.01})"},
      {"ptp-adv-text", R"({"a2t":[0.1,0.8,20],"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"max_length":128,"model":"m",)"
                       R"("prefix_length":16,"prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,)"
                       R"("weight":1.0,"weight_decay":0.01})"},
      {"freelb", R"({"batch_size":16,"epochs":10,"freelb":[2,0.1,0.0,0.2],"head":"classifier","lr":0.01,"max_length":128,"model":"m",)"
                 R"("prefix_length":16,"prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,)"
                 R"("weight":1.0,"weight_decay":0.01})"},
      {"smart", R"({"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"max_length":128,"model":"m","prefix_length":16,)"
                R"("prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,"weight":1.0,"weight_decay":0.01})"},
      {"r3f", R"({"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"max_length":128,"model":"m","prefix_length":16,)"
              R"("prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,"weight":1.0,"weight_decay":0.01})"},
      {"neftune", R"({"batch_size":16,"epochs":10,"head":"classifier","lr":0.01,"max_length":128,"model":"m","neftune_alpha":5.0,)"
                  R"("prefix_length":16,"prefix_projection":false,"prompt":"prefix","tune_backbone":false,"warmup_ratio":0.0,"weight":1.0,)"
                  R"("weight_decay":0.01})"},
  };
  REQUIRE(expected.size() == method_names().size());
  for (const auto& [method, identity] : expected) {
    INFO(method);
    CHECK(identity_of(method) == identity);
  }
}

TEST_CASE("method table: every option has its own flag, and the flag sets it", "[reproduce][methods]") {
  std::set<std::string> flags;
  for (const auto* o : method_option_list) CHECK(flags.insert(o->flag).second);
  const method_options defaults;
  for (const auto* o : method_option_list) {
    INFO(o->flag);
    method_options m;
    CLI::App app;
    add_method_flags(app, m);
    app.parse(std::string(o->flag) + " 7", false);
    CHECK(o->value(m) == 7);
    for (const auto* other : method_option_list)
      if (other != o) CHECK(other->value(m) == other->value(defaults));
  }
  // every option is read by some method, and every option a method reads has a flag
  std::set<const method_option*> read;
  std::apply([&](const auto&... e) { (read.insert(e.options.begin(), e.options.end()), ...); }, method_table());
  CHECK(read == std::set<const method_option*>(method_option_list.begin(), method_option_list.end()));
}

TEST_CASE("method table: an unknown name is refused, naming the valid ones", "[reproduce][methods]") {
  const auto valid = Catch::Contains("valid: vanilla, ptp-rn, ptp-adv, ptp-rn-text, ptp-adv-text, freelb, smart, r3f, neftune");
  CHECK_NOTHROW(check_methods({"vanilla", "ptp-adv-text", "neftune"}));
  CHECK_THROWS_WITH(check_methods({"vanilla", "ptp-rm"}), Catch::Contains("unknown method 'ptp-rm'") && valid);
  CHECK_THROWS_WITH(identity_of("PTP-RN"), Catch::Contains("unknown method 'PTP-RN'") && valid);
}

TEST_CASE("method table: each entry builds the regularizer of its options", "[reproduce][methods]") {
  method_options m;
  m.weight = 0.5;
  m.sigma = 0.125;
  m.pgd_steps = 3;
  m.pgd_step_size = 0.25;
  m.pgd_epsilon = 0.75;
  m.mask_rate = 0.375;
  m.a2t_rate = 0.2;
  m.a2t_min_cosine = 0.6;
  m.a2t_candidates = 7;
  m.freelb_steps = 4;
  m.freelb_step_size = 0.0625;
  m.freelb_epsilon = 1.5;
  m.freelb_init = 0.03125;
  m.neftune_alpha = 9;
  stub_run run;
  const auto& t = method_table();
  using ptp::no_embedding_perturbation;
  using ptp::objective::clean_plus_perturbed;

  const auto vanilla = std::get<0>(t).make(m, run);
  STATIC_REQUIRE(std::is_same_v<decltype(vanilla.embedding_stage()), const no_embedding_perturbation&>);
  STATIC_REQUIRE(std::tuple_size_v<std::remove_cvref_t<decltype(vanilla.text_stages())>> == 0);

  const auto rn = std::get<1>(t).make(m, run);
  CHECK(rn.embedding_stage().sigma == 0.125);
  CHECK(rn.objective().weight == 0.5);

  const auto adv = std::get<2>(t).make(m, run);
  CHECK(adv.embedding_stage().steps == 3);
  CHECK(adv.embedding_stage().step_size == 0.25);
  CHECK(adv.embedding_stage().epsilon == 0.75);
  CHECK(adv.objective().weight == 0.5);

  const auto rn_text = std::get<3>(t).make(m, run);
  const auto& mask = std::get<0>(rn_text.text_stages());
  CHECK(mask.rate == 0.375);
  CHECK(mask.mask_id == 103);
  STATIC_REQUIRE(std::is_same_v<decltype(rn_text.embedding_stage()), const no_embedding_perturbation&>);
  STATIC_REQUIRE(std::is_same_v<decltype(rn_text.objective()), const clean_plus_perturbed&>);
  CHECK(rn_text.objective().weight == 0.5);

  const auto adv_text = std::get<4>(t).make(m, run);
  const auto& a2t = std::get<0>(adv_text.text_stages()).attack;
  CHECK(a2t.max_rate == 0.2);
  CHECK(a2t.min_embedding_cosine == 0.6);
  CHECK(a2t.max_candidates == 7);
  CHECK(adv_text.objective().weight == 0.5);

  const auto freelb = std::get<5>(t).make(m, run);
  CHECK(freelb.embedding_stage().steps == 4);
  CHECK(freelb.embedding_stage().step_size == 0.0625);
  CHECK(freelb.embedding_stage().epsilon == 1.5);
  CHECK(freelb.embedding_stage().init_magnitude == 0.03125);
  CHECK(freelb.objective().weight == 0.5);

  CHECK(std::get<6>(t).make(m, run).objective().weight == 0.5);  // SMART: consistency
  CHECK(std::get<7>(t).make(m, run).objective().weight == 0.5);  // R3F: consistency
  const auto nef = std::get<8>(t).make(m, run);
  CHECK(nef.embedding_stage().alpha == 9);
  STATIC_REQUIRE(std::is_same_v<decltype(nef.objective()), const ptp::objective::perturbed_only&>);
}
