#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from synthetic examples (no dataset files).

Run from anywhere: python3 fuzz/make_seeds.py. The outputs are committed; rerun after
editing. Each seed is small and valid (or deliberately just-invalid), so that the fuzzer
starts from inputs that reach deep into each parser.
"""
import copy
import json
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
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
    post = copy.deepcopy(post)  # callers edit the result
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
        "copa": [{"premise": "The glass slipped from my hand.", "choice1": "My fingers were wet.", "choice2": "He sang.",
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
        "wsc": [{"text": "Sam told Kim many stories about himself, which Kim put in his diary.",
                 "target": {"span1_index": 0, "span1_text": "Sam", "span2_index": 11, "span2_text": "his"},
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


# ---- bad input catalogue (docs/RELIABILITY.md): one small file per kind of bad input ----------
def catalogue():
    wp = json.dumps(wordpiece_json(), ensure_ascii=False)
    T = "tokenizer_json"
    put(T, "bad_truncated.json", wp[:len(wp) // 2])
    put(T, "bad_invalid_utf8.json", wp.replace('"hello"', '"hel\udcff"').encode("utf-8", "surrogateescape"))
    put(T, "bad_not_json.json", "model: WordPiece\n")
    j = wordpiece_json(); j["model"]["vocab"] = ["[UNK]"]; put(T, "bad_vocab_wrong_type.json", dumps(j))
    j = wordpiece_json(); del j["model"]["unk_token"]; put(T, "bad_missing_unk_token.json", dumps(j))
    j = wordpiece_json(); j["model"]["unk_token"] = "<unk>"; put(T, "bad_unk_not_in_vocab.json", dumps(j))
    j = wordpiece_json(); j["model"]["vocab"]["x"] = -3; put(T, "bad_negative_id.json", dumps(j))
    j = wordpiece_json(); j["model"]["vocab"]["x"] = 5000000; put(T, "bad_id_above_limit.json", dumps(j))
    j = wordpiece_json(); j["model"]["vocab"]["x"] = 2.5; put(T, "bad_fractional_id.json", dumps(j))
    put(T, "bad_duplicate_key.json", wp.replace('"hello": 5', '"hello": 5, "hello": 6'))
    j = wordpiece_json(); j["model"]["type"] = "WordLevel"; put(T, "bad_unsupported_model.json", dumps(j))
    j = wordpiece_json(); j["normalizer"] = {"type": "NFKC"}; put(T, "bad_unsupported_normalizer.json", dumps(j))
    j = wordpiece_json(); j["added_tokens"][0]["id"] = "0"; put(T, "bad_added_id_string.json", dumps(j))
    j = wordpiece_json(); j["post_processor"]["special_tokens"] = {}; put(T, "bad_template_unknown_special.json", dumps(j))
    j = bpe_json(); j["model"]["merges"].append("zz qq"); put(T, "bad_merge_unknown_token.json", dumps(j))
    j = bpe_json(); j["model"]["merges"].append("nospace"); put(T, "bad_merge_one_token.json", dumps(j))
    j = unigram_json(); j["model"]["unk_id"] = 99; put(T, "bad_unk_id_out_of_range.json", dumps(j))
    j = unigram_json(); j["model"]["vocab"][3] = ["[SEP]"]; put(T, "bad_piece_without_score.json", dumps(j))
    j = unigram_json(); j["pre_tokenizer"]["replacement"] = "ab"; put(T, "bad_replacement_two_chars.json", dumps(j))
    put(T, "bad_deep_nesting.json", "[" * 10000)
    put(T, "bad_empty.json", "")
    V = "vocab_files"
    put(V, "bad_vocab_txt_invalid_utf8", b"0[PAD]\n[UNK]\n[CLS]\n[SEP]\nhel\xc3\x28lo\n")
    put(V, "bad_vocab_txt_empty", "0")
    put(V, "bad_vocab_txt_no_cls", "0[UNK]\n[SEP]\nhello\n")
    put(V, "bad_vocab_txt_no_unk", "0[CLS]\n[SEP]\nhello\n")
    merges = "".join(f"{a} {b}\n" for a, b in BPE_MERGES)
    vj = json.dumps(bpe_vocab(), ensure_ascii=False)
    put(V, "bad_merges_three_tokens", "1" + vj + "\0" + merges + "a b c\n")
    put(V, "bad_merges_unknown_token", "1" + vj + "\0" + merges + "\u0120 zzz\n")
    put(V, "bad_vocab_json_truncated", "1" + vj[:100] + "\0" + merges)
    put(V, "bad_vocab_json_array", "1[1, 2]\0" + merges)
    put(V, "bad_vocab_json_string_id", "1" + vj.replace('"<s>": 0', '"<s>": "0"') + "\0" + merges)
    E = "tokenizer_encode"
    put(E, "bad_truncated_utf8", b"\x00\x00caf\xc3")
    put(E, "bad_overlong", b"\x01\x00\xc0\xaf")
    put(E, "bad_surrogate", b"\x02\x00a \xed\xa0\x80 b")
    put(E, "bad_above_max", b"\x03\x00\xf4\x90\x80\x80")
    put(E, "bad_pair_cut_inside_char", b"\x04\x40\xe6\x97\xa5\xe6\x9c\xac")

    # WordNet: the mini database with one thing broken
    base = open(os.path.join(ROOT, "wordnet", "mini_db"), "rb").read().decode().split("\x01")
    def wn(name, idx, text):
        parts = list(base); parts[idx] = text; put("wordnet", name, "\x01".join(parts))
    data_noun = base[0]
    lines = data_noun.split("\n")
    wn("bad_truncated_data_line", 0, "\n".join(lines[:2] + [lines[2][:30]] + lines[3:]))
    wn("bad_offset_mismatch", 0, data_noun.replace("00000100 05 n 03", "00000101 05 n 03", 1))
    wn("bad_w_cnt_not_hex", 0, data_noun.replace("00000100 05 n 03", "00000100 05 n zz", 1))
    wn("bad_lex_filenum_huge", 0, data_noun.replace("00000100 05 n 03", "00000100 99999999999999999999 n 03", 1))
    wn("bad_ss_type", 0, data_noun.replace("00000100 05 n 03", "00000100 05 v 03", 1))
    wn("bad_missing_gloss_bar", 0, data_noun.replace("0000 | a member", "0000 a member", 1))
    wn("bad_index_unknown_offset", 1, base[1].replace("dog n 1 1 @ 1 0 00000100", "dog n 1 1 @ 1 0 00000999"))
    wn("bad_index_upper_case", 1, base[1].replace("dog n 1", "Dog n 1"))
    wn("bad_index_duplicate_lemma", 1, base[1] + "dog n 1 1 @ 1 0 00000100  \n")
    wn("bad_index_extra_fields", 1, base[1].replace("dog n 1 1 @ 1 0 00000100", "dog n 1 1 @ 1 0 00000100 00000239"))
    wn("bad_exc_no_base", 2, "geese\n")
    wn("bad_invalid_utf8_lemma", 0, data_noun.replace("goose 0", "go\udcffse 0"))

    S = "superglue"
    rte = '{"premise": "Dogs bark.", "hypothesis": "Dogs make noise.", "label": "entailment", "idx": 0}'
    put(S, "bad_truncated_line", "5" + rte[:40] + "\n")
    put(S, "bad_invalid_utf8", ("5" + rte.replace("Dogs bark", "Dogs b\udcffrk") + "\n").encode("utf-8", "surrogateescape"))
    put(S, "bad_idx_string", "5" + rte.replace('"idx": 0', '"idx": "0"') + "\n")
    put(S, "bad_missing_premise", "5" + rte.replace('"premise": "Dogs bark.", ', "") + "\n")
    put(S, "bad_idx_huge", "5" + rte.replace('"idx": 0', '"idx": 123456789012345678901234567890') + "\n")
    put(S, "bad_idx_1e400", "5" + rte.replace('"idx": 0', '"idx": 1e400') + "\n")
    put(S, "bad_idx_fraction", "5" + rte.replace('"idx": 0', '"idx": 1.5') + "\n")
    put(S, "bad_duplicate_key", "5" + rte.replace('"idx": 0', '"idx": 0, "idx": 7') + "\n")
    put(S, "bad_unknown_label", "5" + rte.replace('"entailment"', '"maybe"') + "\n")
    put(S, "bad_not_object", "5[1, 2]\n")
    put(S, "bad_empty_file", "5\n \n")
    put(S, "bad_deep_nesting", "5" + "[" * 5000 + "\n")
    put(S, "bad_record_span_outside", "4" + json.dumps(
        {"idx": 0, "passage": {"text": "short", "entities": [{"start": 2, "end": 40}]},
         "qas": [{"query": "@placeholder", "idx": 0}]}) + "\n")
    put(S, "bad_record_span_reversed", "4" + json.dumps(
        {"idx": 0, "passage": {"text": "short", "entities": [{"start": 3, "end": 1}]},
         "qas": [{"query": "@placeholder", "idx": 0}]}) + "\n")
    put(S, "bad_record_no_placeholder", "4" + json.dumps(
        {"idx": 0, "passage": {"text": "short", "entities": []}, "qas": [{"query": "no slot", "idx": 0}]}) + "\n")
    put(S, "bad_wsc_index_outside", "7" + json.dumps(
        {"text": "It fell.", "target": {"span1_index": 0, "span1_text": "It", "span2_index": 9, "span2_text": "x"},
         "idx": 0}) + "\n")
    put(S, "bad_multirc_label_2", "3" + json.dumps({"idx": 0, "passage": {"text": "t", "questions": [
        {"question": "q", "idx": 0, "answers": [{"text": "a", "idx": 0, "label": 2}]}]}}) + "\n")
    put(S, "bad_copa_question", "2" + json.dumps({"premise": "p", "choice1": "a", "choice2": "b", "question": "why",
                                                  "idx": 0}) + "\n")

    W = "sweep_results"
    ok = json.dumps({"task": "RTE", "method": "m", "seed": 1, "metrics": {"accuracy": 0.5}, "wall_seconds": 1})
    put(W, "bad_malformed_complete_line", ok + "\n" + ok[:30] + "\n")
    put(W, "bad_negative_seed", ok.replace('"seed": 1', '"seed": -1') + "\n")
    put(W, "bad_metric_string", ok.replace("0.5", '"0.5"') + "\n")
    put(W, "bad_metric_1e400", ok.replace("0.5", "1e400") + "\n")
    put(W, "bad_missing_metrics", ok.replace(', "metrics": {"accuracy": 0.5}', "") + "\n")
    put(W, "bad_config_not_object", ok.replace('"seed": 1', '"seed": 1, "config": [1]') + "\n")
    put(W, "bad_invalid_utf8", (ok.replace('"m"', '"\udcff"') + "\n").encode("utf-8", "surrogateescape"))

    H = "hf_config"
    put(H, "bad_not_object.json", "[1]")
    put(H, "bad_truncated.json", '{"model_type": "bert", "hidden_size": 7')
    put(H, "bad_model_type.json", '{"model_type": "gpt2"}')
    put(H, "bad_hidden_size_string.json", '{"model_type": "bert", "hidden_size": "768"}')
    put(H, "bad_heads_not_divisor.json", '{"model_type": "bert", "hidden_size": 100, "num_attention_heads": 12}')
    put(H, "bad_pad_outside_vocab.json", '{"model_type": "bert", "vocab_size": 10, "pad_token_id": 10}')
    put(H, "bad_dropout.json", '{"model_type": "bert", "hidden_dropout_prob": 1.0}')
    put(H, "bad_activation.json", '{"model_type": "bert", "hidden_act": "mish"}')
    put(H, "bad_decoder.json", '{"model_type": "bert", "is_decoder": true}')

    X = "safetensors"
    good = st_file([("a", "F32", [2], struct.pack("<2f", 1, 2))])
    def st_raw(header, blob=b""):
        text = header.encode() if isinstance(header, str) else header
        return struct.pack("<Q", len(text)) + text + blob
    put(X, "bad_shorter_than_8", b"\x10\x00\x00")
    put(X, "bad_header_past_end", struct.pack("<Q", 1000) + b"{}")
    put(X, "bad_header_huge", struct.pack("<Q", 1 << 40) + b"{}")
    put(X, "bad_header_not_json", st_raw("{not json"))
    put(X, "bad_header_not_object", st_raw("[1, 2]"))
    put(X, "bad_duplicate_name", st_raw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                                        '"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8))
    put(X, "bad_dtype", st_raw('{"a": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}', b"\0"))
    put(X, "bad_negative_shape", st_raw('{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', b"\0" * 4))
    put(X, "bad_shape_overflow", st_raw('{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}', b"\0" * 4))
    put(X, "bad_offsets_reversed", st_raw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}', b"\0" * 4))
    put(X, "bad_offsets_outside", st_raw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\0" * 2))
    put(X, "bad_size_mismatch", st_raw('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', b"\0" * 4))
    put(X, "bad_overlap", st_raw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                                 '"b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\0" * 4))
    put(X, "bad_hole", st_raw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8))
    put(X, "bad_trailing_bytes", good + b"junk")
    put(X, "bad_metadata_value", st_raw('{"__metadata__": {"k": 1}}'))
    put(X, "bad_offsets_one_number", st_raw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}', b"\0" * 4))


if __name__ == "__main__":
    import sys
    targets = sys.argv[1:] or ["tokenizers", "wordnet", "superglue", "sweep_results", "hf_config", "safetensors",
                               "catalogue"]
    for t in targets:
        globals()[t]()
