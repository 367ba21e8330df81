/// @file tokenizer_json.hpp
/// Reading Hugging Face `tokenizer.json` files: the JSON document, the added tokens and the
/// post-processor. Errors name the file and the JSON field (tokenizer_file_error).
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptp/text/tokenizers/encoding.hpp"
#include "ptp/text/tokenizers/vocabulary.hpp"

namespace ptp::text::json_io {

using json = nlohmann::json;

/// Whole file as a string; throws tokenizer_file_error naming the file when unreadable.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tokenizer_file_error("cannot open tokenizer file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Parses a JSON file; a syntax error names the file and the byte position.
inline json parse_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw tokenizer_file_error("malformed JSON in '" + path + "' at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const json::exception& e) {  // e.g. out_of_range 406: a number such as 1e400 overflows a double
    throw tokenizer_file_error("malformed JSON in '" + path + "': " + e.what());
  }
}

/// A JSON node plus the file and dotted path it came from, for error messages.
struct node {
  const json& value;
  std::string file;
  std::string path;

  [[noreturn]] void fail(const std::string& why) const {
    throw tokenizer_file_error("in '" + file + "', field '" + path + "': " + why);
  }
  /// Child `key`; fails if absent.
  [[nodiscard]] node at(const std::string& key) const {
    if (!value.is_object()) fail("expected an object");
    const auto it = value.find(key);
    if (it == value.end()) node{value, file, path.empty() ? key : path + "." + key}.fail("missing");
    return {*it, file, path.empty() ? key : path + "." + key};
  }
  /// True if `key` is present and not null.
  [[nodiscard]] bool has(const std::string& key) const {
    return value.is_object() && value.contains(key) && !value.at(key).is_null();
  }
  [[nodiscard]] node index(std::size_t i) const {
    if (!value.is_array() || i >= value.size()) fail("expected an array with element " + std::to_string(i));
    return {value.at(i), file, path + "[" + std::to_string(i) + "]"};
  }
  [[nodiscard]] std::string str() const {
    if (!value.is_string()) fail("expected a string");
    return value.get<std::string>();
  }
  [[nodiscard]] std::uint64_t uint() const {
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
      fail("expected a non-negative integer");
    return value.get<std::uint64_t>();
  }
  /// A token id: a non-negative integer no larger than vocabulary::max_id.
  [[nodiscard]] std::uint32_t id() const {
    const std::uint64_t v = uint();
    if (v > vocabulary::max_id)
      fail("id " + std::to_string(v) + " exceeds the limit " + std::to_string(vocabulary::max_id));
    return static_cast<std::uint32_t>(v);
  }
  [[nodiscard]] double number() const {
    if (!value.is_number()) fail("expected a number");
    return value.get<double>();
  }
  [[nodiscard]] bool boolean() const {
    if (!value.is_boolean()) fail("expected true or false");
    return value.get<bool>();
  }
  /// Boolean child with a default for absent/null.
  [[nodiscard]] bool flag(const std::string& key, bool fallback) const { return has(key) ? at(key).boolean() : fallback; }
};

/// Root node of a parsed file.
inline node root(const json& j, const std::string& file) { return {j, file, ""}; }

/// An object token → id: a WordPiece/BPE model's `vocab`, or a whole vocab.json.
inline vocabulary vocab_object(const node& vocab) {
  if (!vocab.value.is_object() || vocab.value.empty()) vocab.fail("expected a non-empty object token → id");
  vocabulary v;
  for (const auto& [token, id] : vocab.value.items()) {
    if (!id.is_number_unsigned()) vocab.at(token).fail("expected a non-negative integer id");
    v.insert(token, vocab.at(token).id());  // id(): at most vocabulary::max_id
  }
  return v;
}

