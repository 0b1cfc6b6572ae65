"""The declared hooks of loss terms and add-ons: every one has a default, a part overrides
only what it uses, and the objective and the loop call the hooks without probing for them."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from instructune.model.addons.base import Addon
from instructune.model.forward import InstructForward
from instructune.model.load import load_model
from instructune.model.loss_hooks import LossHooks
from instructune.objectives.objective import NLL, TrainingObjective
from instructune.objectives.term import HOOKS, LossTerm
from instructune.train.loop import objective_metrics, set_step


class Bare(LossTerm):
    """Overrides nothing."""


class BareAddon(Addon):
    """Overrides nothing."""


class Scheduled(LossTerm):
    """Overrides the schedule hooks only."""

    def __init__(self):
        super().__init__()
        self.seen: list[int] = []

    def set_step(self, step: int) -> None:
        self.seen.append(step)

    def logged(self) -> dict[str, float]:
        return {"lambda/scheduled": float(len(self.seen))}


class PerStepAddon(Addon):
    """An add-on with a once-per-step term (only the loss-term interface makes it reach the step)."""

    def step_terms(self, model) -> dict[str, torch.Tensor]:
        return {"addon_penalty": torch.tensor(2.0)}


def test_terms_and_addons_share_one_declaration_of_the_hooks():
    assert issubclass(LossTerm, LossHooks) and issubclass(Addon, LossHooks)
    for hook in HOOKS:
        assert hook in vars(LossHooks), hook


def test_a_part_that_overrides_no_hook_gets_the_defaults():
    for part in (Bare(), BareAddon()):
        assert part.counts({}) == {} and part.terms(None, {}) == {} and part.weights() == {}
        assert part.logged() == {} and part.step_terms(torch.nn.Linear(1, 1)) == {}
        assert part.set_step(3) is None


def test_the_loop_calls_the_declared_hooks_of_every_part(tiny_model):
    lm = load_model(tiny_model, "float32")
    fwd = InstructForward(lm, {"bare_addon": BareAddon(), "per_step": PerStepAddon()})
    objective = TrainingObjective(fwd, objectives={"bare": Bare(), "scheduled": Scheduled()})
    parts = SimpleNamespace(loss_module=objective, accelerator=SimpleNamespace(unwrap_model=lambda m: m))
    set_step(parts, 4)
    set_step(parts, 5)
    assert objective.objectives["scheduled"].seen == [4, 5]
    assert objective_metrics(parts) == {"lambda/scheduled": 2.0}
    assert objective.weights() == {NLL: 1.0}
    assert objective.counts({"labels": torch.tensor([[-100, 5, 6]])}) == {NLL: 2}
    assert set(objective.step_terms()) == {"addon_penalty"}
