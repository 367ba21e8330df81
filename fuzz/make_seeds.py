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


# ---- WordNet ------------------------------------------------------------------------------
LICENSE = "  1 This software and database is being provided to you, the LICENSEE, by\n  2 Princeton University.\n"


def wn_data(entries, verb=False):
    """entries: (lex_filenum, ss_type, [(word, lex_id)], [(ptr, target_index, pos, st)], frames, gloss).
    Offsets are byte offsets of each line, as in WordNet; pointers name entries by index."""
    # two passes: offsets depend on line lengths, which depend on offsets (fixed 8-digit width)
    offsets = [0] * len(entries)
    for _ in range(2):
        out = LICENSE
        for i, (lex, ss, words, ptrs, frames, gloss) in enumerate(entries):
            offsets[i] = len(out.encode())
            line = f"{offsets[i]:08d} {lex:02d} {ss} {len(words):02x} "
            line += "".join(f"{w} {lid:x} " for w, lid in words)
            line += f"{len(ptrs):03d} " + "".join(f"{p} {offsets[t]:08d} {ps} {st} " for p, t, ps, st in ptrs)
            if verb:
                line += f"{len(frames):02d} " + "".join(f"+ {f:02d} {w:02x} " for f, w in frames)
            line += f"| {gloss}  \n"
            out += line
    return out, offsets


def wn_index(lemmas, offsets, letter):
    out = LICENSE
    for lemma, idx in sorted(lemmas.items()):
        out += f"{lemma} {letter} {len(idx)} 1 @ {len(idx)} 0 " + " ".join(f"{offsets[i]:08d}" for i in idx) + "  \n"
    return out


def wordnet():
    noun, no = wn_data([(5, "n", [("dog", 0), ("domestic_dog", 0), ("Canis_familiaris", 0)], [("@", 1, "n", "0000")], [],
                         'a member of the genus Canis; "the dog barked all night"'),
                        (5, "n", [("canine", 0), ("canid", 0)], [("~", 0, "n", "0000")], [], "a carnivore"),
                        (6, "n", [("goose", 0)], [], [], 'web-footed bird; "a goose honked"; "geese fly"'),
                        (6, "n", [("box", 0), ("boxful", 0)], [], [], "a container")])
    verb, vo = wn_data([(29, "v", [("run", 0), ("go", 1)], [("@", 0, "v", "0102")], [(1, 0), (2, 1)],
                         'move fast; "Don\'t run!"'),
                        (29, "v", [("breathe", 0), ("respire", 0)], [], [(2, 0)], "draw air")], verb=True)
    adj, ao = wn_data([(0, "a", [("good", 0)], [("!", 1, "a", "0101")], [], "having desirable qualities"),
                       (0, "s", [("well(p)", 0)], [("&", 0, "a", "0000")], [], "in good health")])
    adv, ro = wn_data([(2, "r", [("well", 0), ("good", 0)], [], [], 'in a good manner; "she sings well"')])
    files = [noun, wn_index({"dog": [0], "domestic_dog": [0], "canis_familiaris": [0], "canine": [1], "canid": [1],
                             "goose": [2], "box": [3], "boxful": [3]}, no, "n"), "geese goose\nmice mouse\nmen man\n",
             verb, wn_index({"run": [0], "go": [0], "breathe": [1], "respire": [1]}, vo, "v"),
             "ran run\nwent go\n",
             adj, wn_index({"good": [0], "well": [1]}, ao, "a"), "better good well\nbest good\n",
             adv, wn_index({"well": [0], "good": [0]}, ro, "r"), "better well\n"]
    put("wordnet", "mini_db", "\x01".join(files))
    put("wordnet", "nouns_only", "\x01".join(files[:3]))
    put("wordnet", "crlf_exc", "\x01".join(files[:2] + ["geese goose\r\n"]))


# ---- SuperGLUE jsonl (synthetic examples; first byte = task index in ptp::data::all_tasks) ----
TASKS = ["boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc"]


