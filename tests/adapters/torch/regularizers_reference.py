#!/usr/bin/env python3
"""PyTorch peers of ptp's embedding-space regularizers, written from the upstream code's
formulas (not from ptp's), for the C++ parity test.

Usage: regularizers_reference.py <dir>. test_torch_parity writes the inputs to <dir> (raw float64/int64
little-endian files, shapes in params.txt) and reads back, per case, the final δ, the loss
and the prompt gradient computed here with plain autograd:

  pgd      δ0 = 0 (first ascent at the clean gradient) or a random start, U(−ε, ε) for L∞
           (docs/algorithms.md §3; torchattacks PGD.forward: delta.uniform_(-eps, eps)); K steps
           δ ← Π_ε(δ + α·g/‖g‖) (L2, per example) or α·sign(g) (L∞); L = L(e) + λ·L(e + δ_K)
  freelb   K passes at δ0..δ(K−1) each adding (λ/K)·∇θ L(e + δ_k), δ updated between passes
           with g/‖g‖₂ (L2) or g/‖g‖∞ and a clamp (L∞); as in FreeLB's run_glue_freelb.py
  fgm      δ = ε·g/‖g‖ (L2) or ε·sign(g) (L∞) at the clean gradient
  gaussian δ = z·mask·σ·rms_b (σ relative to the example's embedding RMS)
  neftune  Hugging Face's own hook (transformers.integrations.neftune) on the same torch seed
  smart    mt-dnn SmartPerturbation.forward (perturbation.py): δ0 ~ N(0, σ²); K steps
           g = ∇δ stable_kl(f(e+δ), f(e).detach(), reduce=False) (loss.py: summed over the
           batch), δ ← (δ + η g) / (max|δ + η g| per token + 1e-6); the final term is
           SymKlCriterion(f(e), f(e+δ)) (loss.py: each kl_div's target detached, batchmean):
           L = CE(e) + λ·SymKl
  r3f      fairseq sentence_prediction_r3f.py: noise U(−ε, ε) on the embeddings;
           L = CE(e) + λ·_get_symm_kl(f(e+δ), f(e)) with no detach, batchmean

Gradients of δ are masked by the perturbation mask (ptp's convention; FreeLB/mt-dnn get the
same numbers because the model ignores masked positions except special tokens, which ptp
leaves unperturbed by design).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
D = sys.argv[1]


def read_params():
    p = {}
    with open(os.path.join(D, "params.txt")) as f:
        for line in f:
            line = line.strip()
            if line:
                k, v = line.split("=", 1)
                p[k] = v
    return p


P = read_params()


def load(name, dtype=np.float64):
    shape = [int(s) for s in P["shape." + name].split(",")]
    a = np.fromfile(os.path.join(D, name + ".bin"), dtype=dtype).reshape(shape)
    return torch.from_numpy(a.copy())


def save(name, t):
    t.detach().contiguous().numpy().astype(np.float64).tofile(os.path.join(D, name + ".bin"))


def fnum(k):
    return float(P[k])


e = load("e")
att = load("attention_mask")
pm = load("perturb_mask")
y = load("labels", np.int64)
theta0 = load("theta")
W1, b1, W2, b2 = load("W1"), load("b1"), load("W2"), load("b2")
B, L, d = e.shape


def model(theta, x):
    """Soft prompt joined in front, per-token tanh layer, masked mean pool, linear head."""
    xj = torch.cat([theta.unsqueeze(0).expand(B, -1, -1), x], 1)
    m = torch.cat([torch.ones(B, theta.shape[0]), att], 1)
    h = torch.tanh(xj @ W1 + b1)
    pooled = (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True)
    return pooled @ W2 + b2


def ce(theta, x):
    return F.cross_entropy(model(theta, x), y)


def sym_kl(zp, zq):
    lp, lq = F.log_softmax(zp, 1), F.log_softmax(zq, 1)
    return ((lp.exp() - lq.exp()) * (lp - lq)).sum(1).mean()


def masked(g):
    return g * pm.unsqueeze(-1)


def norm_ex(t):
    return t.reshape(B, -1).norm(dim=1).view(B, 1, 1)


def project(delta, eps, norm):
    if eps <= 0:
        return delta
    if norm == "linf":
        return delta.clamp(-eps, eps)
    n = norm_ex(delta)
    return delta * torch.where(n > eps, eps / n, torch.ones_like(n))


def grad_e(theta, x, w):
    """Loss at x, masked ∇x, and w·∇θ accumulated into theta.grad."""
    x = x.detach().requires_grad_(True)
    loss = ce(theta, x)
    gx, gt = torch.autograd.grad(loss, [x, theta])
    if w != 0:
        theta.grad = (theta.grad if theta.grad is not None else torch.zeros_like(theta)) + w * gt
    return loss.item(), masked(gx)


def fresh_theta():
    t = theta0.clone().requires_grad_(True)
    t.grad = torch.zeros_like(t)
    return t


def clean_plus(theta, delta, lam, clean_loss):
    loss_p, _ = grad_e(theta, e + delta, lam)
    return clean_loss + lam * loss_p


def finish(case, delta, loss, theta):
    save("py_" + case + "_delta", delta)
    save("py_" + case + "_grad", theta.grad)
    with open(os.path.join(D, "py_" + case + "_loss.txt"), "w") as f:
        f.write(repr(float(loss)))


def pgd(case):
    K, alpha, eps, lam = int(P[case + ".steps"]), fnum(case + ".step_size"), fnum(case + ".epsilon"), fnum(case + ".lambda")
    norm, init = P[case + ".norm"], P[case + ".init"]
    theta = fresh_theta()
    clean, g0 = grad_e(theta, e, 1.0)
    if init == "zero":
        delta = torch.zeros_like(e)
    else:
        u = load(case + ".noise")  # U(−1, 1)
        if norm == "linf":  # torchattacks: uniform_(-eps, eps)
            delta = masked(u) * eps
        else:  # FreeLB's L2 start
            delta = masked(u) * (fnum(case + ".init_magnitude") / torch.sqrt(pm.sum(1) * d)).view(B, 1, 1)
        delta = project(delta, eps, norm)
    for k in range(K):
        g = g0 if (k == 0 and init == "zero") else grad_e(theta, e + delta, 0.0)[1]
        step = g / norm_ex(g).clamp_min(1e-12) if norm == "l2" else g.sign()
        delta = project(delta + alpha * step, eps, norm)
    finish(case, delta, clean_plus(theta, delta, lam, clean), theta)


def freelb(case):
    K, alpha, eps = int(P[case + ".steps"]), fnum(case + ".step_size"), fnum(case + ".epsilon")
    mag, norm, lam, cw = fnum(case + ".init_magnitude"), P[case + ".norm"], fnum(case + ".lambda"), fnum(case + ".clean_weight")
    theta = fresh_theta()
    clean = 0.0
    if cw > 0:
        clean, _ = grad_e(theta, e, cw)
    u = load(case + ".noise")
    if norm == "l2":  # run_glue_freelb.py: U(−1,1)·mask·init/√(L·d), L the real length
        lengths = pm.sum(1)
        delta = masked(u) * (mag / torch.sqrt(lengths * d)).view(B, 1, 1)
    else:
        delta = masked(u)  # U(−init, init)
    delta = project(delta, eps, norm)
    total = 0.0
    for k in range(K):
        loss, g = grad_e(theta, e + delta, lam / K)
        total += loss / K
        if k + 1 == K:
            break
        if norm == "l2":
            delta = project(delta + alpha * g / norm_ex(g).clamp_min(1e-12), eps, norm)
        else:
            gmax = g.reshape(B, -1).abs().max(1)[0].view(B, 1, 1).clamp_min(1e-12)
            delta = project(delta + alpha * g / gmax, eps, norm)
    finish(case, delta, cw * clean + lam * total, theta)


def fgm(case):
    eps, norm, lam = fnum(case + ".epsilon"), P[case + ".norm"], fnum(case + ".lambda")
    theta = fresh_theta()
    clean, g = grad_e(theta, e, 1.0)
    delta = eps * g / norm_ex(g).clamp_min(1e-12) if norm == "l2" else eps * g.sign()
    finish(case, delta, clean_plus(theta, delta, lam, clean), theta)


def gaussian(case):
    sigma, lam = fnum(case + ".sigma"), fnum(case + ".lambda")
    theta = fresh_theta()
    clean, _ = grad_e(theta, e, 1.0)
    lengths = pm.sum(1)
    rms = norm_ex(masked(e)).view(B) / torch.sqrt(lengths * d)
    delta = masked(load(case + ".noise")) * (sigma * rms).view(B, 1, 1)
    finish(case, delta, clean_plus(theta, delta, lam, clean), theta)


def neftune(case):
    from transformers.integrations.neftune import neftune_post_forward_hook

    alpha, lam, seed = fnum(case + ".alpha"), fnum(case + ".lambda"), int(P[case + ".torch_seed"])
    emb = torch.nn.Embedding(1, 1)  # the module the hook hangs on; only its flags matter
    emb.neftune_noise_alpha = alpha
    emb.train()
    theta = fresh_theta()
    clean, _ = grad_e(theta, e, 1.0)
    torch.manual_seed(seed)
    delta = neftune_post_forward_hook(emb, None, e) - e
    finish(case, delta, clean_plus(theta, delta, lam, clean), theta)
    # the same draw on the padded batch (HF scales by the padded length L)
    ep = load(case + ".padded_e")
    torch.manual_seed(seed)
    save("py_" + case + "_padded_delta", neftune_post_forward_hook(emb, None, ep) - ep)


def stable_kl_sum(logit, target, eps=1e-6):
    """mt-dnn loss.py stable_kl(..., reduce=False), restated: 2 Σ p (r(p) − r(y)), r detached."""
    p = F.softmax(logit, 1)
    y = F.softmax(target, 1)
    rp = -(1.0 / (p + eps) - 1 + eps).detach().log()
    ry = -(1.0 / (y + eps) - 1 + eps).detach().log()
    return (p * (rp - ry) * 2).sum()


def sym_kl_criterion(inp, target):
    """mt-dnn loss.py SymKlCriterion: each direction's target is detached (batchmean)."""
    return (F.kl_div(F.log_softmax(inp, 1), F.softmax(target.detach(), 1), reduction="batchmean")
            + F.kl_div(F.log_softmax(target, 1), F.softmax(inp.detach(), 1), reduction="batchmean"))


def smart(case):
    K, eta, lam, floor = int(P[case + ".steps"]), fnum(case + ".step_size"), fnum(case + ".lambda"), fnum(case + ".floor")
    theta = fresh_theta()
    delta = masked(load(case + ".noise"))  # N(0, σ²); ptp masks δ0 (mt-dnn does not; masked rows are ignored)
    with torch.no_grad():
        zc = model(theta, e)
    for _ in range(K):
        dl = delta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(stable_kl_sum(model(theta, e + dl), zc), [dl])
        delta = delta + eta * masked(g)
        delta = delta / (delta.abs().amax(-1, keepdim=True) + floor)
        delta = masked(delta)
    z_clean = model(theta, e)
    z_pert = model(theta, e + delta)
    loss = F.cross_entropy(z_clean, y) + lam * sym_kl_criterion(z_clean, z_pert)
    (gt,) = torch.autograd.grad(loss, [theta])
    theta.grad = theta.grad + gt
    finish(case, delta, loss.item(), theta)


def r3f(case):
    lam = fnum(case + ".lambda")
    theta = fresh_theta()
    delta = masked(load(case + ".noise"))  # U(−ε, ε), masked (ptp's choice; fairseq noises every position)
    z_clean = model(theta, e)
    z_pert = model(theta, e + delta)
    lp, lq = F.log_softmax(z_pert, 1), F.log_softmax(z_clean, 1)
    # fairseq _get_symm_kl(noised_logits, input_logits): kl_div both ways, sum, / batch size
    symm = (F.kl_div(lp, lq.exp(), reduction="sum") + F.kl_div(lq, lp.exp(), reduction="sum")) / B
    loss = F.cross_entropy(z_clean, y) + lam * symm
    (gt,) = torch.autograd.grad(loss, [theta])
    theta.grad = theta.grad + gt
    finish(case, delta, loss.item(), theta)


for case in P["cases"].split(","):
    globals()[P[case + ".kind"]](case)
print("regularizers_reference.py: wrote", P["cases"])
