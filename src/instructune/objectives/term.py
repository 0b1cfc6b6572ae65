"""`LossTerm`: the interface every extra loss term of `TrainingObjective` declares.

    class MyTerm(LossTerm):
        def counts(self, batch):     return {"my": n}            # host ints, before the forward
        def terms(self, out, batch): return {"my": summed}       # () device tensors
        def weights(self):           return {"my": 0.1}

A term is an `nn.Module` (its parameters, e.g. learned loss weights, are trained and
checkpointed with the objective). Every hook has a default that does nothing, so a term
overrides only what it uses, and `TrainingObjective` calls each hook on every part without
asking first. The add-ons (`model/addons/base.py: Addon`) declare the same hooks with the
same defaults: `HOOKS` names them, and a test holds the two in step.
"""

from __future__ import annotations

import torch
from torch import nn

HOOKS = ("counts", "terms", "weights", "set_step", "logged", "step_terms")


class LossTerm(nn.Module):
    """Base class of the `objectives` section's terms: no terms, no schedule, nothing logged."""

    def counts(self, batch: dict) -> dict[str, int]:
        """{term: host count its sum is divided by} for one collated micro-batch."""
        return {}

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        """{term: () summed value} for one micro-batch, from the forward's outputs."""
        return {}

    def weights(self) -> dict[str, float]:
        """{term: weight in the total loss}; a weight of 0 is logged only."""
        return {}

    def set_step(self, step: int) -> None:
        """The optimizer step the next window is (steps done before it); for schedules."""

    def logged(self) -> dict[str, float]:
        """{metric: host float} of learned or scheduled weights, read on logged steps."""
        return {}

    def step_terms(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """{term: () value} taken once per optimizer step from `model` (the peft-wrapped or
        plain HF model), rather than per micro-batch: penalties on the weights."""
        return {}
