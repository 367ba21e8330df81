"""What the Python peers (py_train_step.py, py_fewglue.py) share: the per-example L2 ascent step
of PGD and FreeLB, written from the references' semantics (docs/algorithms.md §3)."""
import torch


def l2_ascent(delta, g, alpha, eps):
    """delta + alpha * g / ||g|| per example, then projected onto the L2 ball of radius eps (0: none)."""
    n = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    delta = delta + alpha * g / n
    if eps > 0:
        dn = delta.flatten(1).norm(dim=1).view(-1, 1, 1)
        delta = delta * torch.where(dn > eps, eps / dn, torch.ones_like(dn))
    return delta
