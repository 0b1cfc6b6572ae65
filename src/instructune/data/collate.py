"""Padding collation for the token contract: lists of rows → batch tensors.

Pads on the right: input_ids with the pad id, labels with -100, segment_ids with 0 and the
attention mask with 0. The label mask never comes from the pad id (SmolLM2's pad is its EOS,
and the EOS after each response is trained).
"""

from __future__ import annotations

import torch

from instructune.data.render import IGNORE


def collate(rows: list[dict], pad_id: int, pad_to_multiple_of: int = 1) -> dict[str, torch.Tensor]:
    """Stack rows into right-padded tensors.

    Args:
        rows: dicts with input_ids, labels, segment_ids (lists of int, each of length T_i).
        pad_id: token id for padding input_ids.
        pad_to_multiple_of: round the padded length T up to a multiple of this.
    Returns:
        input_ids (B, T) long, labels (B, T) long, segment_ids (B, T) long,
        attention_mask (B, T) long.
    """
    T = max(len(r["input_ids"]) for r in rows)
    T = -(-T // pad_to_multiple_of) * pad_to_multiple_of
    B = len(rows)
    out = {
        "input_ids": torch.full((B, T), pad_id, dtype=torch.long),
        "labels": torch.full((B, T), IGNORE, dtype=torch.long),
        "segment_ids": torch.zeros((B, T), dtype=torch.long),
        "attention_mask": torch.zeros((B, T), dtype=torch.long),
    }
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        out["input_ids"][i, :n] = torch.as_tensor(r["input_ids"])
        out["labels"][i, :n] = torch.as_tensor(r["labels"])
        out["segment_ids"][i, :n] = torch.as_tensor(r["segment_ids"])
        out["attention_mask"][i, :n] = 1
    return out


def rows_at(ds, indices: list[int]) -> list[dict]:
    """Rows `indices` of a `datasets.Dataset` as dicts (one columnar read, not one per row)."""
    cols = ds[indices]
    keys = list(cols)
    return [dict(zip(keys, vals)) for vals in zip(*(cols[k] for k in keys))]
