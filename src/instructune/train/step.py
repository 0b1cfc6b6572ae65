"""One optimizer step's forward/backward over a gradient-accumulation window.

The loss of the window is  Σ_term w_term · Σ_micro sum_term / N_term,  where N_term is the
term's count (for the next-token loss: trained tokens) over the *whole* window on *all*
processes. Each micro-batch backpropagates its own sums divided by those counts, so the
accumulated gradient equals the gradient of the window's loss however the window is split
into micro-batches or processes (docs/architecture.md §4, "The loss"). With the next-token
loss alone this is exactly Σ nll / N, as it always was.

Nothing here waits for the device: counts come from collation (host ints; with several
processes one all-reduce of a tensor), the micro-batches were pinned by the prefetch thread
and are copied without blocking, and the window's loss stays a device tensor until the loop
logs it.
"""

from __future__ import annotations

import contextlib

import torch

from instructune.data.collate import to_device
from instructune.objectives.objective import NLL


def window_counts(objective, micro: list[dict[str, torch.Tensor]]) -> dict[str, int]:
    """{term: count} summed over this process's micro-batches (host ints)."""
    total: dict[str, int] = {}
    for mb in micro:
        for name, n in objective.counts(mb).items():
            total[name] = total.get(name, 0) + n
    return total


def global_counts(local: dict[str, int], accelerator) -> dict[str, int | torch.Tensor]:
    """Each term's count over all processes: host ints with one process, else () device
    tensors from one all-reduce (no host sync). May be 0 (`at_least_one` before dividing)."""
    if accelerator.num_processes == 1:
        return dict(local)
    t = torch.tensor(list(local.values()))
    if accelerator.device.type == "cuda":
        t = t.pin_memory()
    summed = accelerator.reduce(t.to(accelerator.device, non_blocking=True), "sum")
    return {k: summed[i] for i, k in enumerate(local)}


def at_least_one(n: int | torch.Tensor) -> int | torch.Tensor:
    return max(n, 1) if isinstance(n, int) else n.clamp(min=1)


def window_mean(total: torch.Tensor, n: int | torch.Tensor) -> torch.Tensor:
    """A term's mean over the window; NaN when the window held none of its tokens (a task
    absent from this step), which the log leaves out instead of reading it as a loss of 0."""
    if isinstance(n, int):
        return total / n if n else torch.full_like(total, float("nan"))
    return torch.where(n > 0, total / n.clamp(min=1), torch.nan)


def weighted(sums: dict[str, torch.Tensor], weights: dict[str, float], counts: dict, world: int) -> torch.Tensor:
    """Σ_term w · sum · world / count: this micro-batch's share of the window's loss. DDP
    averages gradients over processes; scaling by `world` turns that into the global mean.
    Terms of weight 0 are only logged (per-task losses, accuracies): they are left out."""
    loss = None
    for name, s in sums.items():
        w = weights.get(name, 1.0)
        if w == 0.0:
            continue
        part = s * world / counts[name]
        part = part if w == 1.0 else part * w
        loss = part if loss is None else loss + part
    # Every term logged only: a zero that keeps the backward (and DDP's hooks) well defined.
    return loss if loss is not None else sum(s * 0.0 for s in sums.values())


def backward_window(loss_module, micro: list[dict[str, torch.Tensor]], accelerator
                    ) -> tuple[torch.Tensor, int | torch.Tensor, dict[str, torch.Tensor]]:
    """Forward + backward every micro-batch of one window; gradients are left in `.grad`.

    Args:
        loss_module: a `TrainingObjective` (returning {term: sum}), prepared by `accelerator`.
        micro: this process's micro-batches as collated (input_ids, labels, segment_ids
            (B, T), target_index / target_ids (N,), optional position_ids (B, T) and
            cu_seqlens for packed rows).
        accelerator: the `accelerate.Accelerator`.
    Returns:
        (the next-token loss's window mean over all processes as a () device tensor, trained
        tokens over all processes as an int or a () device tensor, {term: window mean} for
        every term, per-step terms included); `.item()` them when logging.
    """
    device = accelerator.device
    world = accelerator.num_processes
    objective = accelerator.unwrap_model(loss_module)
    raw = global_counts(window_counts(objective, micro), accelerator)
    counts = {name: at_least_one(n) for name, n in raw.items()}
    weights = objective.weights()
    totals: dict[str, torch.Tensor] = {}
    per_step: dict[str, torch.Tensor] = {}
    for i, mb in enumerate(micro):
        # Only the last micro-batch all-reduces gradients across processes.
        sync = i == len(micro) - 1
        # DeepSpeed (through accelerate) takes its step boundary from this flag, not from no_sync.
        accelerator.gradient_state._set_sync_gradients(sync)
        with contextlib.nullcontext() if sync else accelerator.no_sync(loss_module):
            sums = loss_module(**to_device(mb, device))
            loss = weighted(sums, weights, counts, world)
            if sync and (per_step := objective.step_terms()):
                # Penalties on the weights: once per window, the same value on every process
                # (not scaled by world: DDP's average of their gradients is their gradient).
                loss = loss + sum(weights.get(k, 1.0) * v for k, v in per_step.items())
            accelerator.backward(loss)
        for name, s in sums.items():
            totals[name] = s.detach() + totals[name] if name in totals else s.detach().clone()
    accelerator.gradient_state._set_sync_gradients(True)
    totals = {name: accelerator.reduce(t, "sum") if world > 1 else t for name, t in totals.items()}
    # The next-token loss keeps its old meaning for an empty window (0); other terms go NaN.
    means = {name: t / counts[name] if name == NLL else window_mean(t, raw[name]) for name, t in totals.items()}
    means.update({name: v.detach() for name, v in per_step.items()})
    return means[NLL], counts[NLL], means
