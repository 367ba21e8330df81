// ptp/text/wordnet.hpp — a reader of the WordNet 3.0 database files (docs/algorithms.md §4).
//
// Reads the files Debian's `wordnet-base` installs in /usr/share/wordnet:
//   index.{noun,verb,adj,adv}   lemma → synset offsets      (wndb(5WN))
//   data.{noun,verb,adj,adv}    synsets at byte offsets      (wndb(5WN))
//   {noun,verb,adj,adv}.exc     irregular inflections        (morphy(7WN))
// The format is Princeton's, documented in the wndb(5WN) and morphy(7WN) manual pages; the
// code here is written from those descriptions. Lines that start with two spaces are the
// license header and are skipped.
//
// Everything is parsed eagerly into flat, sorted arrays that view one in-memory copy of
// each file (≈ 28 MB): loading takes ~0.1–0.2 s in a Release build; afterwards every query
// is a binary search. A `wordnet` is a cheap, copyable, immutable handle (shared state),
// safe to query from many threads.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ptp::text {

/// A WordNet part of speech.
enum class pos : std::uint8_t { noun = 0, verb = 1, adj = 2, adv = 3 };

/// The four parts of speech, in WordNet's file order.
inline constexpr std::array<pos, 4> all_pos{pos::noun, pos::verb, pos::adj, pos::adv};

/// "noun", "verb", "adj", "adv" — the file-name stem.
[[nodiscard]] constexpr std::string_view pos_name(pos p) noexcept {
  constexpr std::array<std::string_view, 4> names{"noun", "verb", "adj", "adv"};
  return names[static_cast<std::size_t>(p)];
}

/// 'n', 'v', 'a', 'r' — the letter used inside the files.
[[nodiscard]] constexpr char pos_letter(pos p) noexcept {
  constexpr std::array<char, 4> letters{'n', 'v', 'a', 'r'};
  return letters[static_cast<std::size_t>(p)];
}

/// The name of lexicographer file `n` ("noun.animal" for 5), as WordNet 3.0 numbers them
/// (lexnames(5WN): 45 files, 0–44); empty when `n` is out of range. Debian's wordnet-base
/// does not ship the lexnames file, so the table is here.
[[nodiscard]] constexpr std::string_view lexicographer_file(std::uint8_t n) noexcept {
  constexpr std::array<std::string_view, 45> names{
      "adj.all",         "adj.pert",          "adv.all",         "noun.Tops",       "noun.act",
      "noun.animal",     "noun.artifact",     "noun.attribute",  "noun.body",       "noun.cognition",
      "noun.communication", "noun.event",     "noun.feeling",    "noun.food",       "noun.group",
      "noun.location",   "noun.motive",       "noun.object",     "noun.person",     "noun.phenomenon",
      "noun.plant",      "noun.possession",   "noun.process",    "noun.quantity",   "noun.relation",
      "noun.shape",      "noun.state",        "noun.substance",  "noun.time",       "verb.body",
      "verb.change",     "verb.cognition",    "verb.communication", "verb.competition", "verb.consumption",
      "verb.contact",    "verb.creation",     "verb.emotion",    "verb.motion",     "verb.perception",
      "verb.possession", "verb.social",       "verb.stative",    "verb.weather",    "adj.ppl"};
  return n < names.size() ? names[n] : std::string_view{};
}

/// A set of parts of speech (a 4-bit mask).
struct pos_set {
  std::uint8_t bits = 0;
  constexpr void insert(pos p) noexcept { bits |= static_cast<std::uint8_t>(1u << static_cast<unsigned>(p)); }
  [[nodiscard]] constexpr bool contains(pos p) const noexcept { return bits >> static_cast<unsigned>(p) & 1u; }
  [[nodiscard]] constexpr bool empty() const noexcept { return bits == 0; }
  [[nodiscard]] constexpr bool intersects(pos_set o) const noexcept { return (bits & o.bits) != 0; }
  friend constexpr bool operator==(pos_set, pos_set) = default;
};

/// Thrown for a missing or malformed WordNet file; what() reads "wordnet: FILE:LINE: why"
/// (LINE is omitted when the whole file is at fault, e.g. it cannot be opened).
class wordnet_error : public std::runtime_error {
 public:
  wordnet_error(std::string file, std::size_t line, const std::string& why)
      : std::runtime_error("wordnet: " + file + (line ? ":" + std::to_string(line) : std::string()) + ": " + why),
        file_(std::move(file)), line_(line) {}
  /// The offending file's path.
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  /// The 1-based line number, 0 when not about a line.
  [[nodiscard]] std::size_t line() const noexcept { return line_; }

 private:
  std::string file_;
  std::size_t line_;
};

/// One synset, viewing the loaded data file.
struct synset {
  pos part = pos::noun;                   ///< its part of speech (adjective satellites: adj)
  bool satellite = false;                 ///< an adjective satellite (ss_type 's')
  std::uint32_t offset = 0;               ///< byte offset in data.<pos>: WordNet's synset id
  std::uint8_t lex_filenum = 0;           ///< lexicographer file number
  std::span<const std::string_view> lemmas;  ///< its words, as in the file ("Canis_familiaris")
  std::string_view gloss;                 ///< definition and examples: `def; "ex 1"; "ex 2"`

  /// The definition: the gloss up to its first quoted example, trailing "; " trimmed.
  [[nodiscard]] std::string_view definition() const noexcept {
    std::string_view d = gloss.substr(0, gloss.find('"'));
    while (!d.empty() && (d.back() == ' ' || d.back() == ';')) d.remove_suffix(1);
    return d;
  }
  /// The example sentences: the double-quoted parts of the gloss, without the quotes.
  /// @code  // breathe.v.01: draw air into, and expel out of, the lungs; "I can breathe better …"
  ///   s.examples();   // {"I can breathe better when the air is clean", "The patient is respiring"}
  /// @endcode
  [[nodiscard]] std::vector<std::string_view> examples() const {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while ((i = gloss.find('"', i)) != std::string_view::npos) {
      const std::size_t j = gloss.find('"', i + 1);
      if (j == std::string_view::npos) break;
      if (j > i + 1) out.push_back(gloss.substr(i + 1, j - i - 1));
      i = j + 1;
    }
    return out;
  }
};

namespace detail::wn {

[[nodiscard]] inline char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// WordNet's lookup form: ASCII lower case, spaces → '_'.
[[nodiscard]] inline std::string normalize(std::string_view w) {
  std::string s(w);
  for (auto& c : s) c = c == ' ' ? '_' : lower(c);
  return s;
}

/// Whether `w` is already in lookup form (no ASCII capitals, no spaces).
[[nodiscard]] inline bool is_normal(std::string_view w) noexcept {
  return std::none_of(w.begin(), w.end(), [](char c) { return c == ' ' || (c >= 'A' && c <= 'Z'); });
}

/// Everything WordNet knows about one string (in lookup form), per part of speech: its
/// synsets in index.<pos> and its base forms in <pos>.exc. One hash lookup answers both
/// for all four parts of speech.
struct form_entry {
  std::array<std::uint32_t, 4> idx_first{}, idx_count{};  // into part_db::synset_ids
  std::array<std::uint32_t, 4> exc_first{}, exc_count{};  // into part_db::exc_pool
};

/// Reads a whole file; throws wordnet_error naming it when it cannot.
[[nodiscard]] inline std::string slurp(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw wordnet_error(path.string(), 0, "cannot open file (set WNSEARCHDIR or pass the WordNet dictionary directory)");
  std::string buf;
  char chunk[1 << 16];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0) buf.append(chunk, n);
  if (std::ferror(f.get())) throw wordnet_error(path.string(), 0, "read error");
  return buf;
}

/// Splits one line into space-separated fields, reporting errors with file and line.
class line_cursor {
 public:
  line_cursor(std::string_view line, const std::string& file, std::size_t lineno)
      : rest_(line), file_(file), lineno_(lineno) {}

  [[noreturn]] void fail(const std::string& why) const { throw wordnet_error(file_, lineno_, why); }

