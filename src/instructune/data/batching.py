"""Deterministic batch order: a seeded permutation per epoch, optionally grouped by length.

The order is a pure function of (seed, epoch, lengths), so a resumed run can rebuild it and
skip to its saved position; no sampler state needs saving.
"""

from __future__ import annotations

import torch


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int,
                  group_by_length: bool = True, group_size: int = 32) -> list[list[int]]:
    """Row indices of each micro-batch of one epoch.

    With `group_by_length`, the shuffled rows are cut into groups of `group_size` batches,
    each group sorted by length (so each batch holds similar lengths and pads little), and
    the batch order is shuffled again. The last batch may be short.

    Args:
        lengths: token count of each row.
        batch_size: rows per micro-batch.
        seed: run seed.
        epoch: epoch number (a new order every epoch).
    Returns:
        list of index lists.
    """
    g = torch.Generator().manual_seed(seed * 1000003 + epoch)
    perm = torch.randperm(len(lengths), generator=g).tolist()
    if group_by_length:
        chunk = batch_size * group_size
        perm = [i for s in range(0, len(perm), chunk)
                for i in sorted(perm[s:s + chunk], key=lambda j: -lengths[j])]
    batches = [perm[s:s + batch_size] for s in range(0, len(perm), batch_size)]
    if group_by_length:
        order = torch.randperm(len(batches), generator=g).tolist()
        batches = [batches[i] for i in order]
    return batches
