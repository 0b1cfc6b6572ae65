"""`Addon`: what an instruction-aware add-on may do to the model's forward.

An add-on is an `nn.Module` with its own parameters. `InstructForward` calls it at four
places of the transformers model's forward, through hooks (no model file is forked):

    on_embeddings(e)    the input embeddings (B, T, d), before the first layer
    on_layer(i, h)      the output (B, T, d) of decoder layer i
    on_final(h)         the final hidden states (B, T, d), after the last norm, before the head
    bind(lm)            anything else it needs, e.g. a hook on the key projections
                        (instruction_attention) or an attention function (its score form)

Each reads the current forward's segments and records from `self.state` (`model/segments.py`).
An add-on that only reads hidden states (the temperature head) says `changes_forward = False`:
the model's logits are then the plain model's, and plain transformers loses nothing of it.
It may also add loss terms through the hooks `TrainingObjective` calls on every add-on and
every extra objective, declared once with do-nothing defaults in `model/loss_hooks.py:
LossHooks` (both derive from it): `terms(out, batch)` returns {name: summed value},
`counts(batch)` the host count each sum is divided by (over the whole accumulation window),
`weights()` their weights; `set_step(step)`, `logged()` and `step_terms(model)` serve
schedules, logged weights and once-per-step terms. An add-on overrides only what it uses.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from instructune.model.loss_hooks import LossHooks


class Addon(LossHooks):
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

    @classmethod
    def refusal(cls, section: Any, lm_config: Any) -> str | None:
        """Why this add-on, as `section` configures it, cannot run on the model of `lm_config`
        (one line naming the family and the setting), or None. Read before any weight loads."""
        return None

    @classmethod
    def saved_section(cls, raw: dict) -> dict:
        """The config section `raw` as a run dir saved it (`store.py`), brought to today's
        fields: a field added since keeps what older runs did."""
        return raw

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

    def data_warnings(self, tasks: list[str]) -> list[str]:
        """Why the training data cannot teach this add-on what it should (one line each), from
        the task category of every training record ("" for none); train prints them."""
        return []

    def param_dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype
