"""Tiny hand-made batches for the objectives' golden tests: segments, hidden states, a head."""

from __future__ import annotations

import torch
from torch import nn

from instructune.data.render import IGNORE
from instructune.data.templates import CONTEXT, INSTRUCTION, RESPONSE, TEMPLATE
from instructune.model.forward import ForwardOutput

T_, I_, C_, R_ = TEMPLATE, INSTRUCTION, CONTEXT, RESPONSE

# Three records, one per row (0 = pad at the end of the shorter rows).
SEGMENTS = torch.tensor([[T_, I_, I_, R_, R_, R_],
                         [T_, I_, R_, R_, 0, 0],
                         [T_, I_, I_, C_, R_, R_]])
IDS = torch.tensor([[1, 5, 6, 7, 8, 2],
                    [1, 9, 3, 4, 2, 2],
                    [1, 5, 9, 6, 3, 2]])
TASKS = ["math", "code", "math"]


def labels_of(ids: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    """Response tokens trained, everything else -100."""
    return torch.where(seg == RESPONSE, ids, torch.full_like(ids, IGNORE))


def batch(**extra) -> dict:
    from instructune.data.collate import loss_index

    b = loss_index({"input_ids": IDS.clone(), "labels": labels_of(IDS, SEGMENTS), "segment_ids": SEGMENTS.clone()})
    b.update({"tasks": list(TASKS), "rows": [0, 1, 2], **extra})
    return b


def hidden(d: int = 4, seed: int = 0) -> torch.Tensor:
    """(3, 6, d) fixed hidden states."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, 6, d, generator=g)


def head(d: int = 4, vocab: int = 10, seed: int = 1) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d, vocab, bias=False)


def output(b: dict, h: torch.Tensor, lm_head: nn.Module) -> ForwardOutput:
    """What `InstructForward` would return for hidden states `h` (B, T, d)."""
    at = h.reshape(-1, h.shape[-1]).index_select(0, b["target_index"])
    return ForwardOutput(h, at, lm_head)
