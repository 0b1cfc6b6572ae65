"""Reasoning head: three parallel pathways over the final hidden states, projected back into
the residual stream, on rationale and response positions.

    h'_t = h_t + m_t · P [σ(W1 h_t); σ(W2 h_t); σ(W3 h_t)]
    m_t  = 1 on rationale / response tokens of a record that has an instruction segment

The instruction condition (`scope: instructed`, the default) keeps the head off plain text:
a model call nobody segmented (general text, the forgetting eval) reads as response, and with
`scope: all` (the earlier form) the head rewrote it too, costing general-text perplexity
(+3.9 pt over LoRA alone, measured) for nothing it was trained to do.

The seeds' "multi-step parallel reasoning architecture". The three pathways are one (d → 3k)
matmul whose slices are the pathways; P (3k → d) is zero-initialised, so the attached,
untrained head is a no-op. It is trained on whatever the run trains (rationale tokens of CoT
records included: `data/render.py` trains them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from instructune.model.addons.base import Addon

PATHWAYS = 3


class ReasoningHead(Addon):
    """Args: hidden: d; dim: k, each pathway's width; scope: "instructed" | "all" (see above)."""

    name = "reasoning_head"

    @classmethod
    def saved_section(cls, raw: dict) -> dict:
        """A run saved before `scope` existed has none: its head acted on every response token."""
        return {"scope": "all", **raw}

    def __init__(self, hidden: int, dim: int, scope: str = "instructed"):
        super().__init__()
        self.scope = scope
        self.pathways = nn.Linear(hidden, PATHWAYS * dim)
        self.project = nn.Linear(PATHWAYS * dim, hidden)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> "ReasoningHead":
        return cls(lm_config.hidden_size, section.dim, section.scope)

    def on_final(self, h: torch.Tensor) -> torch.Tensor:
        """h: (B, T, d) final hidden states → (B, T, d)."""
        x = h.to(self.param_dtype())
        delta = self.project(F.gelu(self.pathways(x)))
        mask = self.state.answer_mask()
        if self.scope == "instructed":
            mask = mask & self.state.instructed()
        return h + (delta * mask[..., None]).to(h.dtype)
