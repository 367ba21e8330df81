/// @file bpe.hpp
/// Byte-level BPE (GPT-2 / RoBERTa): the GPT-2 pre-tokenisation pattern implemented by hand
/// over Unicode categories, the byte → printable-character map, rank-ordered merges and a
/// per-word cache. Matches Hugging Face `tokenizers` (ByteLevel pre-tokenizer + BPE +
/// RobertaProcessing), offsets and word ids included.
///
/// @code
/// auto tok = ptp::text::load_bpe("roberta/tokenizer.json");
/// auto e = tok.encode("Hello world", "Second text");   // <s> … </s></s> … </s>
/// auto g = ptp::text::load_bpe_files("vocab.json", "merges.txt");
/// @endcode
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <optional>
#include <queue>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ptp/text/tokenizers/encoding.hpp"
#include "ptp/text/tokenizers/tokenizer_json.hpp"
#include "ptp/text/tokenizers/unicode.hpp"
#include "ptp/text/tokenizers/vocabulary.hpp"

namespace ptp::text {

/// GPT-2's reversible byte → Unicode map: printable Latin-1 bytes map to themselves, the
/// others (controls, space, ...) to U+0100 onwards, so every byte string is a printable
/// string (space → 'Ġ' U+0120, newline → 'Ċ' U+010A).
inline const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

namespace detail {

/// Splits code points [0, n) with the GPT-2 pattern
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// (leftmost alternative first, greedy), calling `piece(begin, end)` for each match.
/// Every code point belongs to exactly one match. Linear time.
template <class Piece>
void gpt2_split(const std::vector<char32_t>& cps, Piece&& piece) {
  enum cls : std::uint8_t { letter, number, space, other };
  const std::size_t n = cps.size();
  const auto class_of = [&](std::size_t i) -> cls {
    const char32_t c = cps[i];
    if (is_white_space(c)) return space;
    if (is_letter(c)) return letter;
    if (is_number(c)) return number;
    return other;
  };
  std::size_t pos = 0;
  while (pos < n) {
    const char32_t c = cps[pos];
    // 's 't 're 've 'm 'll 'd (case-sensitive, ASCII apostrophe only)
    if (c == U'\'' && pos + 1 < n) {
      const char32_t c1 = cps[pos + 1];
      if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') {
        piece(pos, pos + 2);
        pos += 2;
        continue;
      }
      if (pos + 2 < n) {
        const char32_t c2 = cps[pos + 2];
        if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l')) {
          piece(pos, pos + 3);
          pos += 3;
          continue;
        }
      }
    }
    const cls k = class_of(pos);
    std::size_t body = pos;  // where the letter/number/other run starts
    cls run = k;
    if (c == U' ' && pos + 1 < n) {
      const cls k1 = class_of(pos + 1);
      if (k1 != space) {
        body = pos + 1;
        run = k1;
      }
    }
    if (run != space) {
      std::size_t e = body + 1;
      while (e < n && class_of(e) == run) ++e;
      piece(pos, e);
      pos = e;
      continue;
    }
    // \s+(?!\S) then \s+
    std::size_t e = pos + 1;
    while (e < n && class_of(e) == space) ++e;
    if (e < n && e - pos >= 2) --e;  // leave the last space to prefix the next word
    piece(pos, e);
    pos = e;
  }
}

}  // namespace detail

/// Byte-level BPE settings.
struct bpe_options {
  bool add_prefix_space = true;        ///< prepend ' ' to text not starting with one (RoBERTa)
  bool ignore_merges = false;          ///< a word found whole in the vocabulary skips merging
  std::optional<std::string> unk_token{};  ///< for symbols missing from the vocabulary (else dropped)
  bool fuse_unk = false;               ///< merge consecutive unknown symbols into one
  std::size_t cache_capacity = 10000;  ///< words cached (0: no cache)
};

