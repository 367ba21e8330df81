// ptp/text/wordnet.hpp — a reader of the WordNet 3.0 database files (PAPER.md §4).
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

/// A sorted key → [first, first+count) range table over string_views.
struct range_entry {
  std::string_view key;
  std::uint32_t first = 0;
  std::uint32_t count = 0;
};

[[nodiscard]] inline const range_entry* find(const std::vector<range_entry>& table, std::string_view key) noexcept {
  auto it = std::lower_bound(table.begin(), table.end(), key,
                             [](const range_entry& e, std::string_view k) { return e.key < k; });
  return it != table.end() && it->key == key ? &*it : nullptr;
}

inline void sort_table(std::vector<range_entry>& t) {
  const auto less = [](const range_entry& a, const range_entry& b) { return a.key < b.key; };
  if (!std::is_sorted(t.begin(), t.end(), less)) std::stable_sort(t.begin(), t.end(), less);
}

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
  std::vector<range_entry> index;            // lemma → synsets (indices into `synset_ids`)
  std::vector<std::uint32_t> synset_ids;     // indices into `synsets`
  std::vector<range_entry> exceptions;       // inflected form → bases (indices into `exc_pool`)
  std::vector<std::string_view> exc_pool;

  [[nodiscard]] const synset* at(std::uint32_t offset) const noexcept {
    auto it = std::lower_bound(synsets.begin(), synsets.end(), offset,
                               [](const synset& s, std::uint32_t o) { return s.offset < o; });
    return it != synsets.end() && it->offset == offset ? &*it : nullptr;
  }
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

inline void parse_index(part_db& db, pos p, const std::string& file) {
  for_each_line(db.index_buf, [&](std::string_view line, std::size_t lineno, std::size_t) {
    line_cursor c(line, file, lineno);
    range_entry e;
    e.key = c.field("lemma");
    const std::string_view lp = c.field("pos");
    if (lp.size() != 1 || lp[0] != pos_letter(p))
      c.fail("pos '" + std::string(lp) + "' does not belong in index." + std::string(pos_name(p)));
    const auto synset_cnt = c.number<unsigned>("synset_cnt");
    const auto p_cnt = c.number<unsigned>("p_cnt");
    for (unsigned k = 0; k < p_cnt; ++k) (void)c.field("ptr_symbol");
    (void)c.number<unsigned>("sense_cnt");
    (void)c.number<unsigned>("tagsense_cnt");
    e.first = static_cast<std::uint32_t>(db.synset_ids.size());
    e.count = synset_cnt;
    for (unsigned k = 0; k < synset_cnt; ++k) {
      const auto off = c.number<std::uint32_t>("synset_offset");
      const synset* s = db.at(off);
      if (!s) c.fail("synset_offset " + std::to_string(off) + " is not in data." + std::string(pos_name(p)));
      db.synset_ids.push_back(static_cast<std::uint32_t>(s - db.synsets.data()));
    }
    if (!c.at_end()) c.fail("unexpected fields after " + std::to_string(synset_cnt) + " synset offsets");
    db.index.push_back(e);
  });
  sort_table(db.index);
}

inline void parse_exceptions(part_db& db, const std::string& file) {
  for_each_line(db.exc_buf, [&](std::string_view line, std::size_t lineno, std::size_t) {
    line_cursor c(line, file, lineno);
    range_entry e;
    e.key = c.field("inflected form");
    e.first = static_cast<std::uint32_t>(db.exc_pool.size());
    while (!c.at_end()) {
      std::string_view base = c.field("base form");
      if (base.ends_with('\r')) base.remove_suffix(1);
      db.exc_pool.push_back(base);
    }
    e.count = static_cast<std::uint32_t>(db.exc_pool.size() - e.first);
    if (e.count == 0) c.fail("exception entry '" + std::string(e.key) + "' lists no base form");
    db.exceptions.push_back(e);
  });
  sort_table(db.exceptions);
}

