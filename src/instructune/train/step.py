"""One optimizer step's forward/backward over a gradient-accumulation window.

The loss of the window is  Σ_micro Σ_tokens nll / N,  where N counts the trained tokens of
the *whole* window on *all* processes. Each micro-batch backpropagates its own summed NLL
divided by N, so the accumulated gradient equals the gradient of that mean, however the
window is split into micro-batches or processes (DESIGN §3).
"""

from __future__ import annotations

import contextlib

import torch

from instructune.data.render import IGNORE


def trained_token_count(micro: list[dict[str, torch.Tensor]]) -> int:
    """Trained (shifted) label positions over a list of micro-batches."""
    return sum(int((mb["labels"][:, 1:] != IGNORE).sum()) for mb in micro)


def backward_window(loss_module, micro: list[dict[str, torch.Tensor]], accelerator) -> tuple[float, int]:
    """Forward + backward every micro-batch of one window; gradients are left in `.grad`.

    Args:
        loss_module: a module returning {"nll_sum", "n_tokens"} (e.g. `ResponseNLL`), prepared
            by `accelerator`.
        micro: this process's micro-batches (input_ids (B, T), labels (B, T), optional
            position_ids (B, T) for packed rows).
        accelerator: the `accelerate.Accelerator`.
    Returns:
        (window mean loss over all processes, trained tokens over all processes)
    """
    device = accelerator.device
    world = accelerator.num_processes
    n_local = torch.tensor(trained_token_count(micro), device=device)
    n_global = accelerator.reduce(n_local, "sum").clamp(min=1)
    nll_total = torch.zeros((), device=device)
    for i, mb in enumerate(micro):
        # Only the last micro-batch all-reduces gradients across processes.
        sync = i == len(micro) - 1
        with contextlib.nullcontext() if sync else accelerator.no_sync(loss_module):
            # position_ids only for packed / padding-free rows (see data/pack.py); never the attention_mask.
            extra = {"position_ids": mb["position_ids"].to(device)} if "position_ids" in mb else {}
            out = loss_module(input_ids=mb["input_ids"].to(device), labels=mb["labels"].to(device), **extra)
            # DDP averages gradients over processes; scaling by world turns that into the global mean.
            accelerator.backward(out["nll_sum"] * world / n_global)
        nll_total += out["nll_sum"].detach()
    loss = (accelerator.reduce(nll_total, "sum") / n_global).item()
    return loss, int(n_global)
