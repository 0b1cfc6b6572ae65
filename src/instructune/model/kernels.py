"""Fused kernels for the decoder's elementwise work: liger-kernel's RMSNorm, SwiGLU and RoPE.

On a GPU, a Llama layer's norms, rotary embedding and SiLU·mul each run as several small
memory-bound kernels (RMSNorm alone upcasts, squares, averages, scales and casts back), and
their intermediates are kept for backward. liger-kernel's Triton versions do each in one pass
and keep less. `apply_fused_kernels` patches the model instance (and, as liger does, the
transformers module's classes for that model type, so later loads in the same process get
them too). The LM head + loss is handled separately (`objectives/linear_ce.py`).
"""

from __future__ import annotations

import torch
from torch import nn


def liger_available() -> bool:
    """Whether liger-kernel (and its Triton) can be imported; the fused kernels here and the
    fused LM head + loss (`objectives/linear_ce.py`) both need it."""
    try:
        import liger_kernel.transformers.functional  # noqa: F401
    except Exception:  # ImportError, or Triton failing to find a GPU backend
        return False
    return True


def apply_fused_kernels(model: nn.Module, requested: bool | str, device: torch.device | str) -> bool:
    """Patch liger's RMSNorm / SwiGLU / RoPE into `model` (a transformers model, before LoRA).

    Args:
        model: the causal LM.
        requested: "auto" (on CUDA when liger-kernel is installed), True (required), False.
        device: the training device.
    Returns:
        whether the kernels were applied.
    Raises:
        ValueError: True was requested but liger-kernel or a CUDA device is missing.
    """
    usable = torch.device(device).type == "cuda" and liger_available()
    if requested is False or (requested == "auto" and not usable):
        return False
    if not usable:
        raise ValueError("train.fused_kernels=true needs liger-kernel (pip install liger-kernel) and a CUDA GPU")
    from liger_kernel.transformers import _apply_liger_kernel_to_instance

    _apply_liger_kernel_to_instance(model=model, rope=True, rms_norm=True, swiglu=True, cross_entropy=False,
                                    fused_linear_cross_entropy=False)
    return True
