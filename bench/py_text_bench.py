#!/usr/bin/env python3
"""The Python side of bench/bench_text.cpp: the same texts, the same work, timed here.

  random masking        plain Python: each word independently → "[MASK]" with p = 0.15;
                        and the same on token ids (each distinct word → next id) → mask id
  synonym substitution  NLTK's WordNet reader on the Debian files (/usr/share/wordnet):
                        each word with probability p: strip surrounding punctuation, skip
                        stop words (the list of include/ptp/text/stopwords.hpp), collect the
                        lemma names of wn.synsets(core) minus the word and its Morphy base
                        forms, pick one uniformly, copy the case pattern, re-attach punctuation.

Debian's wordnet-base lacks the `lexnames` file NLTK expects, so a shim directory with
copies of the Debian files plus a generated lexnames (the 45 lexicographer files of
lexnames(5WN)) is built in a temporary directory, which is added to nltk.data.path (NLTK's
path sandbox only opens files below its data roots), and `map_wn` is overridden: NLTK
would otherwise try to map "3.0" onto its own downloaded copy, which is not installed.

Usage: py_text_bench.py [--shared ../shared] [--wordnet /usr/share/wordnet] [--repeat 5]
Prints one line per benchmark: name, CPU seconds per pass over the corpus (best of
--repeat), texts/s.
"""
import argparse
import functools
import json
import os
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

KEYS = {"question", "passage", "text", "premise", "hypothesis", "choice1", "choice2",
        "sentence1", "sentence2", "query"}

LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute
noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group
noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession
noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time
verb.body verb.change verb.cognition verb.communication verb.competition verb.consumption
verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession
verb.social verb.stative verb.weather adj.ppl""".split()
LEX_POS = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


def collect(j, out):
    if isinstance(j, dict):
        for k, v in j.items():
            if isinstance(v, str) and k in KEYS:
                out.append(v)
            else:
                collect(v, out)
    elif isinstance(j, list):
        for x in j:
            collect(x, out)


def corpus(shared):
    strings = []
    for f in sorted(Path(shared, "data", "fewglue").glob("*/train.jsonl")):
        for line in f.read_text().splitlines():
            if line:
                collect(json.loads(line), strings)
    return [s.split() for s in strings]


def stopwords(repo):
    text = Path(repo, "include", "ptp", "text", "stopwords.hpp").read_text()
    start = text.index("english_stopwords{")
    body = text[start:text.index("};", start)]
    return set(re.findall(r'"([^"]*)"', body))


def wordnet_reader(wndir, tmp):
    shim = Path(tmp, "wordnet")
    shim.mkdir()
    for f in Path(wndir).iterdir():
        if f.is_file():
            shutil.copyfile(f, shim / f.name)  # copies: NLTK refuses links leaving its root
    with open(shim / "lexnames", "w") as out:
        for i, name in enumerate(LEXNAMES):
            out.write(f"{i:02d}\t{name}\t{LEX_POS[name.split('.')[0]]}\n")
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    class DebianWordNet(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):
            return None  # these files are WordNet 3.0 itself: no mapping to NLTK's bundled copy

    nltk.data.path.append(str(tmp))  # NLTK ≥ 3.9 reads only below its data roots (nltk.pathsec)
    return DebianWordNet(str(shim), None)


def is_alnum(c):
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or ord(c) >= 0x80


def split_punct(w):
    b, e = 0, len(w)
    while b < e and not is_alnum(w[b]):
        b += 1
    while e > b and not is_alnum(w[e - 1]):
        e -= 1
    return w[:b], w[b:e], w[e:]


def match_case(s, like):
    if not like or not s or not ("A" <= like[0] <= "Z"):
        return s
    if len(like) > 1 and not any("a" <= c <= "z" for c in like):
        return s.upper()
    return s[0].upper() + s[1:]


def make_synonyms(wn):
    def synonyms(core):
        w = core.lower().replace(" ", "_")
        seen = {w}
        for p in "nvar":
            seen.update(wn._morphy(w, p))
        out = []
        for s in wn.synsets(w):
            for lemma in s.lemma_names():
                k = lemma.lower()
                if k not in seen:
                    seen.add(k)
                    out.append(lemma)
        return out
    return synonyms


def synonym_substitution(texts, rate, synonyms, stop, rng):
    out_all = []
    for words in texts:
        out = list(words)
        for i, word in enumerate(words):
            if rng.random() >= rate:
                continue
            lead, core, trail = split_punct(word)
            if not core or core.lower() in stop:
                continue
            cands = synonyms(core)
            if not cands:
                continue
            rep = match_case(cands[rng.randrange(len(cands))].replace("_", " "), core)
            out[i] = lead + rep + trail
        out_all.append(out)
    return out_all


def random_mask(texts, rate, rng):
    return [["[MASK]" if rng.random() < rate else w for w in words] for words in texts]


def token_ids(texts):
    vocab = {}
    return [[vocab.setdefault(w, len(vocab)) for w in words] for words in texts]


def random_mask_tokens(seqs, rate, mask_id, rng):
    return [[mask_id if rng.random() < rate else t for t in ids] for ids in seqs]


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()  # CPU time, as Google Benchmark's rates (robust to a busy machine)
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("PTP_SHARED_DIR", str(here.parent.parent / "shared")))
    ap.add_argument("--wordnet", default=os.environ.get("WNSEARCHDIR", "/usr/share/wordnet"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    texts = corpus(args.shared)
    n = len(texts)
    print(f"corpus: {n} texts, {sum(map(len, texts))} words", flush=True)
    stop = stopwords(here.parent)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        wn = wordnet_reader(args.wordnet, tmp)
        wn.synsets("dog")  # NLTK loads lazily: force the index and exception files in
        print(f"wordnet_load {time.perf_counter() - t0:.4f} s")
        rng = random.Random(1)
        t = best_of(args.repeat, lambda: random_mask(texts, 0.15, rng))
        print(f"random_mask {t:.6f} s/pass {n / t:.1f} texts/s")
        seqs = token_ids(texts)
        t = best_of(args.repeat, lambda: random_mask_tokens(seqs, 0.15, 1 << 30, rng))
        print(f"random_mask_tokens {t:.6f} s/pass {n / t:.1f} texts/s")
        synonyms = make_synonyms(wn)
        for rate in (0.1, 1.0):
            synonym_substitution(texts, rate, synonyms, stop, rng)  # warm NLTK's synset cache
            t = best_of(args.repeat, lambda: synonym_substitution(texts, rate, synonyms, stop, rng))
            print(f"synonym_substitution/{int(rate * 100)} {t:.6f} s/pass {n / t:.1f} texts/s")
        memo = functools.lru_cache(maxsize=None)(synonyms)  # the peer of ptp's memoized_candidates
        for rate in (0.1, 1.0):
            synonym_substitution(texts, rate, memo, stop, rng)  # fill the memo, as the C++ row does
            t = best_of(args.repeat, lambda: synonym_substitution(texts, rate, memo, stop, rng))
            print(f"synonym_substitution_memo/{int(rate * 100)} {t:.6f} s/pass {n / t:.1f} texts/s")


if __name__ == "__main__":
    main()