/// The `added_tokens` array (normalized=true tokens are rejected: our pipelines match
/// added tokens on raw text, which is what normalized=false means).
inline added_vocabulary added_tokens(const node& r) {
  std::vector<added_token> out;
  if (!r.has("added_tokens")) return added_vocabulary{};
  const node arr = r.at("added_tokens");
  if (!arr.value.is_array()) arr.fail("expected an array");
  for (std::size_t i = 0; i < arr.value.size(); ++i) {
    const node t = arr.index(i);
    if (t.flag("normalized", false) && !t.flag("special", false))
      t.at("normalized").fail("normalized added tokens are not supported");
    if (t.flag("single_word", false)) t.at("single_word").fail("single_word added tokens are not supported");
    if (t.at("content").str().empty()) t.at("content").fail("empty added token");
    out.push_back({t.at("content").str(), t.at("id").id(), t.flag("special", false),
                   t.flag("lstrip", false), t.flag("rstrip", false)});
  }
  return added_vocabulary{std::move(out)};
}

namespace detail {
inline void parse_processor(const node& p, post_processor& out) {
  const std::string type = p.at("type").str();
  auto special_pair = [&](const node& n) {  // ["[CLS]", 101]
    return n.index(1).id();
  };
  if (type == "TemplateProcessing") {
    const node specials = p.at("special_tokens");
    auto parse = [&](const node& seq, std::vector<template_item>& items, bool pair) {
      if (!seq.value.is_array()) seq.fail("expected an array");
      bool seen[2] = {false, false};  // truncation budgets assume each sequence at most once
      for (std::size_t i = 0; i < seq.value.size(); ++i) {
        const node it = seq.index(i);
        if (it.has("Sequence")) {
          const node s = it.at("Sequence");
          const std::string which = s.at("id").str();
          if (which != "A" && which != "B") s.at("id").fail("expected A or B");
          if (which == "B" && !pair) s.at("id").fail("the single template has no sequence B");
          if (std::exchange(seen[which == "B"], true)) s.at("id").fail("sequence " + which + " appears twice");
          items.push_back({true, static_cast<std::uint8_t>(which == "B"), 0,
                           static_cast<std::uint32_t>(s.at("type_id").uint())});
        } else {
          const node s = it.at("SpecialToken");
          const node tok = specials.at(s.at("id").str());
          const node ids = tok.at("ids");
          for (std::size_t k = 0; k < ids.value.size(); ++k)
            items.push_back({false, 0, ids.index(k).id(),
                             static_cast<std::uint32_t>(s.at("type_id").uint())});
        }
      }
    };
    out.single.clear();
    out.pair.clear();
    parse(p.at("single"), out.single, false);
    parse(p.at("pair"), out.pair, true);
  } else if (type == "BertProcessing") {
    const auto pp = post_processor::bert(special_pair(p.at("cls")), special_pair(p.at("sep")));
    out.single = pp.single;
    out.pair = pp.pair;
  } else if (type == "RobertaProcessing") {
    const auto pp = post_processor::roberta(special_pair(p.at("cls")), special_pair(p.at("sep")));
    out.single = pp.single;
    out.pair = pp.pair;
    out.trim_offsets = p.flag("trim_offsets", true);
    out.add_prefix_space = p.flag("add_prefix_space", true);
  } else if (type == "ByteLevel") {
    out.trim_offsets = p.flag("trim_offsets", true);
    out.add_prefix_space = p.flag("add_prefix_space", true);
  } else if (type == "Sequence") {
    const node list = p.at("processors");
    for (std::size_t i = 0; i < list.value.size(); ++i) parse_processor(list.index(i), out);
  } else {
    p.at("type").fail("unsupported post-processor '" + type + "'");
  }
}
}  // namespace detail

/// The `post_processor` field (null: no special tokens, sequences concatenated with type
/// ids 0 and 1).
inline post_processor post_processing(const node& r) {
  post_processor out;
  out.single = {{true, 0, 0, 0}};
  out.pair = {{true, 0, 0, 0}, {true, 1, 0, 1}};
  if (r.has("post_processor")) detail::parse_processor(r.at("post_processor"), out);
  return out;
}

}  // namespace ptp::text::json_io
