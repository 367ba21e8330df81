// ptp/adapters/torch/hf_config.hpp — the fields of a Hugging Face `config.json` that the
// BERT, RoBERTa, ALBERT and MPNet encoders need, parsed and checked.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ptp::torch {

/// Thrown for an unreadable, malformed or unsupported config.json; the message names the file.
class hf_config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The encoder families ptp loads.
enum class encoder_family { bert, roberta, albert, mpnet };

inline const char* to_string(encoder_family f) noexcept {
  switch (f) {
    case encoder_family::bert: return "bert";
    case encoder_family::roberta: return "roberta";
    case encoder_family::albert: return "albert";
    case encoder_family::mpnet: return "mpnet";
  }
  return "?";
}

/// Architecture of a BERT-style encoder. Defaults are BERT-base's (HF BertConfig); the
/// parser fills each field from config.json when present and otherwise keeps the family
/// default (RoBERTa, ALBERT and MPNet defaults are applied by the parser, see from_hf_json).
struct encoder_config {
  encoder_family family = encoder_family::bert;
  std::int64_t vocab_size = 30522;
  std::int64_t hidden_size = 768;
  /// Width of the word/position/type embeddings. Equal to hidden_size except for ALBERT,
  /// whose factorised embeddings are projected E → H by `embedding_hidden_mapping_in`.
  std::int64_t embedding_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  /// "gelu" (erf), "gelu_new"/"gelu_pytorch_tanh"/"gelu_fast" (tanh approximation), "relu",
  /// "silu"/"swish", "tanh".
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;  ///< unused by MPNet, which has no token types
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  /// ALBERT: layers are shared within num_hidden_groups groups of inner_group_num layers.
  std::int64_t num_hidden_groups = 1;
  std::int64_t inner_group_num = 1;
  /// MPNet: rows of the relative-position bias table shared by all layers. transformers'
  /// MPNet always buckets into 32 whatever this says, so validate() insists on 32.
  std::int64_t relative_attention_num_buckets = 32;

  std::int64_t head_dim() const noexcept { return hidden_size / num_attention_heads; }
  /// BERT and ALBERT add a token-type embedding; RoBERTa has one type; MPNet has none.
  bool has_token_types() const noexcept { return family != encoder_family::mpnet; }
  /// RoBERTa and MPNet number positions from pad_token_id + 1 and give padding pad_token_id
  /// (fairseq's make_positions); BERT and ALBERT count from 0.
  bool positions_after_padding_idx() const noexcept {
    return family == encoder_family::roberta || family == encoder_family::mpnet;
  }
  /// RoBERTa and MPNet name their masked-LM head `lm_head` (exact GELU); BERT's is
  /// `cls.predictions`, ALBERT's `predictions` (both with the config's activation).
  bool has_lm_head_module() const noexcept {
    return family == encoder_family::roberta || family == encoder_family::mpnet;
  }
  /// How many attention layers a forward pass applies (and hence how many key/value prefix
  /// pairs P-tuning v2 needs): num_hidden_layers, times inner_group_num for ALBERT.
  std::int64_t num_attention_applications() const noexcept {
    return family == encoder_family::albert ? num_hidden_layers * inner_group_num : num_hidden_layers;
  }

  /// Checks the invariants the encoder relies on; throws hf_config_error with `where` as context.
  void validate(const std::string& where = "encoder_config") const {
    auto fail = [&](const std::string& m) { throw hf_config_error(where + ": " + m); };
    if (vocab_size <= 0 || hidden_size <= 0 || embedding_size <= 0 || num_hidden_layers <= 0 ||
        num_attention_heads <= 0 || intermediate_size <= 0 || max_position_embeddings <= 0 ||
        type_vocab_size <= 0)
      fail("sizes must be positive");
    if (hidden_size % num_attention_heads != 0)
      fail("hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_attention_heads " +
           std::to_string(num_attention_heads));
    if (family != encoder_family::albert && embedding_size != hidden_size)
      fail("embedding_size differs from hidden_size, which only ALBERT supports");
    if (num_hidden_groups <= 0 || inner_group_num <= 0 || num_hidden_layers % num_hidden_groups != 0)
      fail("num_hidden_layers must be a positive multiple of num_hidden_groups");
    // num_attention_applications() multiplies the two (ALBERT); keep it representable.
    if (family == encoder_family::albert && inner_group_num > std::numeric_limits<std::int64_t>::max() / num_hidden_layers)
      fail("num_hidden_layers × inner_group_num overflows");
    if (pad_token_id < 0 || pad_token_id >= vocab_size) fail("pad_token_id outside the vocabulary");
    if (positions_after_padding_idx() && max_position_embeddings <= pad_token_id + 1)
      fail(std::string(family == encoder_family::mpnet ? "MPNet" : "RoBERTa") +
           " positions start at pad_token_id + 1, beyond max_position_embeddings");
    if (family == encoder_family::mpnet) {
      // transformers' MPNetEmbeddings fix the padding index at 1 and MPNetEncoder buckets
      // into 32 regardless of the config; other values would load but compute differently
      if (pad_token_id != 1) fail("MPNet needs pad_token_id = 1 (transformers fixes its padding index at 1)");
      if (relative_attention_num_buckets != 32)
        fail("MPNet needs relative_attention_num_buckets = 32 (transformers always uses 32 buckets), got " +
             std::to_string(relative_attention_num_buckets));
    }
    static constexpr const char* acts[] = {"gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast",
                                           "relu", "silu", "swish", "tanh"};
    bool ok = false;
    for (auto a : acts) ok = ok || hidden_act == a;
    if (!ok) fail("unsupported hidden_act '" + hidden_act + "'");
    if (hidden_dropout_prob < 0 || hidden_dropout_prob >= 1 || attention_probs_dropout_prob < 0 ||
        attention_probs_dropout_prob >= 1)
      fail("dropout probabilities must lie in [0, 1)");
  }

