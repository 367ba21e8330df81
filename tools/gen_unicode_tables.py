#!/usr/bin/env python3
"""Generate include/ptp/text/tokenizers/unicode_tables.hpp from Python's unicodedata.

Why: the tokenizers need Unicode general categories (letters, numbers, punctuation,
"other"/control, non-spacing marks), the simple per-character lower-case mapping and the
canonical (NFD) decomposition with marks removed (BERT's accent stripping). Generating
them once at development time keeps the library free of any runtime dependency (ICU).

Hugging Face `tokenizers` classifies characters for BERT with older Unicode tables than
Python's (its BertNormalizer/BertPreTokenizer see characters assigned since then as
unassigned: kept, not punctuation, not marks). When `tokenizers` is importable, the
script probes it once per code point and emits that difference as two small range lists
(bert_legacy_unassigned, bert_legacy_nonspacing) so WordPiece matches HF on every code
point, not only on the characters of our test corpus.

Usage: python3 tools/gen_unicode_tables.py > include/ptp/text/tokenizers/unicode_tables.hpp
       (use the project venv's python to include the HF compatibility lists)
The output is committed; rerun only to move to a newer Unicode version.
"""
import sys
import unicodedata

CATEGORIES = ["Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No",
              "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So",
              "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"]
MAX_CP = 0x110000
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def category_runs():
    """(first code point, category index) at every change of general category."""
    runs, previous = [], None
    for cp in range(MAX_CP):
        cat = CATEGORIES.index(unicodedata.category(chr(cp)))
        if cat != previous:
            runs.append((cp, cat))
            previous = cat
    return runs


def lower_map():
    """Context-free full lower-case mapping (str.lower of one character)."""
    single, multi = [], []
    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        low = chr(cp).lower()
        if low == chr(cp):
            continue
        if len(low) == 1:
            single.append((cp, ord(low)))
        else:
            multi.append((cp, [ord(x) for x in low]))
    return single, multi


def strip_map():
    """NFD decomposition with the non-spacing marks (Mn) removed, Hangul excluded."""
    out = []
    for cp in range(MAX_CP):
        if HANGUL_FIRST <= cp <= HANGUL_LAST or 0xD800 <= cp <= 0xDFFF:
            continue
        d = unicodedata.normalize("NFD", chr(cp))
        if d == chr(cp):
            continue
        out.append((cp, [ord(x) for x in d if unicodedata.category(x) != "Mn"]))
    return out


WHITE_SPACE = {*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
               0x202F, 0x205F, 0x3000}


def predicted_bert(cp, strip):
    """What our rules (unicodedata categories) predict for HF's uncased BertNormalizer."""
    c = chr(cp)
    cat = unicodedata.category(c)
    if cp in (0, 0xFFFD) or (cat in ("Cc", "Cf", "Co", "Cs") and c not in "\t\n\r"):
        return []
    if cp in WHITE_SPACE:
        return [0x20]
    out = []
    for d in strip.get(cp, [cp]) if not (0xAC00 <= cp <= 0xD7A3) else [cp]:
        if unicodedata.category(chr(d)) == "Mn" and cp not in strip:
            continue
        out.extend(ord(x) for x in chr(d).lower())
    return out


def to_ranges(cps):
    ranges = []
    for cp in sorted(cps):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return ranges


def hf_legacy(strip):
    """Where HF's uncased BERT pipeline differs from the unicodedata rules: per code point
    the exact normalised output, and the punctuation HF does not know."""
    try:
        from tokenizers import normalizers, pre_tokenizers
    except ImportError:
        sys.stderr.write("gen_unicode_tables.py: tokenizers not importable, no HF compatibility lists\n")
        return [], [], []
    norm = normalizers.BertNormalizer(lowercase=True, clean_text=True, handle_chinese_chars=False)
    pre = pre_tokenizers.BertPreTokenizer()
    strip_map = dict(strip)
    overrides = []
    for cp in range(0x80, MAX_CP):
        if 0xD800 <= cp <= 0xDFFF or (0xAC00 <= cp <= 0xD7A3):
            continue
        hf = [ord(x) for x in norm.normalize_str(chr(cp))]
        if hf != predicted_bert(cp, strip_map):
            overrides.append((cp, hf))
    kept = {cp for cp, seq in overrides if seq == [cp]}
    # Punctuation as BertPreTokenizer sees it: probe "a c a c' a ..." in chunks; a
    # punctuation character comes back as an isolated piece.
    not_punct, extra_punct = set(), set()
    cps = [cp for cp in range(0x80, MAX_CP) if not 0xD800 <= cp <= 0xDFFF and cp not in WHITE_SPACE]
    for i in range(0, len(cps), 4096):
        chunk = cps[i:i + 4096]
        text = "a" + "a".join(chr(cp) for cp in chunk) + "a"
        isolated = {ord(p[0]) for p, _ in pre.pre_tokenize_str(text) if len(p) == 1}
        for cp in chunk:
            ours = unicodedata.category(chr(cp)).startswith("P") and cp not in kept
            theirs = cp in isolated
            if ours and not theirs:
                not_punct.add(cp)
            elif theirs and not ours:
                extra_punct.add(cp)
    return overrides, to_ranges(not_punct), to_ranges(extra_punct)


