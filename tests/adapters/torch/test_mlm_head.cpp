// ptp/adapters/torch/mlm_head.hpp on the packaged MiniLM (published without a masked-LM head):
// a head fitted by masked-word prediction learns the words of its corpus, leaves the encoder
// body untouched, is deterministic at a seed, and round-trips through save_mlm_head and
// load_options::mlm_head_file under the checkpoint family's HF names.
#include <ptp/adapters/torch.hpp>
#include <ptp/adapters/torch/encoders.hpp>
#include <ptp/adapters/torch/mlm_head.hpp>
#include <ptp/text/tokenizers/wordpiece.hpp>

#include "packaged_models.hpp"

// after the LibTorch headers: c10 defines a CHECK macro of its own, and Catch's must win
#include "catch.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct fixture {
  fs::path dir = ptp::repro::find_default_model();
  ptp::text::wordpiece_tokenizer tok = ptp::text::load_wordpiece((dir / "tokenizer.json").string());
  ptp::torch::mlm_fit_options o;
  std::vector<std::vector<std::int64_t>> corpus;

  fixture() {
    o.mask_id = *tok.token_to_id("[MASK]");
    o.pad_id = *tok.token_to_id("[PAD]");
    o.special = {*tok.token_to_id("[CLS]"), *tok.token_to_id("[SEP]"), o.pad_id, o.mask_id};
    o.steps = 60;
    o.batch_size = 16;
    o.lr = 3e-3;
    for (const char* s : {"the cat sat on the mat", "a dog barked at the mailman", "rain fell on the quiet town",
                          "she played the violin at night", "the river flows to the sea", "he baked bread every morning",
                          "children laughed in the park", "the old clock struck twelve"}) {
      const auto e = tok.encode(s);
      corpus.emplace_back(e.ids.begin(), e.ids.end());
    }
  }
  ptp::torch::pretrained_encoder fresh_head(std::uint64_t seed) const {
    torch::manual_seed(seed);
    return ptp::torch::load_pretrained_encoder(dir, {.strict = false, .new_mlm_head = true}).first;
  }
};

std::vector<at::Tensor> head_of(ptp::torch::pretrained_encoder& e) {
  return {e->mlm_dense->weight, e->mlm_dense->bias, e->mlm_norm->weight, e->mlm_norm->bias, e->mlm_bias};
}

}  // namespace

TEST_CASE("fit_mlm_head: the head learns its corpus's words; the body is untouched; same seed, same head", "[encoders][mlm_head]") {
  at::set_num_threads(1);
  fixture f;
  auto enc = f.fresh_head(7);
  REQUIRE(enc->has_mlm_head());
  CHECK(at::equal(enc->mlm_bias, at::zeros_like(enc->mlm_bias)));  // BERT's initialisation
  CHECK(at::equal(enc->mlm_norm->weight, at::ones_like(enc->mlm_norm->weight)));
  const auto body = ptp::torch::load_pretrained_encoder(f.dir, {.strict = false}).first;
  const auto r = ptp::torch::fit_mlm_head(enc, f.corpus, f.corpus, f.o);
  INFO("top-1 before " << r.top1_before << ", after " << r.top1_after);
  CHECK(r.heldout_masks >= f.corpus.size());
  CHECK(r.top1_before < 0.05);  // an untrained head decodes noise
  CHECK(r.top1_after > 0.5);    // eight sentences seen 120 times each: their words are learned
  CHECK(std::isfinite(r.final_loss));
  // the encoder body is frozen during the fit: every parameter but the head equals a fresh load
  auto fresh = body->named_parameters();
  for (const auto& np : enc->named_parameters()) {
    if (np.key().rfind("mlm_", 0) == 0) continue;
    INFO(np.key());
    CHECK(at::equal(np.value(), fresh[np.key()]));
    CHECK_FALSE(np.value().requires_grad());
  }
  // deterministic at a seed (one thread)
  auto again = f.fresh_head(7);
  ptp::torch::fit_mlm_head(again, f.corpus, f.corpus, f.o);
  const auto a = head_of(enc), b = head_of(again);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(at::equal(a[i], b[i]));
}

TEST_CASE("save_mlm_head / mlm_head_file: HF names, a bit-identical round trip, errors naming the file", "[encoders][mlm_head]") {
  at::set_num_threads(1);
  fixture f;
  f.o.steps = 5;
  auto enc = f.fresh_head(3);
  ptp::torch::fit_mlm_head(enc, f.corpus, f.corpus, f.o);
  const auto dir = fs::temp_directory_path() / ("ptp_mlm_head_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto path = dir / "head.safetensors";
  ptp::torch::save_mlm_head(enc, path, {{"note", "test"}});
  CHECK_FALSE(fs::exists(dir / "head.safetensors.tmp"));
  {
    ptp::torch::safetensors_file file(path);
    std::set<std::string> names;
    for (const auto& e : file.entries()) names.insert(e.name);
    // transformers' BertForMaskedLM names (BertOnlyMLMHead: cls.predictions.*)
    CHECK(names == std::set<std::string>{"cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias",
                                         "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.dense.bias",
                                         "cls.predictions.transform.dense.weight"});
    CHECK(file.metadata().at("note") == "test");
  }
  auto loaded = ptp::torch::load_pretrained_encoder(f.dir, {.strict = false, .mlm_head_file = path}).first;
  REQUIRE(loaded->has_mlm_head());
  const auto a = head_of(enc), b = head_of(loaded);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(at::equal(a[i], b[i]));
  CHECK(ptp::torch::fill_mask_top1(loaded, f.corpus, f.o).first == ptp::torch::fill_mask_top1(enc, f.corpus, f.o).first);

  // a head file without the output bias: the loader names the file and the tensor
  const auto partial = dir / "partial.safetensors";
  ptp::torch::save_safetensors(partial, {{"cls.predictions.transform.dense.weight", enc->mlm_dense->weight.detach()}});
  CHECK_THROWS_WITH(ptp::torch::load_pretrained_encoder(f.dir, {.strict = false, .mlm_head_file = partial}),
                    Catch::Contains(partial.string()) && Catch::Contains("cls.predictions.bias"));
  CHECK_THROWS_WITH(ptp::torch::load_pretrained_encoder(f.dir, {.strict = false, .mlm_head_file = dir / "missing.safetensors"}),
                    Catch::Contains("missing.safetensors"));
  // without a head in the checkpoint or a file, fitting is refused
  auto bare = ptp::torch::load_pretrained_encoder(f.dir, {.strict = false}).first;
  CHECK_THROWS_WITH(ptp::torch::fit_mlm_head(bare, f.corpus, f.corpus, f.o), Catch::Contains("new_mlm_head"));
  fs::remove_all(dir);
}
