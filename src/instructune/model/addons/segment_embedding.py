"""Instruction segment embedding: a learned vector per segment added to the token embeddings.

    e'_t = e_t + E[segment_t]        E: (5, d), zero-initialised

The five segments are the renderer's (template, instruction, context, response, rationale;
`data/templates.py`); the `[INST]`/`[/INST]` template tokens mark the same boundaries in the
text, and the two compose. Zero at init, so the attached, untrained model is the base model.
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.model.addons.base import Addon
from instructune.model.segments import N_SEGMENTS


class SegmentEmbedding(Addon):
    """Args: hidden: the model's embedding width d."""

    name = "segment_embedding"

    def __init__(self, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(N_SEGMENTS, hidden)
        nn.init.zeros_(self.embedding.weight)

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> "SegmentEmbedding":
        return cls(lm_config.hidden_size)

    def on_embeddings(self, e: torch.Tensor) -> torch.Tensor:
        """e: (B, T, d) → e + E[segments] (B, T, d)."""
        return e + self.embedding(self.state.query).to(e.dtype)