  [[nodiscard]] std::string_view field(const char* what) {
    while (!rest_.empty() && rest_.front() == ' ') rest_.remove_prefix(1);
    if (rest_.empty()) fail(std::string("line ends early: missing ") + what);
    const std::size_t n = std::min(rest_.find(' '), rest_.size());
    std::string_view f = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return f;
  }
  template <class Int>
  [[nodiscard]] Int number(const char* what, int base = 10) {
    const std::string_view f = field(what);
    Int v{};
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v, base);
    if (ec != std::errc{} || p != f.data() + f.size())
      fail(std::string("bad ") + what + " '" + std::string(f) + "'");
    return v;
  }
  /// The remainder of the line after the next '|' (the gloss), trailing spaces trimmed.
  [[nodiscard]] std::string_view gloss() {
    while (!rest_.empty() && rest_.front() == ' ') rest_.remove_prefix(1);
    if (rest_.empty() || rest_.front() != '|') fail("missing '|' before the gloss");
    std::string_view g = rest_.substr(1);
    while (!g.empty() && g.front() == ' ') g.remove_prefix(1);
    while (!g.empty() && (g.back() == ' ' || g.back() == '\r')) g.remove_suffix(1);
    rest_ = {};
    return g;
  }
  [[nodiscard]] bool at_end() const noexcept { return rest_.find_first_not_of(" \r") == std::string_view::npos; }

 private:
  std::string_view rest_;
  const std::string& file_;
  std::size_t lineno_;
};

/// Calls f(line, lineno) for each line that is not license header (two leading spaces)
/// and not empty.
template <class F>
void for_each_line(std::string_view buf, F&& f) {
  std::size_t pos = 0, lineno = 0;
  while (pos < buf.size()) {
    const std::size_t eol = std::min(buf.find('\n', pos), buf.size());
    ++lineno;
    std::string_view line = buf.substr(pos, eol - pos);
    const std::size_t start = pos;
    pos = eol + 1;
    if (line.starts_with("  ") || line.empty() || line == "\r") continue;
    f(line, lineno, start);
  }
}

struct part_db {
  std::string data_buf, index_buf, exc_buf;  // owned file contents, viewed below
  std::vector<synset> synsets;               // sorted by offset (file order)
  std::vector<std::string_view> lemma_pool;  // all synsets' lemmas, contiguous per synset
  std::vector<std::uint32_t> lemma_key;      // per lemma_pool entry: its form key (dedupe)
  std::vector<std::uint32_t> synset_ids;     // indices into `synsets`
  std::vector<std::string_view> exc_pool;    // base forms listed in <pos>.exc
  std::size_t lemma_count = 0;               // lines of index.<pos>

  [[nodiscard]] const synset* at(std::uint32_t offset) const noexcept {
    auto it = std::lower_bound(synsets.begin(), synsets.end(), offset,
                               [](const synset& s, std::uint32_t o) { return s.offset < o; });
    return it != synsets.end() && it->offset == offset ? &*it : nullptr;
  }
};

/// FNV-1a, 64 bit: the forms table's hash (short ASCII keys).
[[nodiscard]] inline std::uint64_t hash(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

/// The whole database: four parts and one table of forms (index lemmas and inflected
/// forms of the exception lists), keyed by string_views into the file buffers. The table
/// is open addressing with linear probing over key ids (load factor ≤ 1/2).
struct database {
  std::filesystem::path dir;
  std::array<part_db, 4> parts;
  std::vector<form_entry> forms;            // by key
  std::vector<std::string_view> form_text;  // by key
  std::vector<std::uint32_t> slots;         // key + 1, 0 = empty; size a power of two

  static constexpr std::uint32_t npos = 0xFFFFFFFFu;

  [[nodiscard]] std::uint32_t key(std::string_view s) const noexcept {
    if (slots.empty()) return npos;
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash(s) & mask;; i = (i + 1) & mask) {
      const std::uint32_t k = slots[i];
      if (k == 0) return npos;
      if (form_text[k - 1] == s) return k - 1;
    }
  }

  std::uint32_t intern(std::string_view s) {
    if (2 * (forms.size() + 1) > slots.size()) grow();
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash(s) & mask;; i = (i + 1) & mask) {
      const std::uint32_t k = slots[i];
      if (k == 0) {
        forms.emplace_back();
        form_text.push_back(s);
        slots[i] = static_cast<std::uint32_t>(forms.size());
        return static_cast<std::uint32_t>(forms.size() - 1);
      }
      if (form_text[k - 1] == s) return k - 1;
    }
  }

  /// A key for a string that is not looked up by text (not entered in the table).
  std::uint32_t private_key(std::string_view s) {
    forms.emplace_back();
    form_text.push_back(s);
    return static_cast<std::uint32_t>(forms.size() - 1);
  }

 private:
  void grow() {
    std::vector<std::uint32_t> old = std::move(slots);
    slots.assign(old.empty() ? 1u << 16 : old.size() * 2, 0u);
    const std::size_t mask = slots.size() - 1;
    for (std::uint32_t k : old) {
      if (k == 0) continue;
      std::size_t i = hash(form_text[k - 1]) & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = k;
    }
  }
};

