"""Mixed precision: which dtype the weights load in and what accelerate autocasts to.

    p = resolve_precision("auto", "auto", "lora", device)   # GPU: Precision("bfloat16", "bf16")
    model = load_model(name, p.weights, ...); keep_trainable_fp32(model)
    Accelerator(mixed_precision=p.mixed)

The rule: compute in bf16 (fp16) under autocast where the device is fast at it; keep every
trained parameter, its gradient and its optimizer state in float32. Frozen base weights of a
LoRA run are stored in the autocast dtype (half the memory, and autocast would cast them to it
on every matmul anyway); full fine-tuning loads float32 master weights. On a CPU without fast
bf16 everything stays float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from instructune.model.load import supports_bf16

HALF = {"bf16": "bfloat16", "fp16": "float16"}


@dataclass(frozen=True)
class Precision:
    """Attributes: weights: dtype name the model loads in; mixed: "no" | "bf16" | "fp16"."""

    weights: str
    mixed: str


def resolve_precision(dtype: str, mixed_precision: str, method: str, device: torch.device | str) -> Precision:
    """Resolve `model.dtype` and `train.mixed_precision` ("auto" or explicit) for `device`.

    Args:
        dtype: "auto" | "float32" | "bfloat16" | "float16".
        mixed_precision: "auto" | "no" | "bf16" | "fp16".
        method: "lora" or "full".
        device: the training device.
    Returns:
        mixed "auto" → "bf16" where `supports_bf16(device)`, else "no"; weights "auto" → the
        autocast dtype for LoRA under mixed precision, float32 otherwise.
    """
    mixed = mixed_precision
    if mixed == "auto":
        mixed = "bf16" if supports_bf16(device) else "no"
    weights = dtype
    if weights == "auto":
        weights = HALF[mixed] if method == "lora" and mixed in HALF else "float32"
    return Precision(weights, mixed)


def keep_trainable_fp32(model: nn.Module) -> int:
    """Cast every trainable parameter stored in half precision to float32, in place.

    peft already keeps LoRA adapters in float32; this covers full fine-tuning of half-precision
    weights and other trainable extras (new token rows), so that optimizer updates never round
    to bf16. Returns how many parameters were cast.
    """
    n = 0
    for p in model.parameters():
        if p.requires_grad and p.dtype in (torch.bfloat16, torch.float16):
            p.data = p.data.float()
            n += 1
    return n


def autocast_adapter_inputs(model: nn.Module) -> int:
    """Under autocast, let LoRA layers take their input as it comes (bf16) instead of casting it to
    the float32 adapter dtype: autocast casts it straight back to bf16 for the matmul, so the
    round trip only costs two activation-sized copies per adapted layer (and keeps one more for
    backward). Returns how many layers were switched. Only for mixed precision: without
    autocast a bf16 input would meet float32 adapter weights."""
    n = 0
    for module in model.modules():
        if hasattr(module, "cast_input_dtype_enabled"):
            module.cast_input_dtype_enabled = False
            n += 1
    return n
