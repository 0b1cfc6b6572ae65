"""The `lora` section: LoRA adapter settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from instructune.config.errors import above, at_least, between, check_ranges


@dataclass
class LoraConfig:
    """LoRA adapter settings (used when train.method is "lora").

    Attributes:
        r: rank.
        alpha: scaling numerator (scale = alpha / r).
        dropout: dropout on the LoRA input.
        target_modules: "all-linear" or a list of module names (e.g. [q_proj, v_proj]).
        fuse_adapters: compute each adapted linear as one autograd function (the adapter's add
            folded into the base GEMM, one input-gradient buffer) and the adapters of linears
            that share an input (q/k/v, gate/up) with one A GEMM (`model/lora_fusion.py`); the
            adapter weights stay peft's. "auto": on when training on CUDA without
            train.compile; true; false (peft's own forward).
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"
    fuse_adapters: bool | Literal["auto"] = "auto"

    def __post_init__(self) -> None:
        check_ranges(self, {"r": at_least(1), "alpha": above(0), "dropout": between(0, 1, hi_open=True)})