/// A set of form keys for one query: generation-stamped marks over all keys, so that
/// membership is O(1) and clearing is free. One per thread.
class key_marks {
 public:
  void reset(std::size_t keys) {
    if (marks_.size() < keys) marks_.resize(keys, 0);
    if (++gen_ == 0) {  // wrapped: clear for real
      std::fill(marks_.begin(), marks_.end(), 0u);
      gen_ = 1;
    }
  }
  /// Marks k; true when it was not marked yet.
  bool insert(std::uint32_t k) noexcept {
    if (marks_[k] == gen_) return false;
    marks_[k] = gen_;
    return true;
  }

 private:
  std::vector<std::uint32_t> marks_;
  std::uint32_t gen_ = 0;
};

inline void parse_data(part_db& db, pos p, const std::string& file) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> lemma_ranges;  // per synset: first, count
  for_each_line(db.data_buf, [&](std::string_view line, std::size_t lineno, std::size_t start) {
    line_cursor c(line, file, lineno);
    const auto offset = c.number<std::uint32_t>("synset_offset");
    if (offset != start)
      c.fail("synset_offset " + std::to_string(offset) + " differs from the line's byte offset " +
             std::to_string(start));
    synset s;
    s.part = p;
    s.offset = offset;
    s.lex_filenum = c.number<std::uint8_t>("lex_filenum");
    const std::string_view ss_type = c.field("ss_type");
    const char want = pos_letter(p);
    if (ss_type.size() != 1 || !(ss_type[0] == want || (p == pos::adj && ss_type[0] == 's')))
      c.fail("ss_type '" + std::string(ss_type) + "' does not belong in data." + std::string(pos_name(p)));
    s.satellite = ss_type[0] == 's';
    const auto w_cnt = c.number<unsigned>("w_cnt", 16);
    if (w_cnt == 0) c.fail("w_cnt is 0");
    const auto first = static_cast<std::uint32_t>(db.lemma_pool.size());
    for (unsigned w = 0; w < w_cnt; ++w) {
      std::string_view word = c.field("word");
      if (word.ends_with(')')) {  // adjective syntactic marker: (a), (p), (ip)
        const std::size_t open = word.rfind('(');
        if (open == std::string_view::npos || open == 0) c.fail("bad adjective marker in '" + std::string(word) + "'");
        word = word.substr(0, open);
      }
      db.lemma_pool.push_back(word);
      (void)c.number<unsigned>("lex_id", 16);
    }
    lemma_ranges.emplace_back(first, w_cnt);
    const auto p_cnt = c.number<unsigned>("p_cnt");
    for (unsigned k = 0; k < p_cnt; ++k) {
      (void)c.field("pointer_symbol");
      (void)c.number<std::uint32_t>("pointer synset_offset");
      const std::string_view pp = c.field("pointer pos");
      if (pp.size() != 1 || std::string_view("nvasr").find(pp[0]) == std::string_view::npos)
        c.fail("bad pointer pos '" + std::string(pp) + "'");
      (void)c.number<unsigned>("pointer source/target", 16);
    }
    if (p == pos::verb) {
      const auto f_cnt = c.number<unsigned>("f_cnt");
      for (unsigned k = 0; k < f_cnt; ++k) {
        if (c.field("frame '+'") != "+") c.fail("verb frame does not start with '+'");
        (void)c.number<unsigned>("f_num");
        (void)c.number<unsigned>("w_num", 16);
      }
    }
    s.gloss = c.gloss();
    db.synsets.push_back(s);
  });
  // Spans are set only now: lemma_pool has stopped growing.
  for (std::size_t i = 0; i < db.synsets.size(); ++i)
    db.synsets[i].lemmas = std::span<const std::string_view>(db.lemma_pool).subspan(lemma_ranges[i].first,
                                                                                     lemma_ranges[i].second);
}

