// ptp/data/jsonl.hpp — a streaming JSON-lines reader with errors that name FILE:LINE and FIELD.
//
// The SuperGLUE / FewGLUE files are JSON lines: one object per line (jsonlines.org). This
// reader parses them line by line with nlohmann-json (Debian `nlohmann-json3-dev`) and turns
// every problem — an unreadable or empty file, invalid UTF-8, malformed JSON, nesting deeper
// than a limit, a missing field, a field of the wrong type — into one exception type,
// ptp::data::data_error, whose message reads `FILE:LINE: field 'a.b[2].c': what went wrong`.
//
// Only the data headers (ptp/data/*, ptp/sweep.hpp) use nlohmann-json; the rest of the
// header-only core does not.
//
// @code
//   ptp::data::for_each_jsonl("train.jsonl", [](const ptp::data::json_record& r) {
//     std::string premise = r.string("premise");               // data_error when absent
//     std::optional<std::string> label = r.optional_string("label");
//     for (const auto& q : r.object("passage").array("questions")) { ... }
//   });
// @endcode
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptp::data {

/// The one error every data reader throws: names the file, the 1-based line (0 when the
/// problem is the file as a whole) and the field path inside the line's JSON value (empty
/// when the problem is the line itself). what() = "FILE:LINE: field 'PATH': MESSAGE".
class data_error : public std::runtime_error {
 public:
  data_error(std::string file, std::size_t line, std::string field, const std::string& message)
      : std::runtime_error(compose(file, line, field, message)),
        file_(std::move(file)),
        line_(line),
        field_(std::move(field)) {}

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::size_t line() const noexcept { return line_; }
  [[nodiscard]] const std::string& field() const noexcept { return field_; }

 private:
  static std::string compose(const std::string& file, std::size_t line, const std::string& field,
                             const std::string& message) {
    // append() piece by piece (operator+ chains trip GCC 12's -Wrestrict false positive)
    std::string s;
    s.reserve(file.size() + field.size() + message.size() + 32);
    s.append(file);
    if (line != 0) s.append(":").append(std::to_string(line));
    s.append(": ");
    if (!field.empty()) s.append("field '").append(field).append("': ");
    s.append(message);
    return s;
  }
  std::string file_;
  std::size_t line_;
  std::string field_;
};

/// The byte offset of the first ill-formed UTF-8 sequence in `s`, or nullopt when `s` is
/// well-formed UTF-8 (Unicode 15, §3.9 table 3-7: no overlong forms, no surrogates
/// U+D800..U+DFFF, nothing above U+10FFFF, no truncated sequences).
[[nodiscard]] constexpr std::optional<std::size_t> first_invalid_utf8(std::string_view s) noexcept {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
      len = 3;
    } else if (b0 == 0xED) {
      len = 3, hi = 0x9F;  // excludes the surrogates
    } else if (b0 == 0xF0) {
      len = 4, lo = 0x90;
    } else if (b0 >= 0xF1 && b0 <= 0xF3) {
      len = 4;
    } else if (b0 == 0xF4) {
      len = 4, hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;  // 0x80..0xC1 (continuation or overlong lead) or 0xF5..0xFF
    }
    if (i + len > n) return i;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      const auto bk = static_cast<unsigned char>(s[i + k]);
      if (bk < 0x80 || bk > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

/// The byte offset in the UTF-8 string `s` of code point number `index` (s.size() when
/// index equals the number of code points), or nullopt when `s` has fewer code points.
/// SuperGLUE's ReCoRD spans count code points (Python string indices), not bytes.
[[nodiscard]] constexpr std::optional<std::size_t> utf8_byte_offset(std::string_view s,
                                                                    std::size_t index) noexcept {
  std::size_t cp = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {  // a lead byte starts a code point
      if (cp == index) return i;
      ++cp;
    }
  }
  if (cp == index) return s.size();
  return std::nullopt;
}

/// The deepest nesting of arrays/objects in a JSON text (brackets inside strings do not
/// count). Checked before parsing so that no input can drive a recursive routine deep.
[[nodiscard]] constexpr std::size_t json_nesting_depth(std::string_view text) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// Options of the JSON-lines reader.
struct jsonl_options {
  std::size_t max_depth = 64;        ///< deeper nesting is reported as an error (SuperGLUE needs 5)
  bool allow_empty_file = false;     ///< by default a file without records is an error
  bool require_objects = true;       ///< every line must hold a JSON object
};

/// One JSON value read from a line, with the context needed for precise errors: the file,
/// the line and the path of this value inside the line ("passage.questions[3]").
/// Accessors check presence and type and throw data_error naming the full field path.
/// A view: it refers to the parsed value and the file name, so it is valid only while they
/// live (inside the for_each_jsonl callback); copy out what you keep.
class json_record {
 public:
  json_record(const nlohmann::json& value, const std::string& file, std::size_t line, std::string path = {})
      : value_(&value), file_(&file), line_(line), path_(std::move(path)) {}

  [[nodiscard]] const nlohmann::json& json() const noexcept { return *value_; }
  [[nodiscard]] const std::string& file() const noexcept { return *file_; }
  [[nodiscard]] std::size_t line() const noexcept { return line_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  /// A data_error at this record's file and line, for field `key` below this value.
  [[nodiscard]] data_error error(std::string_view key, const std::string& message) const {
    return data_error(*file_, line_, child_path(key), message);
  }
  /// A data_error for this value itself.
  [[nodiscard]] data_error error(const std::string& message) const {
    return data_error(*file_, line_, path_, message);
  }

  [[nodiscard]] bool has(std::string_view key) const {
    return value_->is_object() && value_->find(key) != value_->end();
  }

  /// The member `key`, which must exist and be a string.
  [[nodiscard]] std::string string(std::string_view key) const { return as_string(member(key), key); }
  /// The member `key` as a string, nullopt when absent or null.
  [[nodiscard]] std::optional<std::string> optional_string(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return as_string(*v, key);
  }
  /// The member `key`, which must be an integer (JSON number without fraction or exponent)
  /// that fits in std::int64_t.
  [[nodiscard]] std::int64_t integer(std::string_view key) const { return as_integer(member(key), key); }
  [[nodiscard]] std::optional<std::int64_t> optional_integer(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return as_integer(*v, key);
  }
  /// The member `key`, which must be true or false.
  [[nodiscard]] bool boolean(std::string_view key) const { return as_boolean(member(key), key); }
  [[nodiscard]] std::optional<bool> optional_boolean(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return as_boolean(*v, key);
  }
  /// The member `key`, which must be a JSON number (integer or floating point).
  [[nodiscard]] double number(std::string_view key) const {
    const auto& v = member(key);
    if (!v.is_number()) throw error(key, "expected a number, got " + std::string(v.type_name()));
    return v.get<double>();
  }
  /// The member `key`, which must be an object.
  [[nodiscard]] json_record object(std::string_view key) const {
    const auto& v = member(key);
    if (!v.is_object()) throw error(key, "expected an object, got " + std::string(v.type_name()));
    return json_record(v, *file_, line_, child_path(key));
  }
  /// The elements of the member `key`, which must be an array.
  [[nodiscard]] std::vector<json_record> array(std::string_view key) const {
    const auto& v = member(key);
    if (!v.is_array()) throw error(key, "expected an array, got " + std::string(v.type_name()));
    return elements(v, child_path(key));
  }
  /// The elements of the member `key` when present (an empty list when absent or null).
  [[nodiscard]] std::vector<json_record> optional_array(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || v->is_null()) return {};
    if (!v->is_array()) throw error(key, "expected an array, got " + std::string(v->type_name()));
    return elements(*v, child_path(key));
  }

 private:
  [[nodiscard]] std::string child_path(std::string_view key) const {
    if (path_.empty()) return std::string(key);
    return path_ + "." + std::string(key);
  }
  [[nodiscard]] const nlohmann::json* find(std::string_view key) const {
    if (!value_->is_object()) throw error("expected an object, got " + std::string(value_->type_name()));
    const auto it = value_->find(key);
    return it == value_->end() ? nullptr : &*it;
  }
  [[nodiscard]] const nlohmann::json& member(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) throw error(key, "missing");
    return *v;
  }
  [[nodiscard]] std::string as_string(const nlohmann::json& v, std::string_view key) const {
    if (!v.is_string()) throw error(key, "expected a string, got " + std::string(v.type_name()));
    return v.get<std::string>();
  }
  [[nodiscard]] std::int64_t as_integer(const nlohmann::json& v, std::string_view key) const {
    if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<std::int64_t>();
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw error(key, "integer out of range");
      return static_cast<std::int64_t>(u);
    }
    throw error(key, "expected an integer, got " +
                         std::string(v.is_number_float() ? "a floating-point number" : v.type_name()));
  }
  [[nodiscard]] bool as_boolean(const nlohmann::json& v, std::string_view key) const {
    if (!v.is_boolean()) throw error(key, "expected true or false, got " + std::string(v.type_name()));
    return v.get<bool>();
  }
  [[nodiscard]] std::vector<json_record> elements(const nlohmann::json& arr, const std::string& base) const {
    std::vector<json_record> out;
    out.reserve(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i)
      out.emplace_back(arr[i], *file_, line_, base + "[" + std::to_string(i) + "]");
    return out;
  }

  const nlohmann::json* value_;
  const std::string* file_;
  std::size_t line_;
  std::string path_;
};

