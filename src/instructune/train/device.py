"""Which device the run is on."""

from __future__ import annotations

from instructune.model.load import default_device


def has_accelerator() -> bool:
    """Whether a CUDA, XPU or MPS device is available (`model.load.default_device` decides which)."""
    return default_device().type != "cpu"
