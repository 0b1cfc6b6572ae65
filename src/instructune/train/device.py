"""Which device the run is on."""

from __future__ import annotations

import torch


def has_accelerator() -> bool:
    """Whether a CUDA, XPU or MPS device is available."""
    return (torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available())
            or torch.backends.mps.is_available())