def jl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def superglue():
    ex = {
        "boolq": [{"question": "is the sky blue", "passage": "The sky is blue.", "idx": 0, "label": True},
                  {"question": "is water dry", "passage": "Water is wet.", "idx": 1}],
        "cb": [{"premise": "It rained.", "hypothesis": "The ground is wet.", "label": "entailment", "idx": 0},
               {"premise": "A", "hypothesis": "B", "label": "neutral", "idx": 1}],
        "copa": [{"premise": "The man broke his toe.", "choice1": "He dropped a hammer.", "choice2": "He sang.",
                  "question": "cause", "idx": 0, "label": 0},
                 {"premise": "It was cold.", "choice1": "I wore a coat.", "choice2": "I swam.", "question": "effect",
                  "idx": 1}],
        "multirc": [{"idx": 0, "version": 1.1, "passage": {"text": "Sent 1: Bob runs. Sent 2: Ann walks.", "questions": [
            {"question": "Who runs?", "idx": 0, "answers": [{"text": "Bob", "idx": 0, "label": 1},
                                                            {"text": "Ann", "idx": 1, "label": 0}]}]}}],
        "record": [{"idx": 0, "source": "Daily", "passage": {"text": "Café Zoë met Bob.\n@highlight\nZoë won",
                                                             "entities": [{"start": 0, "end": 7}, {"start": 13, "end": 15},
                                                                          {"start": 27, "end": 29}]},
                    "qas": [{"query": "@placeholder met Bob", "idx": 0,
                             "answers": [{"start": 0, "end": 7, "text": "Café Zoë"}]}]}],
        "rte": [{"premise": "Dogs bark.", "hypothesis": "Dogs make noise.", "label": "entailment", "idx": 0},
                {"premise": "Cats fly.", "hypothesis": "Cats swim.", "label": "not_entailment", "idx": 1}],
        "wic": [{"word": "bank", "sentence1": "The bank was closed.", "sentence2": "The river bank.", "idx": 0,
                 "label": False, "start1": 4, "end1": 8, "start2": 10, "end2": 14}],
        "wsc": [{"text": "Mark told Pete many lies about himself, which Pete included in his book.",
                 "target": {"span1_index": 0, "span1_text": "Mark", "span2_index": 11, "span2_text": "his"},
                 "idx": 0, "label": True},
                {"text": "The trophy doesn't fit because it is too big.",
                 "target": {"span1_index": 0, "span1_text": "The trophy", "span2_index": 5, "span2_text": "it"},
                 "idx": 1}],
    }
    for i, t in enumerate(TASKS):
        put("superglue", t, str(i) + jl(ex[t]))
    put("superglue", "rte_crlf_blank", "5" + jl(ex["rte"]).replace("\n", "\r\n") + "  \n\n")


# ---- sweep results ---------------------------------------------------------------------------
def sweep_results():
    r1 = {"key": "RTE/ptp-adv/seed=1/{\"lr\":0.005}", "task": "RTE", "method": "ptp-adv", "seed": 1,
          "config": {"lr": 0.005}, "metrics": {"accuracy": 0.866}, "wall_seconds": 12.5,
          "finished_at": "2024-01-01T00:00:00Z"}
    r2 = {"task": "CB", "method": "pt2", "seed": 2, "metrics": {"accuracy": 0.9, "f1": 0.85}, "wall_seconds": 3}
    put("sweep_results", "two_runs", jl([r1, r2]))
    put("sweep_results", "torn_tail", jl([r1]) + json.dumps(r2)[:40])
    put("sweep_results", "duplicate_and_blank", jl([r1]) + "\n   \n" + jl([r1, r2]))


# ---- config.json -----------------------------------------------------------------------------
def hf_config():
    bert = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 30522, "hidden_size": 384,
            "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
            "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute"}
    roberta = dict(bert, model_type="roberta", vocab_size=50265, pad_token_id=1, max_position_embeddings=514,
                   type_vocab_size=1, layer_norm_eps=1e-5)
    albert = {"model_type": "albert", "vocab_size": 30000, "embedding_size": 128, "hidden_size": 768,
              "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
              "num_hidden_groups": 1, "inner_group_num": 1, "hidden_act": "gelu_new"}
    put("hf_config", "bert.json", dumps(bert))
    put("hf_config", "roberta.json", dumps(roberta))
    put("hf_config", "albert.json", dumps(albert))
    put("hf_config", "minimal.json", '{"model_type": "bert", "is_decoder": false}')


# ---- safetensors ------------------------------------------------------------------------------
def st_file(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape, raw bytes)] laid out in order."""
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def safetensors():
    f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put("safetensors", "two_tensors", st_file([("a.weight", "F32", [2, 3], f32), ("b.bias", "I64", [2], struct.pack("<2q", 7, -1))],
                                              {"format": "pt"}))
    put("safetensors", "all_dtypes", st_file([("d", "F64", [1], struct.pack("<d", 1.5)), ("h", "F16", [2], b"\0<\0<"),
                                              ("bf", "BF16", [1, 1], b"\x80?"), ("i", "I32", [], struct.pack("<i", 3)),
                                              ("z", "F32", [0, 4], b"")]))
    put("safetensors", "empty_header", st_file([], pad=False))


if __name__ == "__main__":
    import sys
    targets = sys.argv[1:] or ["tokenizers"]
    for t in targets:
        globals()[t]()
