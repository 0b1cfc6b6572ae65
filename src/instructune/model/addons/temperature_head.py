"""Temperature head: predicts a sampling temperature from the pooled prompt.

    τ_r = softplus(MLP(mean of h_t over record r's instruction and context tokens))

A side head: it reads the final hidden states and changes nothing in the model's forward, so
a plain transformers export loses only the prediction. It is trained by its own loss term,
"temperature" (logged as `temperature_loss`): the squared error against a target temperature
per task category (`addons.temperature_head.targets`; the seeds: precise tasks low,
summarizing and rewriting medium, brainstorming and creative writing high), summed over
records and divided by the records of the accumulation window. `generate.temperature=auto`
samples each prompt at its predicted temperature (`generation/batched.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from instructune.data.templates import CONTEXT, INSTRUCTION
from instructune.model.addons.base import Addon
from instructune.model.segments import pool, record_count, record_index

TERM = "temperature"


class TemperatureHead(Addon):
    """Args: hidden: d; width: the MLP's hidden width; targets: {category: temperature};
    default: the target of other categories; weight: the term's weight; detach: train on
    detached hidden states (the term then leaves the LM alone)."""

    name = "temperature_head"
    changes_forward = False

    def __init__(self, hidden: int, width: int, targets: dict[str, float], default: float, weight: float = 1.0,
                 detach: bool = True):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(hidden, width), nn.GELU(), nn.Linear(width, 1))
        self.targets, self.default, self.weight, self.detach = dict(targets), default, weight, detach

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> "TemperatureHead":
        return cls(lm_config.hidden_size, section.hidden, section.targets, section.default, section.weight,
                   section.detach)

    def target(self, tasks: list[str | None]) -> torch.Tensor:
        """(R,) target temperature per record, from its task category."""
        return torch.tensor([self.targets.get(t or "", self.default) for t in tasks])

    def data_warnings(self, tasks: list[str]) -> list[str]:
        """A warning when every record has one target: the head can then only learn a constant
        (data without task categories all get `default`), and `temperature=auto` samples every
        prompt alike."""
        found = sorted({t or "" for t in tasks})
        targets = {self.targets.get(t, self.default) for t in found}
        if len(targets) > 1 or not tasks:
            return []
        named = ", ".join(repr(t) for t in found if t) or "none"
        return [f"addons.temperature_head: every training record has the target temperature {targets.pop():g} "
                f"(task categories in the data: {named}), so the head learns a constant; give the records "
                f"task categories that addons.temperature_head.targets names, or leave the head off"]

    def predict(self, hidden: torch.Tensor, segment_ids: torch.Tensor,
                position_ids: torch.Tensor | None = None, n_records: int | None = None) -> torch.Tensor:
        """Temperature per record.

        Args:
            hidden: (B, T, d) final hidden states.
            segment_ids: (B, T).
            position_ids: (B, T) for packed rows, else None (one record per row).
            n_records: R, when known on the host (`record_count`).
        Returns:
            (R,) float32 > 0.
        """
        record, n = record_index(segment_ids, position_ids, n_records)
        prompt = (segment_ids == INSTRUCTION) | (segment_ids == CONTEXT)
        h = hidden.detach() if self.detach else hidden
        pooled = pool(h.to(self.param_dtype()), prompt, record, n)
        return F.softplus(self.mlp(pooled)[:, 0]).float()

    def counts(self, batch: dict) -> dict[str, int]:
        return {TERM: record_count(batch)}

    def weights(self) -> dict[str, float]:
        return {TERM: self.weight}

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        pred = self.predict(out.hidden, batch["segment_ids"], batch.get("position_ids"), record_count(batch))
        tasks = batch.get("tasks") or [None] * pred.shape[0]
        return {TERM: ((pred - self.target(tasks).to(pred.device)) ** 2).sum()}
