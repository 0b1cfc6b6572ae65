"""The `generate` section: sampling for generate / chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from instructune.config.errors import above, at_least, between, check_ranges


@dataclass
class GenerateConfig:
    """Sampling parameters for generate / chat.

    Attributes:
        max_new_tokens: tokens to generate at most.
        temperature: 0 for greedy decoding; "auto": each prompt at the temperature that the
            run's temperature head predicts for it (`addons.temperature_head`).
        top_p: nucleus sampling mass.
        top_k: top-k sampling; 0 disables it.
        repetition_penalty: >1 discourages repeats.
        batch_size: prompts per batch.
        seed: sampling seed.
    """

    max_new_tokens: int = 128
    temperature: float | Literal["auto"] = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    batch_size: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        fixed = {} if self.temperature == "auto" else {"temperature": at_least(0)}
        check_ranges(self, {**fixed, "max_new_tokens": at_least(1), "top_p": between(0, 1, lo_open=True),
                           "top_k": at_least(0), "repetition_penalty": above(0), "batch_size": at_least(1)})
