"""The `model` section: the base model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class ModelConfig:
    """The base model.

    Attributes:
        name: "smollm2-135m-instruct" (the embedded default, offline), a local path or a hub id.
        dtype: weights dtype; float32 on CPUs without bf16 support.
        attn_implementation: transformers attention backend.
    """

    name: str = "smollm2-135m-instruct"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"