inline void parse_index(database& db, pos p, const std::string& file) {
  part_db& pd = db.parts[static_cast<std::size_t>(p)];
  const auto pi = static_cast<std::size_t>(p);
  for_each_line(pd.index_buf, [&](std::string_view line, std::size_t lineno, std::size_t) {
    line_cursor c(line, file, lineno);
    const std::string_view lemma = c.field("lemma");
    if (!is_normal(lemma)) c.fail("lemma '" + std::string(lemma) + "' is not in lower case");
    const std::string_view lp = c.field("pos");
    if (lp.size() != 1 || lp[0] != pos_letter(p))
      c.fail("pos '" + std::string(lp) + "' does not belong in index." + std::string(pos_name(p)));
    const auto synset_cnt = c.number<unsigned>("synset_cnt");
    if (synset_cnt == 0) c.fail("synset_cnt is 0");
    const auto p_cnt = c.number<unsigned>("p_cnt");
    for (unsigned k = 0; k < p_cnt; ++k) (void)c.field("ptr_symbol");
    (void)c.number<unsigned>("sense_cnt");
    (void)c.number<unsigned>("tagsense_cnt");
    const auto first = static_cast<std::uint32_t>(pd.synset_ids.size());
    for (unsigned k = 0; k < synset_cnt; ++k) {
      const auto off = c.number<std::uint32_t>("synset_offset");
      const synset* s = pd.at(off);
      if (!s) c.fail("synset_offset " + std::to_string(off) + " is not in data." + std::string(pos_name(p)));
      pd.synset_ids.push_back(static_cast<std::uint32_t>(s - pd.synsets.data()));
    }
    if (!c.at_end()) c.fail("unexpected fields after " + std::to_string(synset_cnt) + " synset offsets");
    form_entry& e = db.forms[db.intern(lemma)];
    if (e.idx_count[pi]) c.fail("lemma '" + std::string(lemma) + "' listed twice");
    e.idx_first[pi] = first;
    e.idx_count[pi] = synset_cnt;
    ++pd.lemma_count;
  });
}

inline void parse_exceptions(database& db, pos p, const std::string& file) {
  part_db& pd = db.parts[static_cast<std::size_t>(p)];
  const auto pi = static_cast<std::size_t>(p);
  for_each_line(pd.exc_buf, [&](std::string_view line, std::size_t lineno, std::size_t) {
    line_cursor c(line, file, lineno);
    const std::string_view inflected = c.field("inflected form");
    const auto start = static_cast<std::uint32_t>(pd.exc_pool.size());
    form_entry& e = db.forms[db.intern(inflected)];
    // an inflected form on two lines (Debian's noun.exc has a few): its bases are merged
    for (std::uint32_t k = 0; k < e.exc_count[pi]; ++k) pd.exc_pool.push_back(pd.exc_pool[e.exc_first[pi] + k]);
    const std::size_t before = pd.exc_pool.size();
    while (!c.at_end()) {
      std::string_view base = c.field("base form");
      if (base.ends_with('\r')) base.remove_suffix(1);
      pd.exc_pool.push_back(base);
    }
    if (pd.exc_pool.size() == before)
      c.fail("exception entry '" + std::string(inflected) + "' lists no base form");
    e.exc_first[pi] = start;
    e.exc_count[pi] = static_cast<std::uint32_t>(pd.exc_pool.size() - start);
  });
}

/// Gives every synset lemma the key of its lookup form (for case-insensitive dedupe).
inline void key_lemmas(database& db) {
  std::string buf;
  for (part_db& pd : db.parts) {
    pd.lemma_key.resize(pd.lemma_pool.size());
    for (std::size_t i = 0; i < pd.lemma_pool.size(); ++i) {
      std::string_view l = pd.lemma_pool[i];
      std::uint32_t k;
      if (is_normal(l)) {
        k = db.key(l);
      } else {
        buf = normalize(l);
        k = db.key(buf);
      }
      if (k == database::npos) k = db.private_key(l);  // a lemma missing from the index
      pd.lemma_key[i] = k;
    }
  }
}



}  // namespace detail::wn