/// Parses one line of a JSON-lines file, reporting problems as data_error(file, line).
/// Checks UTF-8 first (the byte offset is part of the message), then nesting depth, then
/// JSON syntax (nlohmann's message, with its byte position).
[[nodiscard]] inline nlohmann::json parse_json_line(std::string_view text, const std::string& file,
                                                    std::size_t line, const jsonl_options& options = {}) {
  if (const auto bad = first_invalid_utf8(text))
    throw data_error(file, line, "", "invalid UTF-8 at byte offset " + std::to_string(*bad));
  if (json_nesting_depth(text) > options.max_depth)
    throw data_error(file, line, "", "JSON nested deeper than " + std::to_string(options.max_depth));
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw data_error(file, line, "", std::string("malformed JSON: ") + e.what());
  }
  if (options.require_objects && !value.is_object())
    throw data_error(file, line, "", "expected a JSON object, got " + std::string(value.type_name()));
  return value;
}

/// Reads `path` line by line and calls `fn(json_record)` once per non-blank line, in file
/// order; returns the number of records. A line is what lies between '\n's; a trailing '\r'
/// is dropped (CRLF files), and blank (whitespace-only) lines are skipped but still counted
/// for line numbers. Exceptions thrown by `fn` that are not data_error are rethrown as
/// data_error naming the file and line. A file that cannot be opened, or that holds no
/// record (unless options.allow_empty_file), is a data_error with line 0.
template <class Fn>
std::size_t for_each_jsonl(const std::filesystem::path& path, Fn&& fn, const jsonl_options& options = {}) {
  const std::string file = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw data_error(file, 0, "", "is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data_error(file, 0, "", "cannot open for reading");
  std::string text;
  std::size_t line = 0, records = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t\r\f\v") == std::string::npos) continue;
    const nlohmann::json value = parse_json_line(text, file, line, options);
    try {
      fn(json_record(value, file, line));
    } catch (const data_error&) {
      throw;
    } catch (const std::exception& e) {
      throw data_error(file, line, "", e.what());
    }
    ++records;
  }
  if (in.bad()) throw data_error(file, line, "", "read error");
  if (records == 0 && !options.allow_empty_file) throw data_error(file, 0, "", "empty file: no JSON lines");
  return records;
}

}  // namespace ptp::data
