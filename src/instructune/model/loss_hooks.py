"""`LossHooks`: the loss-term interface that `TrainingObjective` calls on every part of a run.

The parts are the instruction-aware add-ons (`model/addons/base.py: Addon`) and the
`objectives` section's extra terms (`objectives/term.py: LossTerm`); both derive from this
class, so the objective and the loop call each hook on every part without asking first.

    counts(batch)       {term: host int} its summed value is divided by, before the forward
    terms(out, batch)   {term: () device tensor}, summed over the micro-batch
    weights()           {term: weight in the total loss}; 0 logs a term without training on it
    set_step(step)      the optimizer step the next window is, for schedules
    logged()            {metric: host float} of learned or scheduled weights
    step_terms(model)   {term: () tensor} taken once per optimizer step, e.g. weight penalties

It lives in `model/` because an add-on (level 2) must not import `objectives/` (level 3).
"""

from __future__ import annotations

import torch
from torch import nn

HOOKS = ("counts", "terms", "weights", "set_step", "logged", "step_terms")


class LossHooks(nn.Module):
    """Every hook's default does nothing, so a part overrides only what it uses."""

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
