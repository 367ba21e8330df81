/// @file unicode.hpp
/// UTF-8 decoding/encoding with validation and the Unicode character properties the
/// tokenizers need (general categories, White_Space, BERT's control/punctuation/CJK
/// classes, lower-casing and accent stripping).
///
/// Why hand-written: the tokenizers must reproduce Hugging Face `tokenizers` bit for bit
/// and stay header-only, so neither ICU nor std::regex (locale-bound, no \p{L}) will do.
/// The tables come from Python's `unicodedata` through tools/gen_unicode_tables.py
/// (generated once, committed as unicode_tables.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ptp/text/tokenizers/unicode_tables.hpp"

namespace ptp::text {

/// Thrown for text that is not valid UTF-8; `offset()` is the byte offset of the first bad
/// byte (also named in `what()`). Derives from std::invalid_argument.
class invalid_utf8 : public std::invalid_argument {
 public:
  invalid_utf8(std::size_t offset, const std::string& why)
      : std::invalid_argument("invalid UTF-8 at byte offset " + std::to_string(offset) + ": " + why),
        offset_(offset) {}
  /// Byte offset of the first byte that could not be decoded.
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

/// Unicode general category, in the order used by unicode_tables::category_runs.
enum class general_category : std::uint8_t {
  Cn, Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe, Pi, Pf, Po,
  Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co
};

namespace utf8 {

/// Decodes the code point starting at `text[pos]` and advances `pos`; throws invalid_utf8
/// for truncated sequences, bad continuation bytes, overlong forms, surrogates and values
/// above U+10FFFF (the same set of rejections as Python's and Rust's strict decoders).
inline char32_t decode(std::string_view text, std::size_t& pos) {
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const std::size_t start = pos;
  const unsigned char b0 = at(pos);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  std::size_t len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    throw invalid_utf8(start, "unexpected byte 0x" + [&] {
      constexpr char hex[] = "0123456789abcdef";
      return std::string{hex[b0 >> 4], hex[b0 & 15]};
    }());
  }
  if (start + len > text.size()) throw invalid_utf8(start, "truncated multi-byte sequence");
  for (std::size_t i = 1; i < len; ++i) {
    const unsigned char b = at(start + i);
    if ((b & 0xC0) != 0x80) throw invalid_utf8(start + i, "expected a continuation byte");
    cp = (cp << 6) | (b & 0x3F);
  }
  constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[len]) throw invalid_utf8(start, "overlong encoding");
  if (cp >= 0xD800 && cp <= 0xDFFF) throw invalid_utf8(start, "encoded surrogate");
  if (cp > 0x10FFFF) throw invalid_utf8(start, "code point above U+10FFFF");
  pos = start + len;
  return cp;
}

/// Decodes without validation; only for text already checked by validate().
inline char32_t decode_unchecked(std::string_view text, std::size_t& pos) noexcept {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  const std::size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  pos += len;
  return cp;
}

/// Throws invalid_utf8 (naming the byte offset) unless `text` is valid UTF-8.
inline void validate(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    // ASCII fast path: most tokenizer input is English.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    decode(text, pos);
  }
}

