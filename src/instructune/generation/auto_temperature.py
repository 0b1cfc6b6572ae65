"""Sampling each prompt at the temperature the model's temperature head predicts for it.

    temps = predict_temperatures(fwd, prompts, segments)        # (B,) one per prompt
    processor = RowTemperature(temps)                           # a transformers LogitsProcessor

`generate.temperature=auto` (and the server's omitted or "auto" temperature on a model with
the head) ends here. The temperature is chosen per prompt, so one batch may hold several;
transformers' own `temperature` is one number per call, so the rows are scaled by a logits
processor instead (with do_sample on and transformers' temperature at 1). A row predicted
below `MIN_SAMPLING_TEMPERATURE` is decoded greedily, as a fixed temperature 0 is.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

from instructune.data.collate import collate
from instructune.data.render import IGNORE
from instructune.generation.params import MIN_SAMPLING_TEMPERATURE
from instructune.model.forward import InstructForward


def temperature_head(fwd: InstructForward):
    """The attached temperature head, or a ValueError saying how to get one."""
    head = fwd.addons["temperature_head"] if "temperature_head" in fwd.addons else None
    if head is None:
        raise ValueError("generate.temperature=auto needs a run trained with addons.temperature_head.enabled=true "
                         "(pass its run dir as --model)")
    return head


@torch.no_grad()
def predict_temperatures(fwd: InstructForward, prompts: list[list[int]], segments: list[list[int]], pad_id: int
                         ) -> torch.Tensor:
    """(B,) float32 predicted temperature per prompt (prompts right-padded for one forward:
    causal attention keeps real tokens from the pads, and pads are in no pooled segment)."""
    head = temperature_head(fwd)
    device = next(fwd.parameters()).device
    batch = collate([{"input_ids": p, "labels": [IGNORE] * len(p), "segment_ids": s}
                     for p, s in zip(prompts, segments)], pad_id)
    ids, seg = batch["input_ids"].to(device), batch["segment_ids"].to(device)
    return head.predict(fwd(ids, seg).hidden, seg)


class RowTemperature(LogitsProcessor):
    """Divides each row's scores by its own temperature; rows at ~0 keep only their argmax.

    Args:
        temperatures: (B,) one per row of the generation batch.
    """

    def __init__(self, temperatures: torch.Tensor):
        self.t = temperatures.float()

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        t = self.t.to(scores.device)
        greedy = t < MIN_SAMPLING_TEMPERATURE
        scaled = scores / t.clamp(min=MIN_SAMPLING_TEMPERATURE)[:, None]
        if greedy.any():
            only_best = torch.full_like(scores, float("-inf")).scatter(
                1, scores.argmax(-1, keepdim=True), 0.0)
            scaled = torch.where(greedy[:, None], only_best, scaled)
        return scaled
