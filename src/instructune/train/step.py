"""One optimizer step's forward/backward over a gradient-accumulation window.

The loss of the window is  Σ_micro Σ_tokens nll / N,  where N counts the trained tokens of
the *whole* window on *all* processes. Each micro-batch backpropagates its own summed NLL
divided by N, so the accumulated gradient equals the gradient of that mean, however the
window is split into micro-batches or processes (DESIGN §3).

Nothing here waits for the device: token counts come from collation (host ints; with several
processes one all-reduce of a tensor), the micro-batches were pinned by the prefetch thread
and are copied without blocking, and the window's loss stays a device tensor until the loop
logs it.
"""

from __future__ import annotations

import contextlib

import torch

from instructune.data.collate import to_device
from instructune.data.render import IGNORE


def trained_token_count(micro: list[dict[str, torch.Tensor]]) -> int:
    """Trained (shifted) label positions over a list of micro-batches (a host count)."""
    return sum(len(mb["target_index"]) if "target_index" in mb else int((mb["labels"][:, 1:] != IGNORE).sum())
               for mb in micro)


def global_token_count(n_local: int, accelerator) -> int | torch.Tensor:
    """Trained tokens of the window over all processes, at least 1: the host int itself with one
    process, else a () device tensor from one all-reduce (no host sync)."""
    if accelerator.num_processes == 1:
        return max(n_local, 1)
    t = torch.tensor([n_local])
    if accelerator.device.type == "cuda":
        t = t.pin_memory()
    return accelerator.reduce(t.to(accelerator.device, non_blocking=True), "sum").clamp(min=1)[0]


def backward_window(loss_module, micro: list[dict[str, torch.Tensor]], accelerator
                    ) -> tuple[torch.Tensor, int | torch.Tensor]:
    """Forward + backward every micro-batch of one window; gradients are left in `.grad`.

    Args:
        loss_module: a module returning {"nll_sum", "n_tokens"} (e.g. `ResponseNLL`), prepared
            by `accelerator`.
        micro: this process's micro-batches as collated (input_ids (B, T), labels (B, T),
            target_index / target_ids (N,), optional position_ids (B, T) and cu_seqlens for
            packed rows).
        accelerator: the `accelerate.Accelerator`.
    Returns:
        (window mean loss over all processes as a () device tensor, trained tokens over all
        processes as an int or a () device tensor); `.item()` them when logging.
    """
    device = accelerator.device
    world = accelerator.num_processes
    n_global = global_token_count(trained_token_count(micro), accelerator)
    nll_total = torch.zeros((), device=device)
    for i, mb in enumerate(micro):
        # Only the last micro-batch all-reduces gradients across processes.
        sync = i == len(micro) - 1
        # DeepSpeed (through accelerate) takes its step boundary from this flag, not from no_sync.
        accelerator.gradient_state._set_sync_gradients(sync)
        with contextlib.nullcontext() if sync else accelerator.no_sync(loss_module):
            out = loss_module(**to_device(mb, device))
            # DDP averages gradients over processes; scaling by world turns that into the global mean.
            accelerator.backward(out["nll_sum"] * world / n_global)
        nll_total += out["nll_sum"].detach()
    accelerator.gradient_state._set_sync_gradients(True)
    loss = accelerator.reduce(nll_total, "sum") / n_global if world > 1 else nll_total / n_global
    return loss, n_global
