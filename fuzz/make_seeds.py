#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from synthetic examples (no dataset files).

Run from anywhere: python3 fuzz/make_seeds.py. The outputs are committed; rerun after
editing. Each seed is small and valid (or deliberately just-invalid), so that the fuzzer
starts from inputs that reach deep into each parser.
"""
import json
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, indent=1)


# ---- tokenizers -------------------------------------------------------------------------
WP_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", ",", "!", "caf", "##é", "日", "x"]
BERT_POST = {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                      {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
             "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}}


def added(names, first=0):
    return [{"id": first + i, "content": n, "single_word": False, "lstrip": n.endswith("MASK]") or n == "<mask>",
             "rstrip": False, "normalized": False, "special": True} for i, n in enumerate(names)]


def wordpiece_json(post=BERT_POST, normalizer=True):
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": added(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]),
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": None, "lowercase": True} if normalizer else None,
            "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": post, "decoder": None,
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(WP_VOCAB)}}}


def byte_chars():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
BPE_MERGES = [("Ġ", "h"), ("Ġh", "e"), ("l", "l"), ("Ġhe", "ll"), ("Ġhell", "o"), ("o", "r"), ("w", "or")]


def bpe_vocab():
    toks = BPE_SPECIALS + byte_chars() + [a + b for a, b in BPE_MERGES]
    return {t: i for i, t in enumerate(dict.fromkeys(toks))}


def bpe_json(merges_as_pairs=False):
    return {"version": "1.0", "added_tokens": added(BPE_SPECIALS), "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                               "trim_offsets": True, "add_prefix_space": False},
            "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "vocab": bpe_vocab(),
                      "merges": [[a, b] for a, b in BPE_MERGES] if merges_as_pairs else [f"{a} {b}" for a, b in BPE_MERGES]}}


def unigram_json(prepend="always"):
    return {"version": "1.0", "added_tokens": added(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]), "normalizer": None,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": prepend, "split": True},
            "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
            "model": {"type": "Unigram", "unk_id": 1, "byte_fallback": False,
                      "vocab": [["<pad>", 0.0], ["<unk>", 0.0], ["[CLS]", 0.0], ["[SEP]", 0.0], ["[MASK]", 0.0],
                                ["▁", -2.0], ["▁hello", -5.5], ["▁world", -6.25], ["h", -4], ["e", -3], ["l", -3],
                                ["o", -3], ["ll", -4.5], ["é", -7.0], ["日", -8.0]]}}


def tokenizers():
    put("tokenizer_json", "wordpiece.json", dumps(wordpiece_json()))
    put("tokenizer_json", "wordpiece_bert_processing.json",
        dumps(wordpiece_json({"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}, False)))
    put("tokenizer_json", "bpe.json", dumps(bpe_json()))
    put("tokenizer_json", "bpe_pairs.json", dumps(bpe_json(True)))
    put("tokenizer_json", "unigram.json", dumps(unigram_json()))
    put("tokenizer_json", "unigram_first.json", dumps(unigram_json("first")))
    put("tokenizer_json", "sequence_processor.json",
        dumps(dict(bpe_json(), post_processor={"type": "Sequence", "processors": [
            {"type": "ByteLevel", "trim_offsets": False}, {"type": "RobertaProcessing", "sep": ["</s>", 2],
                                                            "cls": ["<s>", 0]}]})))
    # vocab_files: even first byte = vocab.txt, odd = vocab.json NUL merges.txt
    put("vocab_files", "vocab_txt", "0" + "\n".join(WP_VOCAB) + "\n")
    put("vocab_files", "vocab_txt_crlf", "0" + "\r\n".join(WP_VOCAB + ["trailing \t"]))
    merges = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in BPE_MERGES)
    put("vocab_files", "bpe_files", "1" + json.dumps(bpe_vocab(), ensure_ascii=False) + "\0" + merges)
    # tokenizer_encode: byte 0 flags, byte 1 arg, then text
    texts = ["Hello, world! hellos running", "café naïve 日本語 <mask> [MASK] ▁x 🙂", "a\u00a0b\u3000c\td\ne",
             "\u0301\u200d\ufeff x\ufffd"]
    for i, t in enumerate(texts):
        for kind in range(4):
            put("tokenizer_encode", f"text{i}_{kind}", bytes([kind | 4 * (i % 2) | 16, 0x87]) + t.encode())
    put("tokenizer_encode", "invalid_utf8", b"\x00\x00hello \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf")


if __name__ == "__main__":
    import sys
    targets = sys.argv[1:] or ["tokenizers"]
    for t in targets:
        globals()[t]()
