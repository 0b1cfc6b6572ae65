"""`LossTerm`: the interface every extra loss term of `TrainingObjective` declares.

    class MyTerm(LossTerm):
        def counts(self, batch):     return {"my": n}            # host ints, before the forward
        def terms(self, out, batch): return {"my": summed}       # () device tensors
        def weights(self):           return {"my": 0.1}

A term is an `nn.Module` (its parameters, e.g. learned loss weights, are trained and
checkpointed with the objective). The hooks and their do-nothing defaults are
`model/loss_hooks.py: LossHooks`, which the add-ons (`model/addons/base.py: Addon`) derive
from too, so `TrainingObjective` calls each hook on every part without asking first.
"""

from __future__ import annotations

from instructune.model.loss_hooks import HOOKS, LossHooks

__all__ = ["HOOKS", "LossTerm"]


class LossTerm(LossHooks):
    """Base class of the `objectives` section's terms: no terms, no schedule, nothing logged."""
