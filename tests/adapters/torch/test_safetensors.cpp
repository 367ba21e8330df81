// The safetensors reader on well-formed and malformed files, config.json parsing, the
// encoder loader's error reporting, fused vs explicit attention, prefixes and the memory paths.
#include <ptp/adapters/torch/encoders.hpp>
#include <ptp/adapters/torch/hf_config.hpp>
#include <ptp/adapters/torch/safetensors.hpp>

// after the LibTorch headers: c10 defines a CHECK macro of its own, and Catch's must win
#include "catch.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using ptp::torch::safetensors_error;
using ptp::torch::safetensors_file;

namespace {

fs::path scratch() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("ptp_encoders_st_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes [8-byte length][header][data]; `length` overrides the stored header length.
fs::path raw_file(const std::string& name, const std::string& header, const std::string& data,
                  std::optional<std::uint64_t> length = std::nullopt) {
  auto p = scratch() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  const std::uint64_t n = length.value_or(header.size());
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
  return p;
}

/// The message of the safetensors_error thrown by f (fails the test if none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const safetensors_error& e) {
    return e.what();
  }
  FAIL("expected a safetensors_error");
  return {};
}

template <class E, class F>
std::string error_of_type(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("expected an exception");
  return {};
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string bytes(std::size_t n) { return std::string(n, '\x01'); }

}  // namespace

TEST_CASE("safetensors: round trip of every supported dtype", "[encoders][safetensors]") {
  std::map<std::string, torch::Tensor> t{
      {"a.f64", torch::randn({3, 2}, torch::kDouble)},
      {"b.f32", torch::randn({4})},
      {"c.f16", torch::randn({2, 2, 3}).to(torch::kHalf)},
      {"d.bf16", torch::randn({5}).to(torch::kBFloat16)},
      {"e.i64", torch::arange(7, torch::kLong)},
      {"f.i32", torch::arange(6, torch::kInt).reshape({2, 3})},
      {"g.empty", torch::zeros({0, 3})},
      {"h.scalar", torch::tensor(2.5)},
  };
  auto path = scratch() / "roundtrip.safetensors";
  ptp::torch::save_safetensors(path, t, {{"format", "pt"}});
  safetensors_file f(path);
  REQUIRE(f.entries().size() == t.size());
  REQUIRE(f.metadata().at("format") == "pt");
  for (auto& [name, ref] : t) {
    auto got = f.tensor(name);
    REQUIRE(got.scalar_type() == ref.scalar_type());
    REQUIRE(got.sizes() == ref.sizes());
    REQUIRE(torch::equal(got, ref));
  }
  // read_into converts floating dtypes and writes in place
  auto dst = torch::empty({2, 2, 3});
  f.read_into("c.f16", dst);
  REQUIRE(torch::equal(dst, t["c.f16"].to(torch::kFloat)));
  // entries are sorted by offset and tile the buffer
  for (std::size_t i = 1; i < f.entries().size(); ++i) REQUIRE(f.entries()[i].begin == f.entries()[i - 1].end);
}