/// Byte-level pre-tokeniser + BPE model (a `Model` for ptp::text::tokenizer).
class bpe_model {
 public:
  /// @param merges ordered pairs (rank = position); each pair and its concatenation must be
  ///        in `vocab` (else tokenizer_file_error naming `source` and the merge index).
  bpe_model(vocabulary vocab, const std::vector<std::pair<std::string, std::string>>& merges, bpe_options options,
            const std::string& source = "<memory>")
      : vocab_(std::move(vocab)), options_(std::move(options)) {
    for (std::size_t r = 0; r < merges.size(); ++r) {
      const auto& [a, b] = merges[r];
      const auto ia = vocab_.find(a), ib = vocab_.find(b), ic = vocab_.find(a + b);
      if (!ia || !ib || !ic)
        throw tokenizer_file_error("in '" + source + "', merge " + std::to_string(r + 1) + " ('" + a + " " + b +
                                   "'): token not in the vocabulary");
      merges_.emplace(key(*ia, *ib), std::pair{static_cast<std::uint32_t>(r), *ic});
    }
    if (options_.unk_token) {
      const auto u = vocab_.find(*options_.unk_token);
      if (!u) throw tokenizer_file_error("in '" + source + "': unk token '" + *options_.unk_token + "' not in the vocabulary");
      unk_id_ = *u;
    }
    const auto& map = byte_to_unicode();
    for (unsigned b = 0; b < 256; ++b) {
      byte_chars_[b] = utf8::encode(map[b]);
      byte_ids_[b] = vocab_.find_or(byte_chars_[b], -1);
    }
    spaces_.resize(vocab_.size());
    for (std::uint32_t id = 0; id < vocab_.size(); ++id)
      if (auto t = vocab_.token(id)) spaces_[id] = detail::byte_level_space_counts(*t);
  }
  bpe_model(const bpe_model& o)
      : vocab_(o.vocab_), merges_(o.merges_), options_(o.options_), unk_id_(o.unk_id_), byte_chars_(o.byte_chars_),
        byte_ids_(o.byte_ids_), spaces_(o.spaces_) {}
  bpe_model(bpe_model&& o) noexcept
      : vocab_(std::move(o.vocab_)), merges_(std::move(o.merges_)), options_(std::move(o.options_)), unk_id_(o.unk_id_),
        byte_chars_(std::move(o.byte_chars_)), byte_ids_(o.byte_ids_), spaces_(std::move(o.spaces_)) {}

  [[nodiscard]] std::optional<std::uint32_t> token_to_id(std::string_view t) const { return vocab_.find(t); }
  [[nodiscard]] std::optional<std::string> id_to_token(std::uint32_t id) const { return vocab_.token(id); }
  [[nodiscard]] std::size_t vocab_size() const noexcept { return vocab_.size(); }
  [[nodiscard]] const bpe_options& options() const noexcept { return options_; }
  /// Leading/trailing 'Ġ' of a token (for RoBERTa's offset trimming).
  [[nodiscard]] std::pair<std::size_t, std::size_t> space_counts(std::uint32_t id) const { return spaces_[id]; }

  /// Pre-tokenises text[begin, end) with the GPT-2 pattern and BPE-encodes every piece.
  void tokenize(std::string_view text, std::size_t begin, std::size_t end, std::int32_t& word,
                std::vector<token_piece>& out) const {
    thread_local scratch s;
    s.cps.clear();
    s.ob.clear();
    s.oe.clear();
    std::size_t pos = begin;
    while (pos < end) {
      const auto b = static_cast<std::uint32_t>(pos);
      const char32_t c = utf8::decode_unchecked(text, pos);
      s.cps.push_back(c);
      s.ob.push_back(b);
      s.oe.push_back(static_cast<std::uint32_t>(pos));
    }
    if (options_.add_prefix_space && !s.cps.empty() && s.cps[0] != U' ') {
      // The added space is aligned with the first character, as HF's prepend does.
      s.cps.insert(s.cps.begin(), U' ');
      s.ob.insert(s.ob.begin(), s.ob[0]);
      s.oe.insert(s.oe.begin(), s.oe[0]);
    }
    detail::gpt2_split(s.cps, [&](std::size_t first, std::size_t last) { encode_word(s, first, last, word++, out); });
  }

