"""`TrainingObjective`: one forward of the model, then every loss term of the run.

    objective = TrainingObjective(InstructForward(model, addons), loss_impl="chunked")
    objective.counts(batch)   # {"nll": trained tokens, ...}   host ints, from collation
    objective(**batch)        # {"nll": summed NLL, ...}       () device tensors
    objective.weights()       # {"nll": 1.0, ...}

Every term is a (sum, count) pair: the module returns the sum, `counts` the host count it
is divided by, and `train/step.py` divides each sum by its count over the whole
accumulation window on all processes before weighting, so no term depends on how a window is
split. The next-token loss is the term "nll"; the add-ons (`model/addons/`) and the extra
objectives (`objectives`, {name: `LossTerm`}) add terms of their own. Both declare the same
hooks with defaults that do nothing (`objectives/term.py`, `model/addons/base.py`): `counts`,
`terms`, `weights`, `set_step`, `logged`, and `step_terms(model) -> {term: value}`, terms
taken once per optimizer step rather than per micro-batch (penalties on the weights), added
by `train/step.py` after the window's micro-batches. Objectives never run the model: they are functions of the forward's outputs
and the batch. Their parameters (learned loss weights) are this module's, so the optimizer
and checkpoints hold them.
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.model.addons.base import Addon
from instructune.model.forward import InstructForward, as_forward
from instructune.objectives.response_nll import forward_inputs, next_token_nll, targets
from instructune.objectives.term import LossTerm

NLL = "nll"


class TrainingObjective(nn.Module):
    """The loss module that training prepares with accelerate (DDP/FSDP see one forward).

    Args:
        model: an `InstructForward` (or a bare causal LM, wrapped in a plain one).
        loss_impl, chunk_tokens: the next-token loss (`next_token_nll`).
    """

    def __init__(self, model: nn.Module, loss_impl: str = "chunked", chunk_tokens: int = 4096,
                 objectives: dict[str, LossTerm] | None = None):
        super().__init__()
        self.model: InstructForward = as_forward(model)
        self.loss_impl, self.chunk_tokens = loss_impl, chunk_tokens
        self.objectives = nn.ModuleDict(objectives or {})

    def parts(self) -> list[Addon | LossTerm]:
        """The add-ons and objectives, whose counts / terms / weights make the loss."""
        return [*self.model.addons.values(), *self.objectives.values()]

    def counts(self, batch: dict) -> dict[str, int]:
        """{term: host count} for one collated micro-batch (read before its forward)."""
        out = {NLL: len(targets(batch)[0])}
        for part in self.parts():
            out.update(part.counts(batch))
        return out

    def weights(self) -> dict[str, float]:
        """{term: weight in the total loss}."""
        out = {NLL: 1.0}
        for part in self.parts():
            out.update(part.weights())
        return out

    def set_step(self, step: int) -> None:
        """Tell the parts which optimizer step the next window is (steps done before it, from
        the loop's position, so a resumed run sees the same schedule): λ warm-up reads it."""
        for part in self.parts():
            part.set_step(step)

    def logged(self) -> dict[str, float]:
        """{metric: value} of the parts' current learned or scheduled weights (host floats;
        read only on logged steps)."""
        out: dict[str, float] = {}
        for part in self.parts():
            out.update(part.logged())
        return out

    def step_terms(self) -> dict[str, torch.Tensor]:
        """{term: () value} of the terms taken once per optimizer step."""
        out: dict[str, torch.Tensor] = {}
        for part in self.parts():
            out.update(part.step_terms(self.model.model))
        return out

    def forward(self, **batch) -> dict[str, torch.Tensor]:
        index, _ = targets(batch)
        out = self.model(**forward_inputs(batch), at_index=index)
        sums = {NLL: next_token_nll(out, batch, self.loss_impl, self.chunk_tokens)["nll_sum"]}
        for part in self.parts():
            sums.update(part.terms(out, batch))
        return sums
