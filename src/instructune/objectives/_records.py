"""Per-record views of a collated batch, shared by the objectives that work per record.

A batch's records are its rows, or, for packed / padding-free rows, the runs that
`position_ids` restart at 0 (`model/segments.py`); `tasks` and `rows` list them in that order.
"""

from __future__ import annotations

import torch

from instructune.model.segments import is_answer, is_instruction, record_count, record_index


def records(batch: dict) -> tuple[torch.Tensor, int]:
    """(record (B, T) long in [0, R), R). R is read from the batch's host values when it has
    them, so the device is not asked for it."""
    return record_index(batch["segment_ids"], batch.get("position_ids"), record_count(batch))


def instruction_mask(batch: dict) -> torch.Tensor:
    """(B, T) bool: instruction tokens."""
    return is_instruction(batch["segment_ids"])


def answer_mask(batch: dict) -> torch.Tensor:
    """(B, T) bool: response and rationale tokens."""
    return is_answer(batch["segment_ids"])


def has_tokens(where: torch.Tensor, record: torch.Tensor, n_records: int) -> torch.Tensor:
    """(R,) bool: records with at least one token where `where` (B, T) is True."""
    counts = torch.zeros(n_records, dtype=torch.long, device=where.device)
    return counts.index_add_(0, record.reshape(-1), where.reshape(-1).long()) > 0


def token_records(batch: dict, index: torch.Tensor) -> torch.Tensor:
    """(N,) the record of each flat position b*T + t in `index` (N,)."""
    record, _ = records(batch)
    return record.reshape(-1).index_select(0, index)