 private:
  struct sub_token {
    std::uint32_t id, begin, end;  // byte range in the word
  };
  struct scratch {
    std::vector<char32_t> cps;
    std::vector<std::uint32_t> ob, oe;
    std::string bytes;                    // UTF-8 of the word
    std::vector<std::uint32_t> byte_char;  // byte → char index in the word
    std::vector<sub_token> subs;
  };
  struct symbol {
    std::uint32_t id;
    std::int32_t prev, next;
    std::uint32_t begin, end;
  };
  struct merge_candidate {
    std::uint32_t rank, pos, new_id;
    bool operator>(const merge_candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  static std::uint64_t key(std::uint32_t a, std::uint32_t b) { return (static_cast<std::uint64_t>(a) << 32) | b; }

  void encode_word(scratch& s, std::size_t first, std::size_t last, std::int32_t word, std::vector<token_piece>& out) const {
    s.bytes.clear();
    s.byte_char.clear();
    for (std::size_t i = first; i < last; ++i) {
      const std::size_t before = s.bytes.size();
      utf8::append(s.bytes, s.cps[i]);
      s.byte_char.insert(s.byte_char.end(), s.bytes.size() - before, static_cast<std::uint32_t>(i));
    }
    if (!lookup_cache(s.bytes, s.subs)) {
      bpe(s.bytes, s.subs);
      store_cache(s.bytes, s.subs);
    }
    for (const auto& t : s.subs)
      out.push_back({t.id, s.ob[s.byte_char[t.begin]], s.oe[s.byte_char[t.end - 1]], word});
  }

  // The cache never waits, as HF's (tokenizers/src/utils/cache.rs): readers share the lock,
  // and a thread that cannot take it at once computes the word itself. With an exclusive
  // lock, two threads sharing one tokenizer ran slower than one (BENCHMARKS.md, Tokenizers).
  bool lookup_cache(const std::string& w, std::vector<sub_token>& subs) const {
    if (options_.cache_capacity == 0) return false;
    std::shared_lock lock(cache_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    const auto it = cache_.find(w);
    if (it == cache_.end()) return false;
    subs = it->second;
    return true;
  }
  void store_cache(const std::string& w, const std::vector<sub_token>& subs) const {
    if (options_.cache_capacity == 0) return;
    std::unique_lock lock(cache_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    if (cache_.size() >= options_.cache_capacity) cache_.clear();
    cache_.emplace(w, subs);
  }

  // BPE of one word given as raw bytes: byte-level symbols, then merges by rank (ties:
  // leftmost), exactly HF's priority-queue order.
  void bpe(std::string_view w, std::vector<sub_token>& subs) const {
    subs.clear();
    std::string mapped;
    if (options_.ignore_merges) {
      for (const char ch : w) mapped += byte_chars_[static_cast<unsigned char>(ch)];
      if (const auto id = vocab_.find(mapped)) {
        subs.push_back({*id, 0, static_cast<std::uint32_t>(w.size())});
        return;
      }
    }
    std::vector<symbol> sym;
    sym.reserve(w.size());
    // One symbol per character of the word; bytes of a multi-byte character start as
    // separate symbols too (the byte-level alphabet), each spanning one byte.
    for (std::uint32_t i = 0; i < w.size(); ++i) {
      const std::int64_t id = byte_ids_[static_cast<unsigned char>(w[i])];
      if (id < 0) {
        if (!unk_id_) continue;  // HF drops symbols it cannot represent when there is no unk
        if (options_.fuse_unk && !sym.empty() && sym.back().id == *unk_id_ && sym.back().end == i) {
          sym.back().end = i + 1;
          continue;
        }
        sym.push_back({*unk_id_, 0, 0, i, i + 1});
        continue;
      }
      sym.push_back({static_cast<std::uint32_t>(id), 0, 0, i, i + 1});
    }
    const auto count = static_cast<std::int32_t>(sym.size());
    for (std::int32_t i = 0; i < count; ++i) {
      sym[i].prev = i - 1;
      sym[i].next = i + 1 < count ? i + 1 : -1;
    }
    std::priority_queue<merge_candidate, std::vector<merge_candidate>, std::greater<>> queue;
    auto consider = [&](std::int32_t i) {
      if (i < 0 || sym[i].next < 0) return;
      const auto it = merges_.find(key(sym[i].id, sym[sym[i].next].id));
      if (it != merges_.end()) queue.push({it->second.first, static_cast<std::uint32_t>(i), it->second.second});
    };
    for (std::int32_t i = 0; i + 1 < count; ++i) consider(i);
    while (!queue.empty()) {
      const merge_candidate top = queue.top();
      queue.pop();
      symbol& left = sym[top.pos];
      if (left.end == left.begin || left.next < 0) continue;  // removed or last
      const symbol& right = sym[left.next];
      const auto it = merges_.find(key(left.id, right.id));
      if (it == merges_.end() || it->second.second != top.new_id) continue;  // stale entry
      const std::int32_t removed = left.next;
      left.id = top.new_id;
      left.end = right.end;
      left.next = right.next;
      sym[removed].begin = sym[removed].end;  // mark removed
      if (left.next >= 0) sym[left.next].prev = static_cast<std::int32_t>(top.pos);
      consider(left.prev);
      consider(static_cast<std::int32_t>(top.pos));
    }
    for (std::int32_t i = count > 0 ? 0 : -1; i >= 0; i = sym[i].next) subs.push_back({sym[i].id, sym[i].begin, sym[i].end});
  }

  vocabulary vocab_;
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>> merges_;  // pair → (rank, merged id)
  bpe_options options_;
  std::optional<std::uint32_t> unk_id_;
  std::array<std::string, 256> byte_chars_;
  std::array<std::int64_t, 256> byte_ids_{};
  std::vector<std::pair<std::size_t, std::size_t>> spaces_;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<sub_token>, detail::string_hash, std::equal_to<>> cache_;
};

/// A byte-level BPE tokenizer (GPT-2, RoBERTa, ...).
using bpe_tokenizer = tokenizer<bpe_model>;

/// Reads merges.txt: "a b" per line, an optional "#version" first line. Throws
/// tokenizer_file_error naming the file and line.
inline std::vector<std::pair<std::string, std::string>> read_merges_txt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tokenizer_file_error("cannot open merges file '" + path + "'");
  std::vector<std::pair<std::string, std::string>> merges;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 && line.starts_with("#version")) continue;
    if (line.empty()) continue;
    const auto sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos)
      throw tokenizer_file_error("merges file '" + path + "' line " + std::to_string(n) + ": expected two tokens 'a b'");
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  return merges;
}

/// Reads vocab.json ({"token": id, ...}); errors name the file and the offending field.
inline vocabulary read_vocab_json(const std::string& path) {
  const auto j = json_io::parse_file(path);
  return json_io::vocab_object(json_io::root(j, path));
}

/// Byte-level BPE from vocab.json + merges.txt. Special tokens: those of `specials` found
/// in the vocabulary are matched verbatim in text; if `bos`/`eos` are present the RoBERTa
/// template <s> a </s></s> b </s> (with offset trimming) is used.
inline bpe_tokenizer load_bpe_files(const std::string& vocab_json, const std::string& merges_txt, bpe_options options = {},
                                    pipeline_options pipeline = {},
                                    const std::vector<std::string>& specials = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"},
                                    const std::string& bos = "<s>", const std::string& eos = "</s>") {
  vocabulary v = read_vocab_json(vocab_json);
  std::vector<added_token> added;
  for (const auto& t : specials)
    if (auto id = v.find(t)) added.push_back({t, *id, true, false, false});
  post_processor post;
  const auto b = v.find(bos), e = v.find(eos);
  if (b && e) {
    post = post_processor::roberta(*b, *e, true, options.add_prefix_space);
  } else {
    post.single = {{true, 0, 0, 0}};
    post.pair = {{true, 0, 0, 0}, {true, 1, 0, 1}};
  }
  const auto merges = read_merges_txt(merges_txt);
  return {bpe_model(std::move(v), merges, std::move(options), merges_txt), added_vocabulary(std::move(added)),
          std::move(post), pipeline};
}

/// Byte-level BPE from a parsed Hugging Face tokenizer.json (model "BPE", pre_tokenizer
/// "ByteLevel" with use_regex, normalizer null). Merges as ["a","b"] pairs or "a b" strings.
inline bpe_tokenizer load_bpe(const json_io::node& r, pipeline_options pipeline = {}) {
  const std::string& path = r.file;
  const auto m = r.at("model");
  if (m.at("type").str() != "BPE") m.at("type").fail("expected \"BPE\"");
  if (r.has("normalizer")) r.at("normalizer").fail("normalizers are not supported with byte-level BPE");
  bpe_options o;
  const auto pre = r.at("pre_tokenizer");
  if (pre.at("type").str() != "ByteLevel") pre.at("type").fail("expected \"ByteLevel\"");
  if (!pre.flag("use_regex", true)) pre.at("use_regex").fail("use_regex=false is not supported");
  o.add_prefix_space = pre.flag("add_prefix_space", true);
  o.ignore_merges = m.flag("ignore_merges", false);
  o.fuse_unk = m.flag("fuse_unk", false);
  if (m.has("unk_token")) o.unk_token = m.at("unk_token").str();
  if (m.flag("byte_fallback", false)) m.at("byte_fallback").fail("byte_fallback is not supported");
  if (m.has("continuing_subword_prefix") && !m.at("continuing_subword_prefix").str().empty())
    m.at("continuing_subword_prefix").fail("not supported with byte-level BPE");
  if (m.has("end_of_word_suffix") && !m.at("end_of_word_suffix").str().empty())
    m.at("end_of_word_suffix").fail("not supported with byte-level BPE");
  if (m.has("dropout")) m.at("dropout").fail("BPE dropout is not supported (non-deterministic)");
  vocabulary v = json_io::vocab_object(m.at("vocab"));
  std::vector<std::pair<std::string, std::string>> merges;
  const auto ms = m.at("merges");
  if (!ms.value.is_array()) ms.fail("expected an array");
  for (std::size_t i = 0; i < ms.value.size(); ++i) {
    const auto e = ms.index(i);
    if (e.value.is_array()) {
      merges.emplace_back(e.index(0).str(), e.index(1).str());
    } else {
      const std::string s = e.str();
      const auto sp = s.find(' ');
      if (sp == std::string::npos) e.fail("expected \"a b\"");
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    }
  }
  return {bpe_model(std::move(v), merges, std::move(o), path), json_io::added_tokens(r), json_io::post_processing(r),
          pipeline};
}

/// Byte-level BPE from a Hugging Face tokenizer.json file (see above).
inline bpe_tokenizer load_bpe(const std::string& path, pipeline_options pipeline = {}) {
  const auto j = json_io::parse_file(path);
  return load_bpe(json_io::root(j, path), pipeline);
}

}  // namespace ptp::text
