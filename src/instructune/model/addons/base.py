"""`Addon`: what an instruction-aware add-on may do to the model's forward.

An add-on is an `nn.Module` with its own parameters. `InstructForward` calls it at four
places of the transformers model's forward, through hooks (no model file is forked):

    on_embeddings(e)    the input embeddings (B, T, d), before the first layer
    on_layer(i, h)      the output (B, T, d) of decoder layer i
    on_final(h)         the final hidden states (B, T, d), after the last norm, before the head
    bind(lm)            anything else it needs, e.g. an attention function (instruction_attention)

Each reads the current forward's segments and records from `self.state` (`model/segments.py`).
An add-on that only reads hidden states (the temperature head) says `changes_forward = False`:
the model's logits are then the plain model's, and plain transformers loses nothing of it.
It may also add loss terms through the hooks `TrainingObjective` calls on every add-on and
every extra objective (`objectives/term.py: LossTerm` declares the same ones, with the same
defaults): `terms(out, batch)` returns {name: summed value}, `counts(batch)` the host count
each sum is divided by (over the whole accumulation window), `weights()` their weights;
`set_step(step)`, `logged()` and `step_terms(model)` serve schedules, logged weights and
once-per-step terms. Each default does nothing, so an add-on overrides only what it uses.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Addon(nn.Module):
    """Base class: every stage is the identity and there are no loss terms."""

    name = ""
    changes_forward = True

    def __init__(self):
        super().__init__()
        self.state = None  # the forward's SegmentState, set by `bind`

    @classmethod
    def from_config(cls, section: Any, lm_config: Any, **resources: Any) -> "Addon":
        """Build from the add-on's config section, the transformers config (sizes) and shared
        resources an add-on may need (`tokenizer`, `embed`: a sentence embedder)."""
        raise NotImplementedError

    def bind(self, lm: nn.Module, state) -> None:
        """Attach to the transformers model `lm` (peft-unwrapped) and its segment state."""
        self.state = state

    def unbind(self, lm: nn.Module) -> None:
        """Undo what `bind` changed in `lm`."""

    def uses(self, stage: str) -> bool:
        """Whether this add-on overrides `stage` ("on_embeddings", "on_layer", "on_final")."""
        return getattr(type(self), stage) is not getattr(Addon, stage)

    def on_embeddings(self, e: torch.Tensor) -> torch.Tensor:
        return e

    def on_layer(self, index: int, h: torch.Tensor) -> torch.Tensor:
        return h

    def on_final(self, h: torch.Tensor) -> torch.Tensor:
        return h

    def counts(self, batch: dict) -> dict[str, int]:
        """{term: host count its sum is divided by} for one micro-batch."""
        return {}

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        """{term: () summed value} for one micro-batch, from the forward's outputs."""
        return {}

    def weights(self) -> dict[str, float]:
        """{term: weight in the total loss}."""
        return {}

    def set_step(self, step: int) -> None:
        """The optimizer step the next window is (steps done before it); for schedules."""

    def logged(self) -> dict[str, float]:
        """{metric: host float} of learned or scheduled weights, read on logged steps."""
        return {}

    def step_terms(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """{term: () value} taken once per optimizer step from `model`, not per micro-batch."""
        return {}

    def param_dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype
