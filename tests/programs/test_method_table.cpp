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
  // a value other than the default, as the command line spells it and the results file records it
  auto other_value = [&](const method_option& o) -> std::pair<std::string, nlohmann::json> {
    const auto d = o.value(defaults);
    if (d.is_boolean()) return {d.get<bool>() ? "false" : "true", !d.get<bool>()};
    if (d.is_string()) {  // an enum: its last name, or its first when that is the default
      const std::map<std::string, std::string> other{{"zero", "random"},   {"random", "zero"},      {"l2", "linf"},
                                                     {"mean-l1", "sum-of-l1"}, {"stable-kl", "sym-kl"}, {"uniform", "normal"},
                                                     {"reference", "detached-targets"}};
      const auto n = other.at(d.get<std::string>());
      return {n, n};
    }
    return {"7", 7};
  };
  for (const auto* o : method_option_list) {
    INFO(o->flag);
    method_options m;
    CLI::App app;
    add_method_flags(app, m);
    const auto [spelled, recorded] = other_value(*o);
    app.parse(std::string(o->flag) + " " + spelled, false);
    CHECK(o->value(m) == recorded);
    CHECK(o->value(m) != o->value(defaults));
    for (const auto* other : method_option_list)
      if (other != o) CHECK(other->value(m) == other->value(defaults));
  }
  // every option is read by some method, and every option a method reads has a flag
  std::set<const method_option*> read;
  std::apply([&](const auto&... e) { (read.insert(e.options.begin(), e.options.end()), ...); }, method_table());
  CHECK(read == std::set<const method_option*>(method_option_list.begin(), method_option_list.end()));
}

TEST_CASE("method table: an enum flag takes its names only", "[reproduce][methods]") {
  for (const char* bad : {"--pgd-norm 1", "--pgd-norm L2", "--pgd-init gaussian", "--kl-gradient detached", "--r3f-noise 0",
                          "--a2t-importance mean_l1", "--smart-ascent kl"}) {
    INFO(bad);
    method_options m;
    CLI::App app;
    add_method_flags(app, m);
    CHECK_THROWS_AS(app.parse(bad, false), CLI::ValidationError);
  }
  method_options m;
  CLI::App app;
  add_method_flags(app, m);
  app.parse("--pgd-norm linf --kl-gradient full --a2t-importance sum-of-l2", false);
  CHECK(m.pgd_norm == ptp::norm_type::linf);
  CHECK(m.kl_gradient == kl_choice::full);
  CHECK(m.a2t_importance == ptp::text::a2t::word_importance::sum_of_l2);
}