struct database {
  std::filesystem::path dir;
  std::array<part_db, 4> parts;
};

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
      detail::wn::parse_index(part, p, index);
      detail::wn::parse_exceptions(part, exc);
    }
    db_ = std::move(db);
  }

  /// The directory this database was read from.
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return db_->dir; }

  /// Number of synsets of a part of speech (adjectives include satellites).
  [[nodiscard]] std::size_t synset_count(pos p) const noexcept { return part(p).synsets.size(); }
  /// Number of lemmas in index.<pos>.
  [[nodiscard]] std::size_t lemma_count(pos p) const noexcept { return part(p).index.size(); }

  /// Whether `lemma` (exact base form, any case) is in index.<p>.
  [[nodiscard]] bool contains(std::string_view lemma, pos p) const {
    return detail::wn::find(part(p).index, detail::wn::normalize(lemma)) != nullptr;
  }

  /// The synsets of an exact base form, in WordNet's sense order (most frequent first);
  /// empty when absent. No morphology: see synsets() for that.
  [[nodiscard]] std::vector<const synset*> lookup(std::string_view lemma, pos p) const {
    std::vector<const synset*> out;
    append_lookup(detail::wn::normalize(lemma), p, out);
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
    std::vector<std::string> out;
    morphy_into(detail::wn::normalize(word), p, out);
    return out;
  }

  /// The synsets of `word` as p, through Morphy: those of each base form, deduplicated,
  /// in base-form then sense order.
  [[nodiscard]] std::vector<const synset*> synsets(std::string_view word, pos p) const {
    std::vector<const synset*> out;
    std::vector<std::string> bases;
    morphy_into(detail::wn::normalize(word), p, bases);
    for (const auto& b : bases) append_lookup(b, p, out);
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
    std::vector<std::string> bases;
    for (pos p : all_pos) {
      bases.clear();
      morphy_into(w, p, bases);
      if (!bases.empty()) out.insert(p);
    }
    return out;
  }

  /// Synonyms of `word` as p: the lemmas of its synsets (sense order, then lemma order),
  /// without the word itself and its base forms, deduplicated case-insensitively. Lemmas
  /// keep WordNet's spelling (underscores for multi-word lemmas, capitals of names).
  [[nodiscard]] std::vector<std::string> synonyms(std::string_view word, pos p) const {
    std::vector<std::string> out;
    std::vector<std::string> seen;  // normalized forms already emitted or excluded
    append_synonyms(detail::wn::normalize(word), p, out, seen);
    return out;
  }

  /// Synonyms over all parts of speech (noun, verb, adj, adv order), deduplicated.
  [[nodiscard]] std::vector<std::string> synonyms(std::string_view word) const {
    std::vector<std::string> out, seen;
    const std::string w = detail::wn::normalize(word);
    for (pos p : all_pos) append_synonyms(w, p, out, seen);
    return out;
  }

  /// The synset at `offset` in data.<p>, or nullptr.
  [[nodiscard]] const synset* at(pos p, std::uint32_t offset) const noexcept { return part(p).at(offset); }

  /// The NLTK-style name "lemma.p.NN" of a synset: its first lemma (lower case), its
  /// letter (n, v, a, s for satellites, r), and the rank of the synset among that lemma's
  /// senses in index.<pos> (01 = most frequent).
  [[nodiscard]] std::string name(const synset& s) const {
    const std::string lemma = detail::wn::normalize(s.lemmas.front());
    std::size_t rank = 0;
    const auto& pd = part(s.part);
    if (const auto* e = detail::wn::find(pd.index, lemma)) {
      for (std::uint32_t k = 0; k < e->count; ++k)
        if (&pd.synsets[pd.synset_ids[e->first + k]] == &s) rank = k + 1;
    }
    std::string out = lemma + '.' + (s.satellite ? 's' : pos_letter(s.part)) + '.';
    if (rank < 10) out += '0';
    out += std::to_string(rank);
    return out;
  }

 private:
  [[nodiscard]] const detail::wn::part_db& part(pos p) const noexcept { return db_->parts[static_cast<std::size_t>(p)]; }

  void append_lookup(std::string_view lemma, pos p, std::vector<const synset*>& out) const {
    const auto& pd = part(p);
    const auto* e = detail::wn::find(pd.index, lemma);
    if (!e) return;
    for (std::uint32_t k = 0; k < e->count; ++k) {
      const synset* s = &pd.synsets[pd.synset_ids[e->first + k]];
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }

  void morphy_into(const std::string& w, pos p, std::vector<std::string>& out) const {
    const auto& pd = part(p);
    const auto add = [&](std::string_view form) {
      if (form.empty() || !detail::wn::find(pd.index, form)) return;
      if (std::find(out.begin(), out.end(), form) == out.end()) out.emplace_back(form);
    };
    add(w);
    if (const auto* e = detail::wn::find(pd.exceptions, w)) {
      for (std::uint32_t k = 0; k < e->count; ++k) add(pd.exc_pool[e->first + k]);
      return;
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
    std::string form;
    for (const rule& r : rules) {
      if (w.size() <= r.suffix.size() || !std::string_view(w).ends_with(r.suffix)) continue;
      form.assign(w, 0, w.size() - r.suffix.size());
      form += r.ending;
      add(form);
    }
    if (p == pos::noun && w.size() > 3 && std::string_view(w).ends_with("ful")) {
      std::vector<std::string> inner;
      morphy_into(w.substr(0, w.size() - 3), p, inner);
      for (const auto& b : inner) add(b + "ful");
    }
  }

  void append_synonyms(const std::string& w, pos p, std::vector<std::string>& out,
                       std::vector<std::string>& seen) const {
    std::vector<std::string> bases;
    morphy_into(w, p, bases);
    if (bases.empty()) return;
    if (std::find(seen.begin(), seen.end(), w) == seen.end()) seen.push_back(w);
    for (auto& b : bases)
      if (std::find(seen.begin(), seen.end(), b) == seen.end()) seen.push_back(b);
    std::vector<const synset*> ss;
    for (const auto& b : bases) append_lookup(b, p, ss);
    std::string key;
    for (const synset* s : ss)
      for (std::string_view l : s->lemmas) {
        key = detail::wn::normalize(l);
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
        seen.push_back(key);
        out.emplace_back(l);
      }
  }

  std::shared_ptr<const detail::wn::database> db_;
};

}  // namespace ptp::text
