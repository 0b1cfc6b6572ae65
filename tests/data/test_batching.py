"""Batch order and collation."""

from __future__ import annotations

import torch

from instructune.data.batching import epoch_batches
from instructune.data.collate import collate


def test_epoch_batches_cover_every_row_once_and_are_deterministic():
    lengths = [5, 50, 7, 33, 12, 90, 3, 41, 8, 60]
    a = epoch_batches(lengths, 3, seed=1, epoch=0)
    assert sorted(i for b in a for i in b) == list(range(10))
    assert a == epoch_batches(lengths, 3, seed=1, epoch=0)
    assert a != epoch_batches(lengths, 3, seed=1, epoch=1)


def test_group_by_length_reduces_padding():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 300, (256,), generator=g).tolist()

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    grouped = epoch_batches(lengths, 8, seed=0, epoch=0, group_by_length=True)
    plain = epoch_batches(lengths, 8, seed=0, epoch=0, group_by_length=False)
    assert padded(grouped) < 0.8 * padded(plain)


def test_collate_pads_right_and_never_trains_padding():
    rows = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7], "segment_ids": [1, 3, 3]},
            {"input_ids": [8], "labels": [-100], "segment_ids": [1]}]
    b = collate(rows, pad_id=2, pad_to_multiple_of=4)
    assert b["input_ids"].tolist() == [[5, 6, 7, 2], [8, 2, 2, 2]]
    assert b["labels"].tolist() == [[-100, 6, 7, -100], [-100, -100, -100, -100]]
    assert b["segment_ids"].tolist() == [[1, 3, 3, 0], [1, 0, 0, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