/// The WordNet 3.0 database: lemma lookup by part of speech, morphological base forms
/// (Morphy), synsets with their lemmas, glosses and example sentences, and synonyms.
///
/// Constructed from a dictionary directory (default: $WNSEARCHDIR, else
/// /usr/share/wordnet). All twelve files must be present and well formed; otherwise the
/// constructor throws wordnet_error naming the file and the line.
/// Words are looked up case-insensitively (ASCII), with spaces read as '_'.
/// @code
///   ptp::text::wordnet wn;                                     // /usr/share/wordnet
///   wn.morphy("geese", ptp::text::pos::noun);                 // {"goose"}
///   wn.synonyms("breathe", ptp::text::pos::verb);             // {"take_a_breath", "respire", "suspire", …}
///   auto s = wn.synsets("dog", ptp::text::pos::noun).front();
///   wn.name(*s);                                               // "dog.n.01"
/// @endcode
class wordnet {
 public:
  /// $WNSEARCHDIR when set and non-empty, else /usr/share/wordnet (Debian's wordnet-base).
  [[nodiscard]] static std::filesystem::path default_dir() {
    if (const char* env = std::getenv("WNSEARCHDIR"); env && *env) return env;
    return "/usr/share/wordnet";
  }

  /// Loads the database in `dir`. Throws wordnet_error (missing/malformed file).
  explicit wordnet(const std::filesystem::path& dir = default_dir()) {
    auto db = std::make_shared<detail::wn::database>();
    db->dir = dir;
    if (!std::filesystem::is_directory(dir))
      throw wordnet_error(dir.string(), 0, "not a WordNet dictionary directory (set WNSEARCHDIR)");
    for (pos p : all_pos) {
      auto& part = db->parts[static_cast<std::size_t>(p)];
      const std::string stem(pos_name(p));
      const auto data = (dir / ("data." + stem)).string();
      const auto index = (dir / ("index." + stem)).string();
      const auto exc = (dir / (stem + ".exc")).string();
      part.data_buf = detail::wn::slurp(data);
      part.index_buf = detail::wn::slurp(index);
      part.exc_buf = detail::wn::slurp(exc);
      detail::wn::parse_data(part, p, data);
      detail::wn::parse_index(*db, p, index);
      detail::wn::parse_exceptions(*db, p, exc);
    }
    detail::wn::key_lemmas(*db);
    db_ = std::move(db);
  }