  /// Builds a config from a parsed config.json object. `model_type` picks the family
  /// ("bert", "roberta", "xlm-roberta" → roberta, "albert", "mpnet"); unknown types are rejected, as
  /// are `position_embedding_type` other than "absolute".
  static encoder_config from_hf_json(const nlohmann::json& j, const std::string& where = "config.json") {
    auto fail = [&](const std::string& m) -> void { throw hf_config_error(where + ": " + m); };
    if (!j.is_object()) fail("not a JSON object");
    encoder_config c;
    // Type-check before j.value(): it throws nlohmann::type_error (no file name) on a mismatch.
    if (j.contains("model_type") && !j["model_type"].is_string()) fail("field 'model_type' is not a string");
    if (j.contains("is_decoder") && !j["is_decoder"].is_boolean()) fail("field 'is_decoder' is not true or false");
    const std::string type = j.value("model_type", std::string{});
    if (type == "bert") {
      c.family = encoder_family::bert;
    } else if (type == "roberta" || type == "xlm-roberta") {
      c.family = encoder_family::roberta;
      c.vocab_size = 50265;
      c.pad_token_id = 1;
      c.max_position_embeddings = 514;
      c.type_vocab_size = 1;
      c.layer_norm_eps = 1e-5;
    } else if (type == "albert") {
      c.family = encoder_family::albert;
      // AlbertConfig defaults (xxlarge): differ from BERT's almost everywhere
      c.vocab_size = 30000;
      c.embedding_size = 128;
      c.hidden_size = 4096;
      c.num_attention_heads = 64;
      c.intermediate_size = 16384;
      c.hidden_act = "gelu_new";
      c.hidden_dropout_prob = 0.0;
      c.attention_probs_dropout_prob = 0.0;
      c.pad_token_id = 0;
    } else if (type == "mpnet") {
      c.family = encoder_family::mpnet;
      // MPNetConfig defaults: BERT-base sizes, RoBERTa-style padding index
      c.vocab_size = 30527;
      c.pad_token_id = 1;
      c.type_vocab_size = 1;
    } else {
      fail("unsupported model_type '" + type + "' (supported: bert, roberta, xlm-roberta, albert, mpnet)");
    }
    auto get_int = [&](const char* key, std::int64_t& field) {
      if (!j.contains(key) || j[key].is_null()) return;
      if (!j[key].is_number_integer()) fail(std::string("field '") + key + "' is not an integer");
      field = j[key].get<std::int64_t>();
    };
    auto get_double = [&](const char* key, double& field) {
      if (!j.contains(key) || j[key].is_null()) return;
      if (!j[key].is_number()) fail(std::string("field '") + key + "' is not a number");
      field = j[key].get<double>();
    };
    get_int("vocab_size", c.vocab_size);
    get_int("hidden_size", c.hidden_size);
    if (c.family != encoder_family::albert) c.embedding_size = c.hidden_size;
    get_int("embedding_size", c.embedding_size);
    get_int("num_hidden_layers", c.num_hidden_layers);
    get_int("num_attention_heads", c.num_attention_heads);
    get_int("intermediate_size", c.intermediate_size);
    get_int("max_position_embeddings", c.max_position_embeddings);
    get_int("type_vocab_size", c.type_vocab_size);
    get_int("pad_token_id", c.pad_token_id);
    get_int("num_hidden_groups", c.num_hidden_groups);
    get_int("inner_group_num", c.inner_group_num);
    get_int("relative_attention_num_buckets", c.relative_attention_num_buckets);
    get_double("layer_norm_eps", c.layer_norm_eps);
    get_double("hidden_dropout_prob", c.hidden_dropout_prob);
    get_double("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
    if (j.contains("hidden_act")) {
      if (!j["hidden_act"].is_string()) fail("field 'hidden_act' is not a string");
      c.hidden_act = j["hidden_act"].get<std::string>();
    }
    if (j.contains("position_embedding_type") && j["position_embedding_type"].is_string() &&
        j["position_embedding_type"].get<std::string>() != "absolute")
      fail("position_embedding_type '" + j["position_embedding_type"].get<std::string>() +
           "' is not supported (only 'absolute')");
    if (j.value("is_decoder", false)) fail("is_decoder = true: only bidirectional encoders are supported");
    c.validate(where);
    return c;
  }
};

/// Reads and validates `path` (a config.json file, or a model directory containing one).
/// @code
/// auto cfg = ptp::torch::load_hf_config("all-MiniLM-L6-v2");  // a checkpoint folder, or its config.json
/// @endcode
inline encoder_config load_hf_config(std::filesystem::path path) {
  if (std::filesystem::is_directory(path)) path /= "config.json";
  std::ifstream in(path);
  if (!in) throw hf_config_error(path.string() + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& ex) {
    throw hf_config_error(path.string() + ": not valid JSON: " + ex.what());
  }
  return encoder_config::from_hf_json(j, path.string());
}

}  // namespace ptp::torch
