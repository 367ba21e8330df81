// The reproduction programs' shared pieces (examples/reproduce):
//  * the WordNet WiC builder: balanced labels, no lemma across splits, deterministic, the
//    target word (through Morphy) at the given offsets of both sentences;
//  * a two-seed × two-method smoke sweep of the runner on the packaged MiniLM with tiny data,
//    interrupted after one run and resumed: no run redone, none duplicated;
//  * a run repeated at the same seed and thread count gives bit-identical numbers.
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <unistd.h>

#include "temp_dir.hpp"
#include "tiny_wic.hpp"
#include "wordnet_supersense.hpp"

// after the LibTorch headers: c10 defines a CHECK macro of its own, and Catch's must win
#include "catch.hpp"

namespace {

namespace fs = std::filesystem;
using namespace ptp::repro;
using ptp_test::temp_dir;


const ptp::text::wordnet& wordnet() {
  static const ptp::text::wordnet wn;
  return wn;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// the target at [start, end) is the lemma or one of its Morphy forms (ASCII examples:
// character offsets are byte offsets)
bool target_at(const std::string& sentence, std::int64_t start, std::int64_t end, const std::string& lemma) {
  if (start < 0 || end <= start || static_cast<std::size_t>(end) > sentence.size()) return false;
  const auto w = lower(sentence.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start)));
  if (w == lemma) return true;
  for (auto p : {ptp::text::pos::noun, ptp::text::pos::verb})
    for (const auto& b : wordnet().morphy(w, p))
      if (b == lemma) return true;
  return false;
}

}  // namespace

TEST_CASE("WordNet WiC: balanced, split by lemma, deterministic, target in both sentences", "[reproduce][wordnet_wic]") {
  const wordnet_wic_options o{.train_pairs = 200, .dev_pairs = 60, .test_pairs = 100};
  const auto a = build_wordnet_wic(wordnet(), o);
  const auto b = build_wordnet_wic(wordnet(), o);
  REQUIRE(a.train.size() == 200);
  REQUIRE(a.dev.size() == 60);
  REQUIRE(a.test.size() == 100);
  std::map<std::string, int> split_of;
  int split = 0;
  for (const auto* s : {&a.train, &a.dev, &a.test}) {
    std::size_t positives = 0;
    for (const auto& ex : *s) {
      REQUIRE(ex.label.has_value());
      positives += *ex.label ? 1 : 0;
      INFO(ex.word << ": " << ex.sentence1 << " || " << ex.sentence2);
      CHECK(target_at(ex.sentence1, ex.start1, ex.end1, ex.word));
      CHECK(target_at(ex.sentence2, ex.start2, ex.end2, ex.word));
      CHECK(ex.sentence1 != ex.sentence2);
      const auto [it, fresh] = split_of.try_emplace(ex.word, split);
      CHECK(it->second == split);  // no lemma in two splits
    }
    CHECK(positives * 2 == s->size());  // exactly balanced
    ++split;
  }
  // deterministic: the same examples in the same order
  for (const auto& [x, y] : {std::pair{&a.train, &b.train}, std::pair{&a.dev, &b.dev}, std::pair{&a.test, &b.test}}) {
    REQUIRE(x->size() == y->size());
    for (std::size_t i = 0; i < x->size(); ++i) {
      CHECK(wic_to_json((*x)[i]) == wic_to_json((*y)[i]));
    }
  }
  // another seed deals the lemmas differently
  auto o2 = o;
  o2.seed = 7;
  CHECK(wic_to_json(build_wordnet_wic(wordnet(), o2).test.front()) != wic_to_json(a.test.front()));
  // the jsonl round-trips through the SuperGLUE WiC reader
  temp_dir tmp;
  write_wordnet_wic(a, tmp.path);
  const auto back = ptp::data::read_wic(tmp.path / "dev.jsonl");
  REQUIRE(back.size() == a.dev.size());
  CHECK(back[3].sentence2 == a.dev[3].sentence2);
  CHECK(back[3].label == a.dev[3].label);
}

