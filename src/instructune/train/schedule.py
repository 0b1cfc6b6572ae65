"""How an epoch's micro-batches become optimizer steps, and how many steps a run takes."""

from __future__ import annotations

import math


def windows_of(batches: list[list[int]], grad_accum: int, world: int, rank: int) -> list[list[list[int]]]:
    """Group an epoch's micro-batches into optimizer steps and take this process's share.

    Each optimizer step consumes `grad_accum * world` micro-batches; process `rank` gets every
    `world`-th of them. A trailing partial window is kept (its loss is still normalised by its
    own token count). Every process gets the same number of windows, `steps_per_epoch`: where
    the trailing window holds fewer micro-batches than processes, the later processes' share
    is empty (they run a placeholder batch with nothing trained, `loop.placeholder_batch`), so
    all processes leave the epoch at the same step and a checkpoint's position holds for all.

    Args:
        batches: the epoch's micro-batches, each a list of row (or pack) indices.
        grad_accum: micro-batches per process per optimizer step.
        world: number of processes.
        rank: this process's index.
    Returns:
        one list of micro-batches per optimizer step.
    """
    per_step = grad_accum * world
    return [batches[s:s + per_step][rank::world] for s in range(0, len(batches), per_step)]


def steps_per_epoch(n_rows: int, batch_size: int, grad_accum: int, world: int) -> int:
    """Optimizer steps in one epoch of `n_rows` rows (records, or packs when packing)."""
    n_batches = math.ceil(n_rows / batch_size)
    return math.ceil(n_batches / (grad_accum * world))


def total_steps(n_rows: int, epochs: int, max_steps: int, batch_size: int, grad_accum: int, world: int) -> int:
    """Optimizer steps of the whole run: `epochs` epochs, capped by `max_steps` (0: no cap);
    with `epochs` 0, exactly `max_steps`."""
    steps = epochs * steps_per_epoch(n_rows, batch_size, grad_accum, world)
    if max_steps:
        steps = min(steps, max_steps) if epochs else max_steps
    return steps