  /// The directory this database was read from.
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return db_->dir; }

  /// Number of synsets of a part of speech (adjectives include satellites).
  [[nodiscard]] std::size_t synset_count(pos p) const noexcept { return part(p).synsets.size(); }
  /// Number of lemmas in index.<pos>.
  [[nodiscard]] std::size_t lemma_count(pos p) const noexcept { return part(p).lemma_count; }

  /// Whether `lemma` (exact base form, any case) is in index.<p>.
  [[nodiscard]] bool contains(std::string_view lemma, pos p) const {
    const auto* e = entry(detail::wn::normalize(lemma));
    return e && e->idx_count[static_cast<std::size_t>(p)] > 0;
  }

  /// The synsets of an exact base form, in WordNet's sense order (most frequent first);
  /// empty when absent. No morphology: see synsets() for that.
  [[nodiscard]] std::vector<const synset*> lookup(std::string_view lemma, pos p) const {
    std::vector<const synset*> out;
    const auto k = db_->key(detail::wn::normalize(lemma));
    if (k != detail::wn::database::npos) append_synsets(k, p, out);
    return out;
  }

  /// Morphy (morphy(7WN)): the base forms of `word` as part of speech p that are in
  /// index.<p>, in this order: the word itself; if it is in <p>.exc, the bases listed
  /// there; otherwise the results of the detachment rules
  ///   noun: -s, -ses→-s, -xes→-x, -zes→-z, -ches→-ch, -shes→-sh, -men→-man, -ies→-y
  ///   verb: -s, -ies→-y, -es→-e, -es, -ed→-e, -ed, -ing→-e, -ing
  ///   adj:  -er, -est, -er→-e, -est→-e          adv: none
  /// plus, for nouns ending in "ful", the base of the rest + "ful" ("boxesful" → "boxful").
  /// Duplicates are removed. Multi-word collocations are looked up as given.
  [[nodiscard]] std::vector<std::string> morphy(std::string_view word, pos p) const {
    const std::string w = detail::wn::normalize(word);
    std::vector<std::uint32_t> keys;
    std::string buf;
    morphy_keys(w, entry(w), p, keys, buf);
    std::vector<std::string> out;
    for (auto k : keys) out.emplace_back(db_->form_text[k]);
    return out;
  }

  /// The synsets of `word` as p, through Morphy: those of each base form, deduplicated,
  /// in base-form then sense order.
  [[nodiscard]] std::vector<const synset*> synsets(std::string_view word, pos p) const {
    const std::string w = detail::wn::normalize(word);
    std::vector<std::uint32_t> keys;
    std::string buf;
    morphy_keys(w, entry(w), p, keys, buf);
    std::vector<const synset*> out;
    for (auto k : keys) append_synsets(k, p, out);
    return out;
  }

  /// The synsets of `word` over all parts of speech (noun, verb, adj, adv order).
  [[nodiscard]] std::vector<const synset*> synsets(std::string_view word) const {
    std::vector<const synset*> out;
    for (pos p : all_pos) {
      auto s = synsets(word, p);
      out.insert(out.end(), s.begin(), s.end());
    }
    return out;
  }

  /// The parts of speech under which `word` (through Morphy) has at least one synset.
  [[nodiscard]] pos_set parts_of_speech(std::string_view word) const {
    pos_set out;
    const std::string w = detail::wn::normalize(word);
    const auto* self = entry(w);
    std::vector<std::uint32_t> keys;
    std::string buf;
    for (pos p : all_pos) {
      keys.clear();
      morphy_keys(w, self, p, keys, buf);
      if (!keys.empty()) out.insert(p);
    }
    return out;
  }

  /// Synonyms of `word` as p: the lemmas of its synsets (sense order, then lemma order),
  /// without the word itself and its base forms, deduplicated case-insensitively. Lemmas
  /// keep WordNet's spelling (underscores for multi-word lemmas, capitals of names).
  [[nodiscard]] std::vector<std::string> synonyms(std::string_view word, pos p) const {
    pos_set only;
    only.insert(p);
    const auto v = synonym_views(word, only);
    return {v.begin(), v.end()};
  }

  /// Synonyms over all parts of speech (noun, verb, adj, adv order), without the word and
  /// its base forms under any part of speech, deduplicated.
  [[nodiscard]] std::vector<std::string> synonyms(std::string_view word) const {
    const auto v = synonym_views(word, pos_set{0xF});
    return {v.begin(), v.end()};
  }

  /// synonyms() as views into the loaded files (no string copies): valid as long as this
  /// database (any copy of the handle) lives. `parts` selects the parts of speech.
  [[nodiscard]] std::vector<std::string_view> synonym_views(std::string_view word, pos_set parts) const {
    std::vector<std::string_view> out;
    std::string w;
    if (detail::wn::is_normal(word))
      w.assign(word);
    else
      w = detail::wn::normalize(word);
    const auto* self = entry(w);
    std::array<std::vector<std::uint32_t>, 4> bases;
    std::string buf;
    thread_local detail::wn::key_marks seen;  // form keys already emitted or excluded
    seen.reset(db_->forms.size());
    if (self) seen.insert(static_cast<std::uint32_t>(self - db_->forms.data()));
    for (pos p : all_pos) {
      if (!parts.contains(p)) continue;
      auto& b = bases[static_cast<std::size_t>(p)];
      morphy_keys(w, self, p, b, buf);
      for (auto k : b) seen.insert(k);
    }
    const auto unseen = [&](std::uint32_t k) { return seen.insert(k); };
    for (pos p : all_pos) {
      const auto& pd = part(p);
      const auto pi = static_cast<std::size_t>(p);
      for (auto base : bases[pi]) {
        const auto& e = db_->forms[base];
        for (std::uint32_t j = 0; j < e.idx_count[pi]; ++j) {
          const synset& s = pd.synsets[pd.synset_ids[e.idx_first[pi] + j]];
          const auto first = static_cast<std::size_t>(s.lemmas.data() - pd.lemma_pool.data());
          for (std::size_t l = 0; l < s.lemmas.size(); ++l)
            if (unseen(pd.lemma_key[first + l])) out.push_back(s.lemmas[l]);
        }
      }
    }
    return out;
  }

  /// Every synset of part of speech p, in data-file order (adjectives include satellites).
  [[nodiscard]] std::span<const synset> all_synsets(pos p) const noexcept { return part(p).synsets; }

  /// The synset at `offset` in data.<p>, or nullptr.
  [[nodiscard]] const synset* at(pos p, std::uint32_t offset) const noexcept { return part(p).at(offset); }

  /// The NLTK-style name "lemma.p.NN" of a synset: its first lemma (lower case), its
  /// letter (n, v, a, s for satellites, r), and the rank of the synset among that lemma's
  /// senses in index.<pos> (01 = most frequent).
  [[nodiscard]] std::string name(const synset& s) const {
    const std::string lemma = detail::wn::normalize(s.lemmas.front());
    std::size_t rank = 0;
    const auto& pd = part(s.part);
    const auto pi = static_cast<std::size_t>(s.part);
    if (const auto* e = entry(lemma)) {
      for (std::uint32_t k = 0; k < e->idx_count[pi]; ++k)
        if (&pd.synsets[pd.synset_ids[e->idx_first[pi] + k]] == &s) rank = k + 1;
    }
    std::string out = lemma + '.' + (s.satellite ? 's' : pos_letter(s.part)) + '.';
    if (rank < 10) out += '0';
    out += std::to_string(rank);
    return out;
  }

 private:
  [[nodiscard]] const detail::wn::part_db& part(pos p) const noexcept { return db_->parts[static_cast<std::size_t>(p)]; }

  [[nodiscard]] const detail::wn::form_entry* entry(std::string_view w) const {
    const auto k = db_->key(w);
    return k == detail::wn::database::npos ? nullptr : &db_->forms[k];
  }

  void append_synsets(std::uint32_t key, pos p, std::vector<const synset*>& out) const {
    const auto& pd = part(p);
    const auto& e = db_->forms[key];
    const auto pi = static_cast<std::size_t>(p);
    for (std::uint32_t k = 0; k < e.idx_count[pi]; ++k) {
      const synset* s = &pd.synsets[pd.synset_ids[e.idx_first[pi] + k]];
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }

  // Morphy on a word in lookup form `w` (whose own entry is `self`, maybe null): appends
  // the keys of its base forms in index.<p> to `out`, deduplicated. `buf` is scratch.
  void morphy_keys(std::string_view w, const detail::wn::form_entry* self, pos p, std::vector<std::uint32_t>& out,
                   std::string& buf) const {
    const auto pi = static_cast<std::size_t>(p);
    const auto start = out.size();
    const auto add_key = [&](std::uint32_t k) {
      if (k == detail::wn::database::npos || db_->forms[k].idx_count[pi] == 0) return;
      if (std::find(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), k) == out.end()) out.push_back(k);
    };
    if (self) {
      add_key(static_cast<std::uint32_t>(self - db_->forms.data()));
      if (self->exc_count[pi]) {
        const auto& pd = part(p);
        for (std::uint32_t k = 0; k < self->exc_count[pi]; ++k) add_key(db_->key(pd.exc_pool[self->exc_first[pi] + k]));
        return;
      }
    }
    struct rule {
      std::string_view suffix, ending;
    };
    static constexpr rule noun_rules[] = {{"s", ""},     {"ses", "s"},  {"xes", "x"},   {"zes", "z"},
                                          {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}};
    static constexpr rule verb_rules[] = {{"s", ""},  {"ies", "y"}, {"es", "e"},  {"es", ""},
                                          {"ed", "e"}, {"ed", ""},   {"ing", "e"}, {"ing", ""}};
    static constexpr rule adj_rules[] = {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}};
    std::span<const rule> rules;
    switch (p) {
      case pos::noun: rules = noun_rules; break;
      case pos::verb: rules = verb_rules; break;
      case pos::adj: rules = adj_rules; break;
      case pos::adv: break;
    }
    for (const rule& r : rules) {
      if (w.size() <= r.suffix.size() || !w.ends_with(r.suffix)) continue;
      buf.assign(w.substr(0, w.size() - r.suffix.size()));
      buf += r.ending;
      add_key(db_->key(buf));
    }
    if (p == pos::noun && w.size() > 3 && w.ends_with("ful")) {
      std::vector<std::uint32_t> inner;
      std::string inner_buf;
      const std::string_view stem = w.substr(0, w.size() - 3);
      morphy_keys(stem, entry(stem), p, inner, inner_buf);
      for (auto k : inner) {
        buf.assign(db_->form_text[k]);
        buf += "ful";
        add_key(db_->key(buf));
      }
    }
  }

  std::shared_ptr<const detail::wn::database> db_;
};

}  // namespace ptp::text