TEST_CASE("method table: options given flags later enter the identity only when set", "[reproduce][methods][sweep]") {
  run_config cfg;
  cfg.model_dir = "/models/m";
  cfg.method = "smart";
  const auto plain = cfg.identity();
  CHECK(!plain.contains("smart"));
  CHECK(!plain.contains("consistency"));
  cfg.m.kl_gradient = kl_choice::full;
  auto j = cfg.identity();
  CHECK(!j.contains("smart"));
  CHECK(j["consistency"] == nlohmann::json::parse(R"([true,"full"])"));
  cfg.m.smart_steps = 3;
  CHECK(cfg.identity()["smart"] == nlohmann::json::parse(R"([3,0.001,1e-05,1e-06,"stable-kl",false])"));
  cfg.method = "ptp-adv";
  cfg.m.pgd_norm = ptp::norm_type::linf;
  CHECK(cfg.identity()["pgd_more"] == nlohmann::json::parse(R"(["zero",0.2,"linf"])"));
  cfg.method = "ptp-rn";
  CHECK(!cfg.identity().contains("sigma_relative"));
  cfg.m.sigma_relative = false;
  CHECK(cfg.identity()["sigma_relative"] == false);
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
  m.sigma_relative = false;
  m.pgd_init = ptp::embedding::init_kind::random;
  m.pgd_init_magnitude = 0.5;
  m.pgd_norm = ptp::norm_type::linf;
  m.a2t_min_words = 2;
  m.a2t_require_gain = false;
  m.a2t_importance = ptp::text::a2t::word_importance::sum_of_l2;
  m.freelb_init_kind = ptp::embedding::init_kind::zero;
  m.freelb_norm = ptp::norm_type::linf;
  m.freelb_shared_dropout = false;
  m.smart_steps = 2;
  m.smart_step_size = 0.125;
  m.smart_sigma = 0.25;
  m.smart_floor = 0.5;
  m.smart_ascent = ptp::embedding::smart::ascent_loss::sym_kl;
  m.smart_ascent_mean = true;
  m.r3f_epsilon = 0.375;
  m.r3f_noise = ptp::embedding::r3f::noise_kind::normal;
  m.consistency_supervised = false;
  m.kl_gradient = kl_choice::detached_targets;
  stub_run run;
  const auto& t = method_table();
  using ptp::no_embedding_perturbation;
  using ptp::objective::clean_plus_perturbed;

  const auto vanilla = std::get<0>(t).make(m, run);
  STATIC_REQUIRE(std::is_same_v<decltype(vanilla.embedding_stage()), const no_embedding_perturbation&>);
  STATIC_REQUIRE(std::tuple_size_v<std::remove_cvref_t<decltype(vanilla.text_stages())>> == 0);

  const auto rn = std::get<1>(t).make(m, run);
  CHECK(rn.embedding_stage().sigma == 0.125);
  CHECK(!rn.embedding_stage().relative);
  CHECK(rn.objective().weight == 0.5);

  const auto adv = std::get<2>(t).make(m, run);
  CHECK(adv.embedding_stage().steps == 3);
  CHECK(adv.embedding_stage().step_size == 0.25);
  CHECK(adv.embedding_stage().epsilon == 0.75);
  CHECK(adv.embedding_stage().init == ptp::embedding::init_kind::random);
  CHECK(adv.embedding_stage().init_magnitude == 0.5);
  CHECK(adv.embedding_stage().norm == ptp::norm_type::linf);
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
  CHECK(a2t.min_words == 2);
  CHECK(!a2t.require_gain);
  CHECK(a2t.importance == ptp::text::a2t::word_importance::sum_of_l2);
  CHECK(adv_text.objective().weight == 0.5);

  const auto freelb = std::get<5>(t).make(m, run);
  CHECK(freelb.embedding_stage().steps == 4);
  CHECK(freelb.embedding_stage().step_size == 0.0625);
  CHECK(freelb.embedding_stage().epsilon == 1.5);
  CHECK(freelb.embedding_stage().init_magnitude == 0.03125);
  CHECK(freelb.embedding_stage().init == ptp::embedding::init_kind::zero);
  CHECK(freelb.embedding_stage().norm == ptp::norm_type::linf);
  CHECK(!freelb.embedding_stage().shared_dropout);
  CHECK(freelb.objective().weight == 0.5);

  const auto smart = std::get<6>(t).make(m, run);
  CHECK(smart.embedding_stage().steps == 2);
  CHECK(smart.embedding_stage().step_size == 0.125);
  CHECK(smart.embedding_stage().sigma == 0.25);
  CHECK(smart.embedding_stage().floor == 0.5);
  CHECK(smart.embedding_stage().ascent == ptp::embedding::smart::ascent_loss::sym_kl);
  CHECK(smart.embedding_stage().ascent_mean);
  CHECK(smart.objective().weight == 0.5);  // consistency
  CHECK(!smart.objective().supervised);
  CHECK(smart.objective().gradient == ptp::losses::kl_gradient::detached_targets);
  const auto r3f = std::get<7>(t).make(m, run);
  CHECK(r3f.embedding_stage().epsilon == 0.375);
  CHECK(r3f.embedding_stage().noise == ptp::embedding::r3f::noise_kind::normal);
  CHECK(r3f.objective().weight == 0.5);
  CHECK(!r3f.objective().supervised);
  m.kl_gradient = kl_choice::reference;  // the stage's own reference: no override
  CHECK(!std::get<7>(t).make(m, run).objective().gradient.has_value());
  m.kl_gradient = kl_choice::full;
  CHECK(std::get<6>(t).make(m, run).objective().gradient == ptp::losses::kl_gradient::full);
  const auto nef = std::get<8>(t).make(m, run);
  CHECK(nef.embedding_stage().alpha == 9);
  STATIC_REQUIRE(std::is_same_v<decltype(nef.objective()), const ptp::objective::perturbed_only&>);
}

TEST_CASE("run identity: runs whose AdamW groups the group-option fix changed are other runs", "[reproduce][sweep]") {
  run_config cfg;
  cfg.model_dir = "/models/m";
  cfg.method = "vanilla";
  cfg.lr = 1e-5;
  CHECK(!cfg.identity().contains("group_options_kept"));
  cfg.head_lr = 2e-3;  // not LibTorch's default: it always stuck
  CHECK(!cfg.identity().contains("group_options_kept"));
  cfg.head_lr = 1e-3;  // the cpu/ presets' head: trained at --lr before the fix
  CHECK(cfg.identity()["group_options_kept"] == true);
  cfg.head_lr = -1;
  cfg.tune_backbone = true;
  cfg.weight_decay = 0;
  cfg.backbone_weight_decay = 1e-2;  // decayed at --weight-decay before the fix
  CHECK(cfg.identity()["group_options_kept"] == true);
  cfg.backbone_weight_decay = 0.1;
  CHECK(!cfg.identity().contains("group_options_kept"));
}