/// Number of bytes of the UTF-8 form of `cp`.
constexpr std::size_t encoded_size(char32_t cp) noexcept {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/// Appends the UTF-8 form of `cp` to `out`.
inline void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// UTF-8 encoding of one code point.
inline std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

/// Number of code points in valid UTF-8 `text` (counts lead bytes).
inline std::size_t length(std::string_view text) noexcept {
  std::size_t n = 0;
  for (const char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace utf8

/// General category of `cp` (binary search in the generated run table, ASCII cached).
inline general_category category(char32_t cp) noexcept {
  const auto& runs = unicode_tables::category_runs;
  const std::uint32_t key = (static_cast<std::uint32_t>(cp) << 8) | 0xFFu;
  const auto it = std::upper_bound(std::begin(runs), std::end(runs), key);
  return static_cast<general_category>(*(it - 1) & 0xFFu);
}

/// Unicode White_Space property (what Rust's char::is_whitespace and Oniguruma's \s use).
constexpr bool is_white_space(char32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

/// \p{L}: Lu, Ll, Lt, Lm, Lo.
inline bool is_letter(char32_t c) noexcept {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  const auto g = category(c);
  return g >= general_category::Lu && g <= general_category::Lo;
}

/// \p{N}: Nd, Nl, No.
inline bool is_number(char32_t c) noexcept {
  if (c < 0x80) return c >= '0' && c <= '9';
  const auto g = category(c);
  return g >= general_category::Nd && g <= general_category::No;
}

/// Mn (non-spacing mark): what accent stripping removes after NFD.
inline bool is_nonspacing_mark(char32_t c) noexcept {
  return c >= 0x300 && category(c) == general_category::Mn;
}

/// Any P* category (Pc, Pd, Ps, Pe, Pi, Pf, Po).
inline bool is_unicode_punctuation(char32_t c) noexcept {
  const auto g = category(c);
  return g >= general_category::Pc && g <= general_category::Po;
}

namespace detail {
inline bool in_ranges(std::span<const unicode_tables::cp_range> ranges, char32_t c) noexcept {
  const auto it = std::upper_bound(ranges.begin(), ranges.end(), static_cast<std::uint32_t>(c),
                                   [](std::uint32_t v, const auto& r) { return v < r.first; });
  return it != ranges.begin() && c <= (it - 1)->last;
}
}  // namespace detail

/// HF compatibility entry for `c` (see unicode_tables::bert_overrides), or nullptr.
inline const unicode_tables::bert_override* bert_override_of(char32_t c) noexcept {
  const auto& t = unicode_tables::bert_overrides;
  const auto it = std::lower_bound(std::begin(t), std::end(t), static_cast<std::uint32_t>(c),
                                   [](const auto& e, std::uint32_t v) { return e.cp < v; });
  return it != std::end(t) && it->cp == c ? &*it : nullptr;
}

/// BERT's punctuation: every ASCII non-alphanumeric printable character (so $, +, <, =, >,
/// ^, `, |, ~ count although Unicode calls them symbols) or a Unicode P* character, as HF's
/// (older) tables classify it.
inline bool is_bert_punctuation(char32_t c) noexcept {
  if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  if (is_unicode_punctuation(c)) {
    if (detail::in_ranges(unicode_tables::bert_not_punctuation, c)) return false;
    const auto* o = bert_override_of(c);
    return !(o && o->kept);
  }
  return detail::in_ranges(unicode_tables::bert_extra_punctuation, c);
}

/// BERT's whitespace: White_Space (tab, newline and carriage return included).
constexpr bool is_bert_whitespace(char32_t c) noexcept { return is_white_space(c); }

/// BERT's control characters: categories Cc, Cf, Cs, Co except tab, newline, carriage
/// return (which BERT treats as whitespace). Cleaning removes them. Unassigned code points
/// (Cn) are kept, as HF does.
inline bool is_bert_control(char32_t c) noexcept {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  return category(c) >= general_category::Cc;
}

/// The CJK ideograph blocks BERT surrounds with spaces (tokenize_chinese_chars), exactly as
/// Hugging Face `tokenizers` lists them (its Extension-C/D block starts at U+2B920).
constexpr bool is_cjk_ideograph(char32_t c) noexcept {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Context-free full lower-casing of one code point (Rust's char::to_lowercase): calls
/// `sink(cp)` once per resulting code point (twice only for U+0130).
template <class Sink>
inline void to_lower(char32_t c, Sink&& sink) {
  if (c < 0x80) {
    sink(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  const auto& from = unicode_tables::lower_from;
  const auto it = std::lower_bound(std::begin(from), std::end(from), static_cast<std::uint32_t>(c));
  if (it != std::end(from) && *it == c) {
    sink(static_cast<char32_t>(unicode_tables::lower_to[it - std::begin(from)]));
    return;
  }
  for (const auto& m : unicode_tables::lower_multi) {
    if (m.from == c) {
      for (std::uint32_t i = 0; i < m.size; ++i) sink(static_cast<char32_t>(m.to[i]));
      return;
    }
  }
  sink(c);
}

/// Accent stripping of one code point: its canonical decomposition (NFD) with the Mn marks
/// removed; calls `sink` for each remaining code point (none for a lone mark).
/// Hangul syllables decompose algorithmically into their conjoining jamo, as NFD does.
template <class Sink>
inline void strip_accents(char32_t c, Sink&& sink) {
  if (c < 0xC0) {
    sink(c);
    return;
  }
  if (c >= 0xAC00 && c <= 0xD7A3) {
    const char32_t s = c - 0xAC00;
    sink(0x1100 + s / 588);
    sink(0x1161 + (s % 588) / 28);
    if (s % 28 != 0) sink(0x11A7 + s % 28);
    return;
  }
  const auto& index = unicode_tables::strip_index;
  const auto it = std::lower_bound(std::begin(index), std::end(index), static_cast<std::uint32_t>(c),
                                   [](const auto& e, std::uint32_t v) { return e.cp < v; });
  if (it != std::end(index) && it->cp == c) {
    for (std::uint16_t i = 0; i < it->size; ++i) sink(static_cast<char32_t>(unicode_tables::strip_data[it->offset + i]));
    return;
  }
  if (!is_nonspacing_mark(c)) sink(c);
}

}  // namespace ptp::text
