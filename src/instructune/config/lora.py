"""The `lora` section: LoRA adapter settings."""

from __future__ import annotations

from dataclasses import dataclass

from instructune.config.errors import above, at_least, between, check_ranges


@dataclass
class LoraConfig:
    """LoRA adapter settings (used when train.method is "lora").

    Attributes:
        r: rank.
        alpha: scaling numerator (scale = alpha / r).
        dropout: dropout on the LoRA input.
        target_modules: "all-linear" or a list of module names (e.g. [q_proj, v_proj]).
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"

    def __post_init__(self) -> None:
        check_ranges(self, {"r": at_least(1), "alpha": above(0), "dropout": between(0, 1, hi_open=True)})
