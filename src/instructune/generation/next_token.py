"""Choosing each row's next token from its logits: greedy, or sampled with the row's own RNG.

    chooser = NextToken(params)
    chosen = chooser(logits, histories, generators)          # (B, V) → (B,) token ids

Used by the running batch (`generation/running_batch.py`). Every row of a batch has the same
sampling parameters; each sampled row draws from its own `torch.Generator`, so a row's reply
depends on its seed and its logits only, never on which other rows share the batch (a
request that joins a running batch samples as it would alone).
"""

from __future__ import annotations

import torch
from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from instructune.generation.params import GenParams


def penalize_repeats(logits: torch.Tensor, histories: list[list[int]], penalty: float) -> torch.Tensor:
    """Divide positive (multiply negative) logits of every token a row already holds by `penalty`.

    Args:
        logits: (B, V) next-token logits (changed in place and returned).
        histories: per row, its prompt and generated ids so far (unpadded: a left pad is no
            token of the row, so it is never penalised).
        penalty: > 1 discourages repeats.
    """
    width = max(len(h) for h in histories)
    # Each row is padded with its own first token, which it holds anyway: the pad changes nothing.
    ids = torch.tensor([h + [h[0]] * (width - len(h)) for h in histories], device=logits.device)
    seen = logits.gather(1, ids)
    return logits.scatter_(1, ids, torch.where(seen < 0, seen * penalty, seen / penalty))


class NextToken:
    """Picks the next token per row for one set of sampling parameters (temperature fixed).

    Args:
        params: the batch's sampling parameters (`temperature` a number, not "auto").
    """

    def __init__(self, params: GenParams):
        if params.temperature == "auto":
            raise ValueError("a running batch samples at a fixed temperature; \"auto\" needs the add-on path")
        self.penalty = params.repetition_penalty
        self.greedy = params.greedy
        self.warpers = [] if self.greedy else [TemperatureLogitsWarper(params.temperature)] + (
            [TopKLogitsWarper(params.top_k)] if params.top_k else []) + (
            [TopPLogitsWarper(params.top_p)] if params.top_p < 1.0 else [])

    def __call__(self, logits: torch.Tensor, histories: list[list[int]],
                 generators: list[torch.Generator | None]) -> torch.Tensor:
        """(B, V) float logits → (B,) long chosen ids.

        Args:
            histories: per row, prompt + generated ids (read for the repetition penalty).
            generators: per row, its RNG (unused when greedy).
        """
        logits = logits.float()
        if self.penalty != 1.0:
            logits = penalize_repeats(logits, histories, self.penalty)
        if self.greedy:
            return logits.argmax(-1)
        for warp in self.warpers:
            logits = warp(None, logits)
        probs = logits.softmax(-1)
        return torch.cat([torch.multinomial(p, 1, generator=g) for p, g in zip(probs, generators)])