def emit_array(name, ctype, values, per_line=10):
    lines = [f"inline constexpr {ctype} {name}[] = {{"]
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[i:i + per_line]) + ",")
    lines.append("};")
    return "\n".join(lines)


def main():
    runs = category_runs()
    single, multi = lower_map()
    strip = strip_map()
    flat, index = [], []
    for cp, seq in strip:
        index.append((cp, len(flat), len(seq)))
        flat.extend(seq)
    out = []
    out.append("// Generated by tools/gen_unicode_tables.py from Python's unicodedata "
               f"(Unicode {unicodedata.unidata_version}). Do not edit by hand.")
    out.append("#pragma once\n#include <cstdint>\n")
    out.append("namespace ptp::text::unicode_tables {\n")
    out.append(f'inline constexpr const char* unicode_version = "{unicodedata.unidata_version}";\n')
    out.append("/// General categories, in the order of the enum ptp::text::general_category.")
    out.append("/// Each entry packs (first code point << 8) | category; a run lasts until the next entry.")
    out.append(emit_array("category_runs", "std::uint32_t",
                          [f"0x{(cp << 8) | cat:08X}u" for cp, cat in runs], 8))
    out.append("\n/// Simple lower-case mapping: sorted code points and their single lower-case code point.")
    out.append(emit_array("lower_from", "std::uint32_t", [f"0x{a:X}" for a, _ in single], 12))
    out.append(emit_array("lower_to", "std::uint32_t", [f"0x{b:X}" for _, b in single], 12))
    out.append("\n/// Lower-case mappings to more than one code point: {from, n, to[0..2]}.")
    out.append("struct multi_lower { std::uint32_t from; std::uint32_t size; std::uint32_t to[3]; };")
    rows = []
    for cp, seq in multi:
        assert len(seq) <= 3
        padded = seq + [0] * (3 - len(seq))
        rows.append("{0x%X, %d, {0x%X, 0x%X, 0x%X}}" % (cp, len(seq), *padded))
    out.append(emit_array("lower_multi", "multi_lower", rows, 3))
    out.append("\n/// NFD decomposition minus Mn marks (accent stripping), Hangul syllables excluded")
    out.append("/// (decomposed algorithmically). strip_index packs {code point, offset in strip_data, size}.")
    out.append("struct strip_entry { std::uint32_t cp; std::uint16_t offset; std::uint16_t size; };")
    out.append(emit_array("strip_index", "strip_entry",
                          ["{0x%X, %d, %d}" % e for e in index], 6))
    out.append(emit_array("strip_data", "std::uint32_t", [f"0x{x:X}" for x in flat], 12))
    overrides, not_punct, extra_punct = hf_legacy(strip)
    out.append("\n/// HF `tokenizers` compatibility for BERT (probed at generation time): code points whose")
    out.append("/// uncased BertNormalizer output differs from the unicodedata rules (HF's character tables")
    out.append("/// are older for categories and newer for lower-casing), with HF's exact output (size 0:")
    out.append("/// removed). `kept` = HF keeps the code point unchanged (it sees it as unassigned).")
    out.append("struct bert_override { std::uint32_t cp; std::uint8_t size; bool kept; std::uint32_t out[2]; };")
    rows = []
    for cp, seq in overrides:
        assert len(seq) <= 2, (hex(cp), seq)
        pad = seq + [0] * (2 - len(seq))
        rows.append("{0x%X, %d, %s, {0x%X, 0x%X}}" % (cp, len(seq), "true" if seq == [cp] else "false", *pad))
    out.append(emit_array("bert_overrides", "bert_override", rows or ["{0x110000, 0, false, {0, 0}}"], 4))
    out.append("/// Inclusive ranges of Unicode punctuation HF's BertPreTokenizer does not split on.")
    out.append("struct cp_range { std::uint32_t first; std::uint32_t last; };")
    out.append(emit_array("bert_not_punctuation", "cp_range",
                          ["{0x%X, 0x%X}" % tuple(r) for r in not_punct] or ["{0x110000, 0x110000}"], 6))
    out.append("/// Inclusive ranges of non-punctuation (today) that HF's BertPreTokenizer still splits on.")
    out.append(emit_array("bert_extra_punctuation", "cp_range",
                          ["{0x%X, 0x%X}" % tuple(r) for r in extra_punct] or ["{0x110000, 0x110000}"], 6))
    out.append("\n}  // namespace ptp::text::unicode_tables")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