TEST_CASE("runner: two seeds x two methods, interrupted and resumed, deterministic", "[reproduce][sweep][torch]") {
  const run_data data = ptp_test::tiny_wic(wordnet(), 16);
  const run_config cfg = ptp_test::tiny_config(8, 2);
  const auto jobs = plan({"tiny-WiC"}, {"vanilla", "ptp-adv"}, {1, 2}, cfg);
  REQUIRE(jobs.size() == 4);

  temp_dir tmp;
  const auto out = (tmp.path / "results.jsonl").string();
  auto data_of = [&](const std::string&) { return data; };
  // interrupted: stops after one finished run
  const auto first = run_sweep(jobs, out, data_of, /*stop_after=*/1);
  CHECK(first.finished == 1);
  CHECK(first.stopped_early);
  REQUIRE(ptp::sweep::read_results(out).records.size() == 1);
  // resumed: the finished run is skipped, the other three run once
  const auto second = run_sweep(jobs, out, data_of);
  CHECK(second.skipped == 1);
  CHECK(second.finished == 3);
  const auto records = ptp::sweep::read_results(out).records;
  REQUIRE(records.size() == 4);
  std::set<std::string> keys;
  for (const auto& r : records) {
    keys.insert(r.run_key());
    CHECK(r.metrics.at("accuracy") >= 0.0);
    CHECK(r.metrics.at("accuracy") <= 1.0);
    CHECK(r.metrics.count("select_accuracy") == 1);
    CHECK(r.metrics.at("best_epoch") >= 1);
  }
  CHECK(keys.size() == 4);  // no duplicates
  // a third pass has nothing left to do
  const auto third = run_sweep(jobs, out, data_of);
  CHECK(third.finished == 0);
  CHECK(third.skipped == 4);
  CHECK(ptp::sweep::read_results(out).records.size() == 4);
  CHECK(fs::exists(tmp.path / "results.summary.md"));
  CHECK(fs::exists(tmp.path / "results.summary.csv"));
  // a pass with nothing to run still writes the table (results completed by another process)
  fs::remove(tmp.path / "results.summary.md");
  fs::remove(tmp.path / "results.summary.csv");
  CHECK(run_sweep(jobs, out, data_of).finished == 0);
  REQUIRE(fs::exists(tmp.path / "results.summary.md"));
  CHECK(fs::exists(tmp.path / "results.summary.csv"));
  {
    std::ifstream md(tmp.path / "results.summary.md");
    const std::string table((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
    CHECK(table.find("| tiny-WiC | ptp-adv | accuracy | 2 |") != std::string::npos);
  }

  // determinism: the first recorded run again, same seed and threads → identical numbers
  const auto& r0 = records.front();
  auto again_cfg = cfg;
  again_cfg.method = r0.method;
  again_cfg.seed = r0.seed;
  const auto again = run(again_cfg, data);
  CHECK(record_metrics(again).at("train_loss") == r0.metrics.at("train_loss"));
  CHECK(again.report.at("accuracy") == r0.metrics.at("accuracy"));
  CHECK(again.select.at("accuracy") == r0.metrics.at("select_accuracy"));
}

TEST_CASE("runner: --save-checkpoints writes the selected prompt; loading it restores every tensor", "[reproduce][checkpoint][torch]") {
  const run_data data = ptp_test::tiny_wic(wordnet(), 8);
  temp_dir tmp;
  for (const bool tuned : {false, true}) {
    run_config cfg = ptp_test::tiny_config(8, 2);
    cfg.tune_backbone = tuned;
    cfg.method = "ptp-rn";
    const auto dir = tmp.path / (tuned ? "tuned" : "frozen");
    const auto o = run_sweep(plan({"tiny-WiC"}, {"ptp-rn"}, {3}, cfg), "", [&](const std::string&) { return data; }, 0, nullptr,
                             dir.string());
    REQUIRE(o.finished == 1);
    const auto ck = checkpoint_path(dir, "tiny-WiC", "ptp-rn", 3);
    REQUIRE(fs::exists(ck));
    // the trained tensors, captured from a second identical run (runs are bit-identical)
    std::vector<at::Tensor> trained;
    cfg.seed = 3;
    run_method(cfg, data, [&](trained_run& tr) {
      for (const auto& p : tr.model.checkpoint_module()->parameters()) trained.push_back(p.detach().clone());
    });
    auto [backbone, rep] = ptp::torch::load_pretrained_encoder(cfg.model_dir, {.freeze = true, .strict = false});
    const model_tokenizer tok(cfg.model_dir, static_cast<std::size_t>(cfg.max_length));
    const input_encoder enc(tok, data.info, cfg.head, 0, cfg.max_length);
    prompt_model fresh(backbone, cfg, data.info, enc.verbalizer_ids(), at::kCPU);
    const auto fresh_params = fresh.checkpoint_module()->parameters();
    REQUIRE(fresh_params.size() == trained.size());
    CHECK_FALSE(at::equal(fresh_params.front(), trained.front()));  // the prefix table: trained ≠ initial
    fresh.load(ck);
    for (std::size_t i = 0; i < trained.size(); ++i) CHECK(at::equal(fresh_params[i], trained[i]));
    // a tuned backbone is part of the checkpoint; a frozen one is not
    CHECK((fresh_params.size() > fresh.parts().parameters().size()) == tuned);
  }
  // a checkpoint of another configuration is refused, naming the file
  run_config other;
  other.model_dir = find_default_model();
  other.prefix_length = 5;
  other.max_length = 24;
  auto [backbone, rep] = ptp::torch::load_pretrained_encoder(other.model_dir, {.freeze = true, .strict = false});
  const model_tokenizer tok(other.model_dir, 24);
  const input_encoder enc(tok, data.info, other.head, 0, 24);
  prompt_model wrong(backbone, other, data.info, enc.verbalizer_ids(), at::kCPU);
  CHECK_THROWS_WITH(wrong.load(checkpoint_path(tmp.path / "frozen", "tiny-WiC", "ptp-rn", 3)),
                    Catch::Contains("tiny-WiC-ptp-rn-seed3.pt") && Catch::Contains("[2×"));
}

TEST_CASE("run identity: data caps are part of it; without caps it is what it was", "[reproduce][sweep]") {
  run_config a;
  a.model_dir = "/models/m";
  const auto plain = a.identity();
  CHECK_FALSE(plain.contains("max_train"));
  CHECK_FALSE(plain.contains("max_eval"));
  run_config b = a, c = a;
  b.max_train = 400;
  c.max_eval = 200;
  CHECK(b.identity().at("max_train") == 400);
  CHECK(c.identity().at("max_eval") == 200);
  CHECK(b.identity() != plain);
  CHECK(c.identity() != plain);
  CHECK(b.identity() != c.identity());
  // the command line's caps reach the identity, so a re-run with other caps is not skipped
  common_cli cli;
  CLI::App app;
  cli.add(app);
  app.parse(std::string("--max-train 400 --max-eval 200 --model-dir /models/m"), false);
  cli.finish();
  CHECK(cli.base.identity().at("max_train") == 400);
  CHECK(cli.base.identity().at("max_eval") == 200);
}

TEST_CASE("FewGLUE defaults: PT-Fewshot's P-tuning encoder and one [P] token per slot (WSC 2)", "[reproduce][fewglue][torch]") {
  // PT-Fewshot pet/wrapper.py: LSTM(d, hidden d, bidirectional) → Linear(2d, d) → ReLU →
  // Linear(d, d); its run scripts pass --pattern_ids 1 (WSC 2), which is also the number of
  // continuous prompt tokens.
  common_cli cli;
  fewglue_defaults(cli);
  CHECK(prompt_slots(cli.base, ptp::data::task::rte) == 1);
  CHECK(prompt_slots(cli.base, ptp::data::task::cb) == 1);
  CHECK(prompt_slots(cli.base, ptp::data::task::wsc) == 2);
  auto explicit_cfg = cli.base;
  explicit_cfg.pattern_id = 3;
  CHECK(prompt_slots(explicit_cfg, ptp::data::task::wsc) == 3);
  explicit_cfg.pattern_id = 0;
  explicit_cfg.prefix_length = 5;
  CHECK(prompt_slots(explicit_cfg, ptp::data::task::rte) == 5);

  auto cfg = ptp_test::tiny_config(4, 1);
  cfg.prompt = cli.base.prompt;
  cfg.head = cli.base.head;
  cfg.pattern_id = cli.base.pattern_id;
  const auto data = ptp_test::tiny_wic(wordnet(), 4);
  run_model m(cfg, data);
  CHECK(m.prompt_tokens == 1);
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (const auto& p : m.model.modules()[1]->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  REQUIRE(shapes.count("ptuning.embedding.weight"));
  const auto d = shapes["ptuning.embedding.weight"][1];
  CHECK(shapes["ptuning.embedding.weight"][0] == 1);                          // one prompt token
  CHECK(shapes["ptuning.lstm.weight_hh_l0"] == std::vector<std::int64_t>{4 * d, d});  // hidden d per direction
  CHECK(shapes["ptuning.mlp.0.weight"] == std::vector<std::int64_t>{d, 2 * d});       // Linear(2d, d)
  CHECK(shapes["ptuning.mlp.2.weight"] == std::vector<std::int64_t>{d, d});           // Linear(d, d)
}

TEST_CASE("--model names a packaged encoder; MPNet's tokenizer gets RoBERTa's specials", "[reproduce][mpnet]") {
  common_cli cli;
  CLI::App app;
  cli.add(app);
  app.parse(std::string("--model mpnet"), false);
  cli.finish();
  CHECK(cli.base.model_dir == find_mpnet_model());
  CHECK(find_model("minilm") == find_default_model());
  CHECK(find_model(cli.base.model_dir.string()) == cli.base.model_dir);
  CHECK_THROWS_WITH(find_model("gpt2"), Catch::Contains("neither a packaged name"));
  common_cli both;
  CLI::App app2;
  both.add(app2);
  CHECK_THROWS(app2.parse(std::string("--model mpnet --model-dir /models/m"), false));
  // its vocabulary also holds BERT's [CLS] [SEP] [MASK] [PAD]; the model uses <s> </s> <mask> <pad>
  const model_tokenizer tok(cli.base.model_dir, 32);
  CHECK(tok.cls() == *tok.id("<s>"));
  CHECK(tok.sep() == *tok.id("</s>"));
  CHECK(tok.mask() == *tok.id("<mask>"));
  CHECK(tok.pad() == *tok.id("<pad>"));
  CHECK(tok.id("[MASK]").has_value());
  const auto e = tok.encode({"A premise.", std::string("A hypothesis.")});
  CHECK(e.ids.front() == static_cast<std::uint32_t>(tok.cls()));
  CHECK(e.ids.back() == static_cast<std::uint32_t>(tok.sep()));
}

TEST_CASE("WordNet supersense: balanced, disjoint, labelled by lexicographer file, deterministic", "[reproduce][supersense]") {
  const auto& wn = wordnet();
  const wordnet_supersense_options o{.train_per_class = 4, .dev_per_class = 3, .test_per_class = 5};
  const auto a = build_wordnet_supersense(wn, o);
  const auto b = build_wordnet_supersense(wn, o);
  REQUIRE(a.classes.size() == 7);
  REQUIRE(a.train.size() == 28);
  REQUIRE(a.dev.size() == 21);
  REQUIRE(a.test.size() == 35);
  std::set<std::string> texts;
  std::map<int, int> per_class;
  for (const auto* split : {&a.train, &a.dev, &a.test})
    for (const auto& e : *split) {
      CHECK(texts.insert(e.text).second);  // no text in two places
      CHECK(e.text.find(';') == std::string::npos);
      CHECK(e.text.find('"') == std::string::npos);
      // the label is the synset's lexicographer file
      const auto dot = e.synset.find(".n.");
      REQUIRE(dot != std::string::npos);
      bool found = false;
      for (const auto* s : wn.lookup(e.synset.substr(0, dot), ptp::text::pos::noun))
        if (wn.name(*s) == e.synset) {
          found = true;
          CHECK(ptp::text::lexicographer_file(s->lex_filenum) == "noun." + a.classes[static_cast<std::size_t>(e.label)]);
        }
      CHECK(found);
      if (split == &a.train) ++per_class[e.label];
    }
  for (int c = 0; c < 7; ++c) CHECK(per_class[c] == 4);
  for (std::size_t i = 0; i < a.test.size(); ++i) CHECK(a.test[i].text == b.test[i].text);
  auto o2 = o;
  o2.seed += 1;
  CHECK(build_wordnet_supersense(wn, o2).test.front().text != a.test.front().text);
  auto bad = o;
  bad.classes = {"animal", "dog"};
  CHECK_THROWS_WITH(build_wordnet_supersense(wn, bad), Catch::Contains("'dog' is not a noun lexicographer file"));
  bad.classes = {"animal", "animal"};
  CHECK_THROWS_WITH(build_wordnet_supersense(wn, bad), Catch::Contains("listed twice"));
  bad.classes = {"animal", "Tops"};
  bad.test_per_class = 100000;
  CHECK_THROWS_WITH(build_wordnet_supersense(wn, bad), Catch::Contains("usable synsets"));
}

TEST_CASE("runner: a step schedule evaluates every N steps and after the last; patience and ties as PT-Fewshot",
          "[reproduce][schedule][torch]") {
  // PT-Fewshot pet/wrapper.py train(): dev32 every eval_every_step steps; a score >= the best
  // is kept (ties go to the later evaluation); a counter of evaluations without a strict
  // improvement stops training at 10.
  const run_data data = ptp_test::tiny_wic(wordnet(), 8);  // 8 examples: 2 batches of 4 an epoch
  auto cfg = ptp_test::tiny_config(4, 1);
  cfg.max_steps = 5;
  cfg.eval_every = 2;
  const auto r = run(cfg, data);
  CHECK(r.steps == 5);
  CHECK(r.select_curve.size() == 3);  // after steps 2, 4 and 5
  // nothing moves at lr 0: every evaluation ties the first
  cfg.lr = 0;
  const auto first = run(cfg, data);
  REQUIRE(first.select_curve.size() == 3);
  CHECK(first.select_curve[0] == first.select_curve[2]);
  CHECK(first.best_step == 2);  // ours: ties keep the earlier
  cfg.later_wins_ties = true;
  CHECK(run(cfg, data).best_step == 5);
  cfg.patience = 1;  // the tie at step 4 is no improvement: stop there
  const auto stopped = run(cfg, data);
  CHECK(stopped.steps == 4);
  CHECK(stopped.select_curve.size() == 2);
  CHECK(stopped.best_step == 4);
  // without a step schedule: one evaluation an epoch, as before
  auto epochs = ptp_test::tiny_config(4, 1);
  epochs.epochs = 2;
  const auto e = run(epochs, data);
  CHECK(e.steps == 4);
  CHECK(e.select_curve.size() == 2);
}

TEST_CASE("runner: --tune-word-embeddings trains them through multi-pass methods; PET's decay groups", "[reproduce][fewglue][torch]") {
  const run_data data = ptp_test::tiny_wic(wordnet(), 4);
  auto cfg = ptp_test::tiny_config(4, 1);
  cfg.tune_backbone = true;
  cfg.backbone_lr = 1e-3;
  cfg.backbone_weight_decay = 0;  // decoupled decay would move every row
  cfg.max_steps = 1;
  const auto fresh = ptp::torch::load_pretrained_encoder(cfg.model_dir, {.freeze = true, .strict = false}).first;
  const auto w0 = fresh->word_embeddings->weight.detach().clone();
  auto changed_rows = [&](const run_config& c) {
    std::int64_t rows = -1;
    run_method(c, data, [&](trained_run& tr) {
      const auto d = (tr.model.backbone()->word_embeddings->weight.detach() - w0).abs().amax(1);
      rows = d.gt(0).sum().item<std::int64_t>();
    });
    return rows;
  };
  for (const char* m : {"vanilla", "ptp-rn", "ptp-adv"}) {  // ptp-rn, ptp-adv: ≥ 2 passes through e (audit B2)
    INFO(m);
    cfg.method = m;
    cfg.tune_word_embeddings = false;
    CHECK(changed_rows(cfg) == 0);
    cfg.tune_word_embeddings = true;
    const auto rows = changed_rows(cfg);
    CHECK(rows > 0);
    CHECK(rows < 200);  // the batch's tokens: AdamW moves only rows with a gradient
  }
  cfg.tune_backbone = false;
  CHECK_THROWS_WITH(run(cfg, data), Catch::Contains("--tune-word-embeddings needs --tune-backbone"));

  // PET's no_decay = bias, LayerNorm.weight: our names end in "bias" or "norm.weight"
  cfg.tune_backbone = true;
  run_model m(cfg, data);
  const auto all = m.model.backbone_parameters(), decayed = m.model.backbone_parameters(true), plain = m.model.backbone_parameters(false);
  CHECK(decayed.size() + plain.size() == all.size());
  CHECK(!plain.empty());
  for (const auto& p : decayed) CHECK(p.dim() == 2);  // weights of Linear and Embedding
  for (const auto& p : plain) CHECK(p.dim() == 1);    // biases and norm weights

  // Each group keeps its own rate: the cpu/ presets' head at 1e-3 (LibTorch's AdamW default,
  // which its group-option merge used to replace by --lr) beside the prompt at --lr.
  cfg.lr = 1e-5;
  cfg.head_lr = 1e-3;
  cfg.backbone_lr = 2e-5;
  cfg.backbone_weight_decay = 0.01;
  cfg.weight_decay = 0.1;
  run_model g(cfg, data);
  const auto opt = make_optimizer(cfg, g.model);
  std::vector<std::pair<double, double>> want;  // (lr, decay) per group, in make_optimizer's order
  if (!g.model.parts_parameters(true).empty()) want.emplace_back(1e-5, 0.1);
  if (!g.model.parts_parameters(false).empty()) want.emplace_back(1e-3, 0.1);
  want.emplace_back(2e-5, 0.01);
  want.emplace_back(2e-5, 0.0);
  REQUIRE(opt->param_groups().size() == want.size());
  CHECK(!g.model.parts_parameters(false).empty());  // the head group is there to be checked
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("group " << i);
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[i].options());
    CHECK(o.lr() == want[i].first);
    CHECK(o.weight_decay() == want[i].second);
  }
}

TEST_CASE("FewGLUE presets: PT-Fewshot's run scripts and their CPU cuts", "[reproduce][fewglue]") {
  // THUDM/P-tuning PT-Fewshot/scripts/*_pt_few_shot.sh
  run_config cfg;
  CHECK(apply_fewglue_preset("pt-fewshot/RTE", cfg) == "RTE");
  CHECK(cfg.max_steps == 3500);
  CHECK(cfg.warmup_steps == 150);
  CHECK(cfg.lr == 1e-4);
  CHECK(cfg.batch_size == 16);
  CHECK(cfg.max_length == 256);
  CHECK(apply_fewglue_preset("pt-fewshot/CB", cfg) == "CB");
  CHECK(cfg.max_steps == 250);
  CHECK(cfg.lr == 1e-5);  // the CB script sets no --learning_rate: cli.py's default
  CHECK(cfg.warmup_steps == 0);
  CHECK(apply_fewglue_preset("pt-fewshot/WSC", cfg) == "WSC");
  CHECK(cfg.pattern_id == 2);
  CHECK(cfg.max_length == 128);
  CHECK(apply_fewglue_preset("pt-fewshot/COPA", cfg) == "COPA");
  CHECK(cfg.max_length == 96);
  for (const auto& [name, p] : fewglue_presets()) {
    if (!name.starts_with("cpu/")) continue;
    INFO(name);
    const auto& ref = fewglue_presets().at("pt-fewshot/" + p.task);
    CHECK(p.reference_steps == ref.max_steps);
    CHECK(p.max_steps < ref.max_steps);
    CHECK(p.lr == ref.lr);
    CHECK(p.pattern_id == ref.pattern_id);
  }
  CHECK_THROWS_WITH(apply_fewglue_preset("cpu/MultiRC", cfg), Catch::Contains("cpu/CB"));
  // ptp_fewglue's defaults are PT-Fewshot's recipe
  common_cli cli;
  fewglue_defaults(cli);
  CHECK(cli.base.tune_word_embeddings);
  CHECK(cli.base.max_grad_norm == 1.0);
  CHECK(cli.base.eval_every == 20);
  CHECK(cli.base.patience == 10);
  CHECK(cli.base.later_wins_ties);
  CHECK(cli.base.backbone_weight_decay == 0.1);
}
