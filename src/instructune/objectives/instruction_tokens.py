"""Next-token loss on the instruction tokens themselves ("instruction modelling").

    obj = InstructionTokensObjective(weight=0.5, loss_impl="chunked")
    # term "instruction_tokens": Σ -log p(x_{t+1} | x_≤t) over positions t whose next token
    # is an instruction token of the same record

The response loss (`response_nll.py`) trains only the answer; this term also trains the model
to predict the instructions it reads, with its own weight. The logits come from the final
hidden states at those positions through the LM head, chunk by chunk
(`linear_ce.linear_cross_entropy`), so no (B, T, V) tensor is built.

Normalisation: the sum over those positions, divided by their number over the whole window
(`train/step.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from instructune.data.templates import INSTRUCTION
from instructune.objectives.linear_ce import linear_cross_entropy

TERM = "instruction_tokens"


def instruction_targets(batch: dict) -> torch.Tensor:
    """(B, T-1) bool: position t predicts an instruction token t+1 of its own record (a packed
    record's first token is predicted from the record before it, so it is left out)."""
    nxt = batch["segment_ids"][:, 1:] == INSTRUCTION
    pos = batch.get("position_ids")
    return nxt if pos is None else nxt & (pos[:, 1:] != 0)


class InstructionTokensObjective(nn.Module):
    """The instruction-modelling term (no parameters of its own).

    Args:
        weight: the term's weight in the total loss.
        loss_impl, chunk_tokens: as the next-token loss's (`linear_cross_entropy`).
    """

    def __init__(self, weight: float, loss_impl: str = "chunked", chunk_tokens: int = 4096):
        super().__init__()
        self.weight, self.loss_impl, self.chunk_tokens = weight, loss_impl, chunk_tokens

    def weights(self) -> dict[str, float]:
        return {TERM: self.weight}

    def counts(self, batch: dict) -> dict[str, int]:
        return {TERM: int(instruction_targets(batch).sum())}

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        ids = batch["input_ids"]
        B, T = ids.shape
        b, t = instruction_targets(batch).nonzero(as_tuple=True)  # (N,) each; one wait for the device
        index = b * T + t                                          # flat positions, like target_index
        target = ids[b, t + 1]                                     # (N,)
        if out.logits is not None:  # a model whose head cannot be called apart
            logits = out.logits.reshape(B * T, -1).index_select(0, index)
            return {TERM: F.cross_entropy(logits.float(), target, reduction="sum")}
        h = out.hidden.reshape(B * T, -1).index_select(0, index)  # (N, d)
        return {TERM: linear_cross_entropy(h, out.head, target, self.loss_impl, self.chunk_tokens)}
