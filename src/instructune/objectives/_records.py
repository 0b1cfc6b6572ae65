"""Per-record views of a collated batch, shared by the objectives that work per record.

A batch's records are its rows, or, for packed / padding-free rows, the runs that
`position_ids` restart at 0 (`model/segments.py`); `tasks` and `rows` list them in that order.
"""

from __future__ import annotations

import torch

from instructune.data.templates import INSTRUCTION, RATIONALE, RESPONSE
from instructune.model.segments import record_index


def records(batch: dict) -> tuple[torch.Tensor, int]:
    """(record (B, T) long in [0, R), R). R is read from the host lists when the batch has
    them, so the device is not asked for it."""
    seg, pos = batch["segment_ids"], batch.get("position_ids")
    if pos is None:
        B, T = seg.shape
        return torch.arange(B, device=seg.device)[:, None].expand(B, T), B
    n = len(batch["tasks"]) if batch.get("tasks") is not None else len(batch["rows"]) if batch.get("rows") else None
    if n is None:
        return record_index(seg, pos)
    starts = pos == 0
    starts[:, 0] = True
    return starts.reshape(-1).cumsum(0).reshape(seg.shape) - 1, n


def instruction_mask(batch: dict) -> torch.Tensor:
    """(B, T) bool: instruction tokens."""
    return batch["segment_ids"] == INSTRUCTION


def answer_mask(batch: dict) -> torch.Tensor:
    """(B, T) bool: response and rationale tokens."""
    seg = batch["segment_ids"]
    return (seg == RESPONSE) | (seg == RATIONALE)


def has_tokens(where: torch.Tensor, record: torch.Tensor, n_records: int) -> torch.Tensor:
    """(R,) bool: records with at least one token where `where` (B, T) is True."""
    counts = torch.zeros(n_records, dtype=torch.long, device=where.device)
    return counts.index_add_(0, record.reshape(-1), where.reshape(-1).long()) > 0


def token_records(batch: dict, index: torch.Tensor) -> torch.Tensor:
    """(N,) the record of each flat position b*T + t in `index` (N,)."""
    record, _ = records(batch)
    return record.reshape(-1).index_select(0, index)
