#!/usr/bin/env python3
"""Hugging Face `tokenizers` throughput on the texts bench_tokenizers uses.

usage: hf_tokenizers_bench.py DATA_DIR [--threads N]   (DATA_DIR: the folder hf_reference.py
                                             wrote; bench_tokenizers' build step creates it)
Reports texts/s for encode() one text at a time and for encode_batch() of all texts, no
truncation/padding, best of 5 repetitions of >= 1 s each. --threads N (default 1) is the
size of the Rust thread pool encode_batch parallelises over (RAYON_NUM_THREADS); encode()
one text at a time stays on the calling thread whatever N is.
"""
import os
import sys

THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
# before importing tokenizers: it reads these once
os.environ["TOKENIZERS_PARALLELISM"] = "true" if THREADS > 1 else "false"
os.environ["RAYON_NUM_THREADS"] = str(THREADS)
os.environ["RAYON_RS_NUM_CPUS"] = str(THREADS)

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from tokenizers import Tokenizer  # noqa: E402


def best_rate(fn, n_texts, repeats=5, min_time=1.0):
    best = 0.0
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while True:
            fn()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = max(best, count * n_texts / elapsed)
    return best


def main():
    data = Path(sys.argv[1])
    corpus = json.loads((data / "corpus.json").read_text())
    texts = corpus["texts"][: corpus["fewglue_texts"]]
    minilm = Path((data / "minilm.txt").read_text().strip())
    tokenizers = {
        "wordpiece_minilm": Tokenizer.from_file(str(minilm / "tokenizer.json")),
        "bpe_bytelevel": Tokenizer.from_file(str(data / "bpe" / "tokenizer.json")),
        "unigram": Tokenizer.from_file(str(data / "unigram" / "tokenizer.json")),
    }
    print(f"{len(texts)} FewGLUE texts, {sum(len(t.encode()) for t in texts)} bytes; tokenizers, {THREADS} thread(s)")
    for name, tok in tokenizers.items():
        tok.no_truncation()
        tok.no_padding()
        one = best_rate(lambda: [tok.encode(t) for t in texts], len(texts))
        batch = best_rate(lambda: tok.encode_batch(texts), len(texts))
        print(f"{name:18s} encode: {one:10.0f} texts/s   encode_batch: {batch:10.0f} texts/s")


if __name__ == "__main__":
    main()
