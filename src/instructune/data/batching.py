"""Deterministic batch order: a seeded permutation per epoch, optionally grouped by length.

The order is a pure function of (seed, epoch, lengths), so a resumed run can rebuild it and
skip to its saved position; no sampler state needs saving. With packing the same holds: the
packs are a pure function of the lengths (`pack.pack_rows`) and are ordered like rows.

`nonpad_share` / `layout_shares` measure how much of a layout's token slots are real tokens.
"""

from __future__ import annotations

import torch

from instructune.data.pack import pack_rows


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


def epoch_micro_batches(lengths: list[int], packs: list[list[int]] | None, batch_size: int, seed: int,
                        epoch: int, group_by_length: bool = True) -> list[list[list[int]]]:
    """One epoch's micro-batches, each a list of packs of row indices.

    Without packing (`packs` None) every record is its own pack and the order is exactly
    `epoch_batches(lengths, ...)`; with packing, `batch_size` packs make a micro-batch and the
    packs are ordered by `epoch_batches` over their total lengths.

    Args:
        lengths: token count of each row.
        packs: `pack.pack_rows` output, or None.
        batch_size: packs (records without packing) per micro-batch.
        seed, epoch, group_by_length: as in `epoch_batches`.
    Returns:
        list (micro-batches) of lists (packs) of row indices.
    """
    units = packs if packs is not None else [[i] for i in range(len(lengths))]
    unit_lengths = [sum(lengths[i] for i in u) for u in units]
    return [[units[j] for j in b]
            for b in epoch_batches(unit_lengths, batch_size, seed, epoch, group_by_length)]


def nonpad_share(lengths: list[int], micro_batches: list[list[list[int]]], padding_free: bool = False) -> float:
    """Share of token slots that hold real tokens when `micro_batches` are collated.

    Args:
        lengths: token count of each row.
        micro_batches: as returned by `epoch_micro_batches` (packs of row indices).
        padding_free: every micro-batch is one unpadded row (the share is then 1).
    Returns:
        real tokens / (rows x padded length), summed over all micro-batches.
    """
    real = slots = 0
    for mb in micro_batches:
        pack_lens = [sum(lengths[i] for i in p) for p in mb]
        real += sum(pack_lens)
        slots += sum(pack_lens) if padding_free else len(mb) * max(pack_lens)
    return real / max(slots, 1)


def layout_shares(lengths: list[int], batch_size: int, seed: int, pack_length: int) -> dict[str, float]:
    """Non-pad token share of epoch 0 in each layout, to compare them on one dataset.

    Returns:
        {"padded": random batches, "grouped": batches grouped by length, "packed": packed rows
        of `pack_length` tokens, `batch_size` per micro-batch, grouped; "padding_free": 1.0}
    """
    def share(packs, grouped):
        return nonpad_share(lengths, epoch_micro_batches(lengths, packs, batch_size, seed, 0, grouped))

    return {"padded": share(None, False), "grouped": share(None, True),
            "packed": share(pack_rows(lengths, max([pack_length, *lengths])), True), "padding_free": 1.0}
