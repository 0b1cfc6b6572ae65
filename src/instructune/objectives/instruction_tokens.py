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

With instruction masking on (`data.instruction_masking`, modes mask / mix) the masked tokens
are the mask token in `input_ids`; they are not targets (`ignore_id`), or the term would teach
the model to predict the mask token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from instructune.data.templates import INSTRUCTION
from instructune.objectives.linear_ce import linear_cross_entropy
from instructune.objectives.term import LossTerm

TERM = "instruction_tokens"


def instruction_targets(batch: dict, ignore_id: int | None = None) -> torch.Tensor:
    """(B, T-1) bool: position t predicts an instruction token t+1 of its own record (a packed
    record's first token is predicted from the record before it, so it is left out), unless
    that token is `ignore_id` (instruction masking's mask token)."""
    nxt = batch["segment_ids"][:, 1:] == INSTRUCTION
    if ignore_id is not None:
        nxt = nxt & (batch["input_ids"][:, 1:] != ignore_id)
    pos = batch.get("position_ids")
    return nxt if pos is None else nxt & (pos[:, 1:] != 0)


class InstructionTokensObjective(LossTerm):
    """The instruction-modelling term (no parameters of its own).

    Args:
        weight: the term's weight in the total loss.
        loss_impl, chunk_tokens: as the next-token loss's (`linear_cross_entropy`).
        ignore_id: a token never to predict (instruction masking's mask token), or None.
    """

    def __init__(self, weight: float, loss_impl: str = "chunked", chunk_tokens: int = 4096,
                 ignore_id: int | None = None):
        super().__init__()
        self.weight, self.loss_impl, self.chunk_tokens = weight, loss_impl, chunk_tokens
        self.ignore_id = ignore_id

    def weights(self) -> dict[str, float]:
        return {TERM: self.weight}

    def counts(self, batch: dict) -> dict[str, int]:
        return {TERM: int(instruction_targets(batch, self.ignore_id).sum())}

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        ids = batch["input_ids"]
        B, T = ids.shape
        b, t = instruction_targets(batch, self.ignore_id).nonzero(as_tuple=True)  # (N,) each; one wait for the device
        index = b * T + t                                          # flat positions, like target_index
        target = ids[b, t + 1]                                     # (N,)
        if out.logits is not None:  # a model whose head cannot be called apart
            logits = out.logits.reshape(B * T, -1).index_select(0, index)
            return {TERM: F.cross_entropy(logits.float(), target, reduction="sum")}
        h = out.hidden.reshape(B * T, -1).index_select(0, index)  # (N, d)
        return {TERM: linear_cross_entropy(h, out.head, target, self.loss_impl, self.chunk_tokens)}
