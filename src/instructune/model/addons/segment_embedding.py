"""Instruction segment embedding: a learned vector per segment added to the token embeddings,
and, optionally, the seeds' instruction embedding matrix.

    e'_t = e_t + m_t · E[segment_t] + [segment_t = instruction] · A[token_t] · B
    E: (5, d) zero-initialised; A: (V, r), B: (r, d) zero-initialised (instruction_rank = r > 0)
    m_t = 1 in a record that has an instruction segment (`scope: instructed`, the default)

A model call nobody segmented (general text, the forgetting eval) reads as one response
segment: with `scope: all` (the earlier form) it got E[response] at every token, a shift of the
whole input that training on instructed records never asked of plain text.

The five segments are the renderer's (template, instruction, context, response, rationale;
`data/templates.py`); the `[INST]`/`[/INST]` template tokens mark the same boundaries in the
text, and the two compose. The instruction embedding matrix gives each token its own learned
embedding where it is read as an instruction (the same word may have to mean something else
as an order than as data), as a rank-r delta on the base table rather than a second (V, d)
table: V·r + r·d parameters, e.g. 49152·8 + 8·576 ≈ 398k on SmolLM2-135M instead of 28M. It
acts on instruction tokens only, so text without an instruction is untouched by it. E and B
start at 0, so the attached, untrained model is the base model; A is random so that B gets a
gradient at the first step (as LoRA's A).
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.model.addons.base import Addon
from instructune.model.segments import N_SEGMENTS


class SegmentEmbedding(Addon):
    """Args: hidden: the model's embedding width d; vocab: V; instruction_rank: r of the
    instruction embedding matrix, 0 for none."""

    name = "segment_embedding"

    @classmethod
    def saved_section(cls, raw: dict) -> dict:
        """A run saved before `scope` existed has none: its vectors went onto every token."""
        return {"scope": "all", **raw}

    def __init__(self, hidden: int, vocab: int = 0, instruction_rank: int = 0, scope: str = "instructed"):
        super().__init__()
        self.scope = scope
        self.embedding = nn.Embedding(N_SEGMENTS, hidden)
        nn.init.zeros_(self.embedding.weight)
        if instruction_rank:
            # Rows of unit norm on average, so A[t]·B is on the scale of B's rows.
            self.instruction_a = nn.Parameter(torch.randn(vocab, instruction_rank) / instruction_rank ** 0.5)
            self.instruction_b = nn.Parameter(torch.zeros(instruction_rank, hidden))

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> "SegmentEmbedding":
        return cls(lm_config.hidden_size, lm_config.vocab_size, section.instruction_rank, section.scope)

    def on_embeddings(self, e: torch.Tensor) -> torch.Tensor:
        """e: (B, T, d) → e + E[segments] (+ the instruction delta at instruction tokens) (B, T, d)."""
        segment = self.embedding(self.state.query)  # (B, T, d)
        if self.scope == "instructed":
            segment = segment * self.state.instructed()[..., None]
        e = e + segment.to(e.dtype)
        if not hasattr(self, "instruction_a"):
            return e
        st = self.state
        delta = self.instruction_a[st.ids] @ self.instruction_b  # (B, T, d)
        return e + (delta * st.instruction_mask()[..., None]).to(e.dtype)