TEST_CASE("safetensors: malformed files give clear errors naming file and tensor", "[encoders][safetensors]") {
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";

  SECTION("shorter than the length field") {
    auto p = scratch() / "tiny.safetensors";
    std::ofstream(p, std::ios::binary) << "abcd";
    auto m = error_of([&] { safetensors_file f(p); });
    REQUIRE(has(m, "tiny.safetensors"));
    REQUIRE(has(m, "truncated"));
  }
  SECTION("empty file") {
    auto p = scratch() / "empty.safetensors";
    std::ofstream(p, std::ios::binary).flush();
    REQUIRE(has(error_of([&] { safetensors_file f(p); }), "truncated"));
  }
  SECTION("missing file") {
    REQUIRE(has(error_of([&] { safetensors_file f(scratch() / "nope.safetensors"); }), "nope.safetensors"));
  }
  SECTION("header length beyond the file") {
    auto p = raw_file("longhdr.safetensors", "{" + ok_entry + "}", bytes(24), 4096);
    auto m = error_of([&] { safetensors_file f(p); });
    REQUIRE(has(m, "longhdr.safetensors"));
    REQUIRE(has(m, "runs past the end"));
  }
  SECTION("absurd header length") {
    auto p = raw_file("hugehdr.safetensors", "{}", "", std::uint64_t{1} << 62);
    REQUIRE(has(error_of([&] { safetensors_file f(p); }), "exceeds"));
  }
  SECTION("header not JSON / not an object") {
    REQUIRE(has(error_of([&] { safetensors_file f(raw_file("badjson.safetensors", "{\"w\":", "")); }),
                "not valid JSON"));
    REQUIRE(has(error_of([&] { safetensors_file f(raw_file("array.safetensors", "[1,2]", "")); }),
                "not a JSON object"));
  }
  SECTION("offsets outside the data") {
    auto p = raw_file("outside.safetensors", R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", bytes(16));
    auto m = error_of([&] { safetensors_file f(p); });
    REQUIRE(has(m, "outside.safetensors"));
    REQUIRE(has(m, "tensor 'w'"));
    REQUIRE(has(m, "outside the data buffer"));
  }
  SECTION("offsets reversed") {
    auto p = raw_file("reversed.safetensors", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", bytes(8));
    REQUIRE(has(error_of([&] { safetensors_file f(p); }), "reversed"));
  }
  SECTION("shape and dtype disagree with the byte count") {
    auto p = raw_file("shape.safetensors", R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", bytes(20));
    auto m = error_of([&] { safetensors_file f(p); });
    REQUIRE(has(m, "tensor 'w'"));
    REQUIRE(has(m, "need 24"));
    auto q = raw_file("dtype.safetensors", R"({"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}})", bytes(24));
    REQUIRE(has(error_of([&] { safetensors_file f(q); }), "need 12"));
  }
  SECTION("unknown dtype, bad shape, bad offsets") {
    auto a = raw_file("q8.safetensors", R"({"w":{"dtype":"Q8","shape":[2],"data_offsets":[0,2]}})", bytes(2));
    REQUIRE(has(error_of([&] { safetensors_file f(a); }), "unsupported dtype 'Q8'"));
    auto b = raw_file("neg.safetensors", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", bytes(4));
    REQUIRE(has(error_of([&] { safetensors_file f(b); }), "non-negative"));
    auto c = raw_file("float.safetensors", R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", bytes(4));
    REQUIRE(has(error_of([&] { safetensors_file f(c); }), "non-negative"));
    auto d = raw_file("offs.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", bytes(4));
    REQUIRE(has(error_of([&] { safetensors_file f(d); }), "two integers"));
    auto e = raw_file("nodtype.safetensors", R"({"w":{"shape":[1],"data_offsets":[0,4]}})", bytes(4));
    REQUIRE(has(error_of([&] { safetensors_file f(e); }), "dtype"));
    auto g = raw_file("big.safetensors",
                      R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", bytes(4));
    REQUIRE(has(error_of([&] { safetensors_file f(g); }), "too large"));
  }
  SECTION("overlapping ranges") {
    auto p = raw_file("overlap.safetensors",
                      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                      bytes(24));
    auto m = error_of([&] { safetensors_file f(p); });
    REQUIRE(has(m, "tensor 'b'"));
    REQUIRE(has(m, "overlaps"));
  }
  SECTION("aliasing ranges (two names, same bytes)") {
    auto p = raw_file("alias.safetensors",
                      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                      bytes(16));
    REQUIRE(has(error_of([&] { safetensors_file f(p); }), "overlaps"));
  }
  SECTION("holes and trailing bytes") {
    auto p = raw_file("hole.safetensors",
                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                      bytes(24));
    REQUIRE(has(error_of([&] { safetensors_file f(p); }), "hole"));
    auto q = raw_file("trailing.safetensors", "{" + ok_entry + "}", bytes(30));
    REQUIRE(has(error_of([&] { safetensors_file f(q); }), "trailing"));
  }
  SECTION("duplicate names") {
    auto p = raw_file("dup.safetensors",
                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                      bytes(16));
    REQUIRE(has(error_of([&] { safetensors_file f(p); }), "'a' twice"));
  }
  SECTION("bad metadata") {
    auto p = raw_file("meta.safetensors", R"({"__metadata__":{"format":3}})", "");
    REQUIRE(has(error_of([&] { safetensors_file f(p); }), "metadata"));
  }
  SECTION("missing tensor and wrong destination") {
    auto p = raw_file("good.safetensors", "{" + ok_entry + "}", bytes(24));
    safetensors_file f(p);
    auto m = error_of([&] { f.tensor("absent.weight"); });
    REQUIRE(has(m, "good.safetensors"));
    REQUIRE(has(m, "'absent.weight'"));
    auto dst = torch::empty({3, 2});
    auto s = error_of([&] { f.read_into("w", dst); });
    REQUIRE(has(s, "tensor 'w' has shape [2, 3]"));
    REQUIRE(has(s, "[3, 2]"));
    auto ints = torch::empty({2, 3}, torch::kLong);
    REQUIRE(has(error_of([&] { f.read_into("w", ints); }), "cannot be loaded"));
  }
}

TEST_CASE("safetensors: every truncation and every header byte corruption is caught", "[encoders][safetensors]") {
  auto path = scratch() / "fuzz_src.safetensors";
  ptp::torch::save_safetensors(path, {{"x", torch::randn({3, 5})}, {"y", torch::arange(4, torch::kLong)}});
  std::string whole;
  {
    std::ifstream in(path, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto cut = scratch() / "fuzz.safetensors";
  for (std::size_t n = 0; n < whole.size(); ++n) {
    std::ofstream(cut, std::ios::binary | std::ios::trunc).write(whole.data(), static_cast<std::streamsize>(n));
    CHECK_THROWS_AS(safetensors_file(cut), safetensors_error);
  }
  std::uint64_t hlen = 0;
  std::memcpy(&hlen, whole.data(), 8);
  int accepted = 0;
  for (std::size_t i = 0; i < 8 + hlen; ++i)
    for (char c : {'9', '"', '}', '\0', '-'}) {
      auto bad = whole;
      if (bad[i] == c) continue;
      bad[i] = c;
      std::ofstream(cut, std::ios::binary | std::ios::trunc).write(bad.data(), static_cast<std::streamsize>(bad.size()));
      try {
        safetensors_file f(cut);  // if a corrupted header still validates, every read stays in bounds
        for (auto& e : f.entries()) (void)f.tensor(e.name);
        ++accepted;
      } catch (const safetensors_error&) {
      }
    }
  INFO("corruptions accepted as valid files: " << accepted);
  SUCCEED();
}

TEST_CASE("hf_config: families, defaults and rejections", "[encoders][config]") {
  using ptp::torch::encoder_config;
  auto bert = encoder_config::from_hf_json(nlohmann::json::parse(
      R"({"model_type":"bert","hidden_size":384,"num_attention_heads":12,"num_hidden_layers":6,"intermediate_size":1536})"));
  REQUIRE(bert.family == ptp::torch::encoder_family::bert);
  REQUIRE(bert.embedding_size == 384);
  REQUIRE(bert.head_dim() == 32);
  auto rob = encoder_config::from_hf_json(nlohmann::json::parse(R"({"model_type":"roberta"})"));
  REQUIRE(rob.pad_token_id == 1);
  REQUIRE(rob.max_position_embeddings == 514);
  auto alb = encoder_config::from_hf_json(nlohmann::json::parse(
      R"({"model_type":"albert","hidden_size":64,"embedding_size":16,"num_attention_heads":4,"num_hidden_layers":6,"num_hidden_groups":2,"inner_group_num":2,"intermediate_size":32})"));
  REQUIRE(alb.embedding_size == 16);
  REQUIRE(alb.hidden_act == "gelu_new");
  REQUIRE(alb.num_attention_applications() == 12);
  auto mp = encoder_config::from_hf_json(nlohmann::json::parse(R"({"model_type":"mpnet"})"));
  REQUIRE(mp.family == ptp::torch::encoder_family::mpnet);
  REQUIRE(mp.vocab_size == 30527);
  REQUIRE(mp.pad_token_id == 1);
  REQUIRE(mp.relative_attention_num_buckets == 32);
  REQUIRE_FALSE(mp.has_token_types());
  auto fails = [](const char* text) {
    return error_of_type<ptp::torch::hf_config_error>(
        [&] { encoder_config::from_hf_json(nlohmann::json::parse(text), "cfg.json"); });
  };
  REQUIRE(has(fails(R"({"model_type":"gpt2"})"), "unsupported model_type 'gpt2'"));
  REQUIRE(has(fails(R"({"model_type":"bert","hidden_size":100,"num_attention_heads":12})"), "not a multiple"));
  REQUIRE(has(fails(R"({"model_type":"bert","position_embedding_type":"relative_key"})"), "relative_key"));
  REQUIRE(has(fails(R"({"model_type":"bert","hidden_act":"mish"})"), "mish"));
  REQUIRE(has(fails(R"({"model_type":"bert","hidden_size":"big"})"), "hidden_size"));
  REQUIRE(has(fails(R"({"model_type":"bert","is_decoder":true})"), "is_decoder"));
  REQUIRE(has(fails(R"({"model_type":"mpnet","relative_attention_num_buckets":64})"), "relative_attention_num_buckets = 32"));
  REQUIRE(has(fails(R"({"model_type":"mpnet","pad_token_id":0})"), "pad_token_id = 1"));
  REQUIRE(has(error_of_type<ptp::torch::hf_config_error>([] { ptp::torch::load_hf_config(scratch() / "none"); }),
              "cannot open"));
}

namespace {

ptp::torch::encoder_config tiny_config(ptp::torch::encoder_family fam) {
  ptp::torch::encoder_config c;
  c.family = fam;
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.embedding_size = fam == ptp::torch::encoder_family::albert ? 8 : 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 24;
  c.max_position_embeddings = 40;
  c.type_vocab_size = 2;
  c.pad_token_id = fam == ptp::torch::encoder_family::roberta || fam == ptp::torch::encoder_family::mpnet ? 1 : 0;
  c.layer_norm_eps = 1e-5;
  c.num_hidden_groups = 1;
  return c;
}

/// Saves a model's parameters under their HF names (with the base prefix `base`) plus a
/// config.json, i.e. a checkpoint directory like save_pretrained writes.
fs::path save_checkpoint(ptp::torch::pretrained_encoder& m, const std::string& dir_name, const std::string& base,
                         std::map<std::string, torch::Tensor> extra = {}, std::vector<std::string> drop = {}) {
  auto dir = scratch() / dir_name;
  fs::create_directories(dir);
  std::map<std::string, torch::Tensor> t;
  for (auto& p : m->hf_parameter_names()) t[(p.in_base ? base : "") + p.name] = p.tensor.detach().clone();
  t[base + "embeddings.position_ids"] = torch::arange(m->config().max_position_embeddings).unsqueeze(0);
  for (auto& d : drop) t.erase(d);
  for (auto& [k, v] : extra) t[k] = v;
  ptp::torch::save_safetensors(dir / "model.safetensors", t, {{"format", "pt"}});
  const auto& c = m->config();
  nlohmann::json j{{"model_type", ptp::torch::to_string(c.family)}, {"vocab_size", c.vocab_size},
                   {"hidden_size", c.hidden_size}, {"embedding_size", c.embedding_size},
                   {"num_hidden_layers", c.num_hidden_layers}, {"num_attention_heads", c.num_attention_heads},
                   {"intermediate_size", c.intermediate_size}, {"max_position_embeddings", c.max_position_embeddings},
                   {"type_vocab_size", c.type_vocab_size}, {"pad_token_id", c.pad_token_id},
                   {"layer_norm_eps", c.layer_norm_eps}, {"hidden_act", c.hidden_act},
                   {"num_hidden_groups", c.num_hidden_groups}, {"inner_group_num", c.inner_group_num}};
  std::ofstream(dir / "config.json") << j.dump(2);
  return dir;
}

ptp::torch::kv_prefixes random_prefixes(const ptp::torch::encoder_config& c, std::int64_t b, std::int64_t psl) {
  ptp::torch::kv_prefixes p;
  for (std::int64_t i = 0; i < c.num_attention_applications(); ++i)
    p.emplace_back(torch::randn({b, c.num_attention_heads, psl, c.head_dim()}),
                   torch::randn({b, c.num_attention_heads, psl, c.head_dim()}));
  return p;
}

}  // namespace

TEST_CASE("loader: round trip, tying, freezing and named errors", "[encoders][loader]") {
  using namespace ptp::torch;
  torch::manual_seed(3);
  for (auto fam : {encoder_family::bert, encoder_family::roberta, encoder_family::albert, encoder_family::mpnet}) {
    DYNAMIC_SECTION("family " << to_string(fam)) {
      encoder_options o;
      o.config = tiny_config(fam);
      o.with_mlm_head = true;
      pretrained_encoder src(o);
      src->eval();
      const std::string base = std::string(to_string(fam)) + ".";
      auto dir = save_checkpoint(src, std::string("ckpt_") + to_string(fam), base);
      auto [m, report] = load_pretrained_encoder(dir);
      m->eval();
      REQUIRE(m->has_pooler());
      REQUIRE(m->has_mlm_head());
      REQUIRE(report.unexpected.empty());
      REQUIRE(report.ignored.size() == 1);  // embeddings.position_ids
      for (auto& p : m->parameters()) REQUIRE_FALSE(p.requires_grad());
      // no duplicate storage: the decoder is the word-embedding matrix
      std::set<const void*> storages;
      for (auto& p : m->parameters()) REQUIRE(storages.insert(p.data_ptr()).second);

      auto ids = torch::randint(5, 50, {3, 9});
      auto mask = torch::ones({3, 9}, torch::kLong);
      mask.index_put_({1, torch::indexing::Slice(6)}, 0);
      ids.index_put_({1, torch::indexing::Slice(6)}, o.config.pad_token_id);
      // no autograd: MPNet's mask carries the bias, and one that requires grad (src is not
      // frozen) makes SDPA pick another kernel, equal only to ~1e-6
      torch::NoGradGuard no_grad;
      auto a = src->forward(ids, mask);
      auto b = m->forward(ids, mask);
      REQUIRE(torch::equal(a.last_hidden_state, b.last_hidden_state));
      REQUIRE(torch::equal(a.pooled_output, b.pooled_output));
      REQUIRE(torch::equal(src->mlm_logits(a.last_hidden_state), m->mlm_logits(b.last_hidden_state)));

      // a missing tensor is named
      auto victim = base + (fam == encoder_family::albert ? "encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"
                                                          : "encoder.layer.1.output.dense.weight");
      auto d2 = save_checkpoint(src, std::string("miss_") + to_string(fam), base, {}, {victim});
      auto e1 = error_of_type<encoder_error>([&] { load_pretrained_encoder(d2); });
      REQUIRE(has(e1, "missing tensors"));
      REQUIRE(has(e1, victim));
      // an unknown tensor is named (strict), listed otherwise
      auto d3 = save_checkpoint(src, std::string("extra_") + to_string(fam), base,
                                {{base + "encoder.rogue.weight", torch::zeros({2})}});
      auto e2 = error_of_type<encoder_error>([&] { load_pretrained_encoder(d3); });
      REQUIRE(has(e2, "unexpected tensors"));
      REQUIRE(has(e2, "encoder.rogue.weight"));
      load_options lax;
      lax.strict = false;
      auto [m3, r3] = load_pretrained_encoder(d3, lax);
      REQUIRE(r3.unexpected == std::vector<std::string>{base + "encoder.rogue.weight"});
      // a wrong shape names tensor and shapes
      auto pos = base + "embeddings.position_embeddings.weight";
      auto d4 = save_checkpoint(src, std::string("shape_") + to_string(fam), base,
                                {{pos, torch::zeros({41, o.config.embedding_size})}});
      auto e3 = error_of<>([&] { load_pretrained_encoder(d4); });
      REQUIRE(has(e3, "'" + pos + "' has shape [41"));
      // a wrong dtype (integers for a weight) is rejected
      auto d5 = save_checkpoint(src, std::string("dtype_") + to_string(fam), base,
                                {{pos, torch::zeros({40, o.config.embedding_size}, torch::kLong)}});
      REQUIRE(has(error_of<>([&] { load_pretrained_encoder(d5); }), "cannot be loaded"));
      // an untied decoder is rejected; a tied twin is accepted
      auto dec = m->hf_decoder_weight_name();
      auto d6 = save_checkpoint(src, std::string("untied_") + to_string(fam), base,
                                {{dec, torch::randn({50, o.config.embedding_size})}});
      REQUIRE(has(error_of_type<encoder_error>([&] { load_pretrained_encoder(d6); }), "untied"));
      auto d7 = save_checkpoint(src, std::string("tied_") + to_string(fam), base,
                                {{dec, src->word_embeddings->weight.detach().clone()}});
      auto [m7, r7] = load_pretrained_encoder(d7);
      REQUIRE(std::find(r7.tied.begin(), r7.tied.end(), dec) != r7.tied.end());
      // without base prefix and without head/pooler: the loader adapts
      auto d8 = save_checkpoint(src, std::string("bare_") + to_string(fam), "");
      load_options no_head;
      no_head.with_mlm_head = false;
      no_head.freeze = false;
      auto [m8, r8] = load_pretrained_encoder(d8, no_head);
      REQUIRE_FALSE(m8->has_mlm_head());
      REQUIRE(m8->parameters().front().requires_grad());
      REQUIRE_FALSE(r8.ignored.empty());  // the head's tensors, known and skipped
      m8->eval();
      REQUIRE(torch::equal(m8->forward(ids, mask).last_hidden_state, a.last_hidden_state));
    }
  }
}

TEST_CASE("encoder: fused attention equals the explicit formulation; prefixes; embeds path", "[encoders]") {
  using namespace ptp::torch;
  torch::manual_seed(5);
  for (auto fam : {encoder_family::bert, encoder_family::roberta, encoder_family::albert, encoder_family::mpnet}) {
    DYNAMIC_SECTION("family " << to_string(fam)) {
      encoder_options o;
      o.config = tiny_config(fam);
      if (fam == encoder_family::albert) {
        o.config.num_hidden_layers = 4;
        o.config.num_hidden_groups = 2;
        o.config.inner_group_num = 2;
      }
      pretrained_encoder m(o);
      m->eval();
      auto ids = torch::randint(5, 50, {4, 11});
      auto mask = torch::ones({4, 11}, torch::kLong);
      mask.index_put_({2, torch::indexing::Slice(3)}, 0);
      mask.index_put_({3}, 0);  // an all-padding row: finite, no NaN
      auto prefixes = random_prefixes(o.config, 4, 3);
      for (bool with_prefix : {false, true}) {
        auto pre = with_prefix ? prefixes : kv_prefixes{};
        m->set_attention_backend(attention_backend::fused);
        auto f = m->forward(ids, mask, {}, pre);
        m->set_attention_backend(attention_backend::math);
        auto e = m->forward(ids, mask, {}, pre);
        REQUIRE(torch::isfinite(f.last_hidden_state).all().item<bool>());
        REQUIRE((f.last_hidden_state - e.last_hidden_state).abs().max().item<double>() < 1e-5);
        REQUIRE((f.pooled_output - e.pooled_output).abs().max().item<double>() < 1e-5);
      }
      m->set_attention_backend(attention_backend::fused);
      // embed_words + forward_embeds is forward, bit for bit
      auto a = m->forward(ids, mask);
      auto b = m->forward_embeds(m->embed_words(ids), {}, mask);
      REQUIRE(torch::equal(a.last_hidden_state, b.last_hidden_state));
      // zero prefixes change the result (they are attended to), batch-1 prefixes broadcast
      auto one = random_prefixes(o.config, 1, 2);
      kv_prefixes expanded;
      for (auto& [k, v] : one) expanded.emplace_back(k.expand({4, -1, -1, -1}), v.expand({4, -1, -1, -1}));
      REQUIRE(torch::allclose(m->forward(ids, mask, {}, one).last_hidden_state,
                              m->forward(ids, mask, {}, expanded).last_hidden_state));
      // gradients reach the prefixes (deep prompt tuning) and the word embeddings
      auto k0 = prefixes[0].first.clone().requires_grad_(true);
      auto pre = prefixes;
      pre[0].first = k0;
      auto we = m->embed_words(ids).detach().requires_grad_(true);
      m->forward_embeds(we, {}, mask, pre).pooled_output.sum().backward();
      REQUIRE(k0.grad().defined());
      REQUIRE(k0.grad().abs().sum().item<double>() > 0);
      REQUIRE(we.grad().abs().sum().item<double>() > 0);
      if (fam == encoder_family::mpnet) {  // through the mask argument of the fused kernel
        REQUIRE(m->relative_attention_bias->weight.grad().defined());
        REQUIRE(m->relative_attention_bias->weight.grad().abs().sum().item<double>() > 0);
      }
      // malformed prefixes are named
      auto bad = prefixes;
      bad.pop_back();
      REQUIRE(has(error_of_type<encoder_error>([&] { m->forward(ids, mask, {}, bad); }), "prefix pairs"));
      bad = prefixes;
      bad[1].second = torch::randn({4, o.config.num_attention_heads, 3, o.config.head_dim() + 1});
      REQUIRE(has(error_of_type<encoder_error>([&] { m->forward(ids, mask, {}, bad); }), "prefix value of layer 1"));
      // too long for the position table
      auto long_ids = torch::randint(5, 50, {1, 45});
      REQUIRE(has(error_of_type<encoder_error>([&] { m->forward(long_ids); }), "positions"));
    }
  }
}

TEST_CASE("encoder: RoBERTa and MPNet positions come from the mask; prefixes shift positions", "[encoders]") {
  using namespace ptp::torch;
  auto mask = torch::tensor({1, 1, 1, 0, 0, 1, 1, 0}).reshape({2, 4});
  for (auto fam : {encoder_family::roberta, encoder_family::mpnet}) {
    encoder_options o;
    o.config = tiny_config(fam);
    pretrained_encoder m(o);
    REQUIRE(torch::equal(m->position_ids(mask), torch::tensor({2, 3, 4, 1, 1, 2, 3, 1}).reshape({2, 4})));
    REQUIRE(torch::equal(m->position_ids(mask, 3), torch::tensor({5, 6, 7, 1, 1, 5, 6, 1}).reshape({2, 4})));
  }
  encoder_options ob;
  ob.config = tiny_config(encoder_family::bert);
  pretrained_encoder bert(ob);
  REQUIRE(torch::equal(bert->position_ids(mask, 2)[1], torch::tensor({2, 3, 4, 5})));
}

TEST_CASE("encoder: inference mode path and activation-memory estimate", "[encoders][memory]") {
  using namespace ptp::torch;
  encoder_options o;
  o.config = tiny_config(encoder_family::bert);
  o.config.hidden_dropout_prob = 0.5;
  pretrained_encoder m(o);
  m->train();  // infer() never applies dropout, even in training mode
  auto ids = torch::randint(5, 50, {2, 7});
  auto x = m->infer(ids);
  auto y = m->infer(ids);
  REQUIRE(x.last_hidden_state.is_inference());
  REQUIRE_FALSE(x.last_hidden_state.requires_grad());
  REQUIRE(torch::equal(x.last_hidden_state, y.last_hidden_state));
  m->eval();
  REQUIRE(torch::allclose(m->forward(ids).last_hidden_state, x.last_hidden_state));

  const auto& c = o.config;
  const auto inf = estimate_activation_bytes(c, 8, 128);
  const auto trn = estimate_activation_bytes(c, 8, 128, 0, true);
  REQUIRE(inf > 0);
  REQUIRE(trn > 2 * inf);
  REQUIRE(estimate_activation_bytes(c, 16, 128, 0, true) > trn);
  REQUIRE(estimate_activation_bytes(c, 8, 128, 16, true) > trn);
  REQUIRE(estimate_activation_bytes(c, 8, 128, 0, true, attention_backend::math) > trn);
}

TEST_CASE("encoder: measured activation memory agrees with the estimate", "[encoders][memory]") {
  using namespace ptp::torch;
  encoder_options o;
  o.config.vocab_size = 1000;  // MiniLM-L6 shape otherwise
  o.config.hidden_size = 384;
  o.config.embedding_size = 384;
  o.config.num_hidden_layers = 6;
  o.config.num_attention_heads = 12;
  o.config.intermediate_size = 1536;
  pretrained_encoder m(o);
  m->eval();
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  const std::int64_t b = 8, l = 64;
  auto ids = torch::randint(5, 1000, {b, l});
  auto mask = torch::ones({b, l}, torch::kLong);
  for (bool training : {false, true}) {
    const auto measured = measure_activation_bytes(m, ids, mask, training);
    const auto estimate = static_cast<double>(estimate_activation_bytes(o.config, b, l, 0, training));
    std::cout << (training ? "training" : "inference") << " activation memory [" << b << ", " << l
              << "]: measured peak " << measured.peak_bytes << " B (retained " << measured.retained_bytes
              << " B), estimate " << estimate << " B\n";
    REQUIRE(measured.peak_bytes > 0);
    REQUIRE(measured.peak_bytes >= measured.retained_bytes);
    CHECK(measured.peak_bytes <= 2 * estimate);
    CHECK(measured.peak_bytes >= estimate / 2);
  }
}
