"""Atomic training checkpoints: trainable weights, optimizer, scheduler, RNG, data position.

    checkpoints/step-000010/
        trainable.safetensors   # only parameters with requires_grad (the adapter for LoRA)
        <extra>.safetensors     # the same of each extra module (add-ons, learned loss weights)
        optimizer.pt  scheduler.pt
        rng.pt                  # python, numpy, torch RNG states
        state.json              # step, epoch, micro-batch position in the epoch, ...

A checkpoint is written into a temp dir and renamed into place, so a crash mid-write never
leaves a half checkpoint that `latest` would pick up.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from instructune.atomic import atomic_dir
from instructune.data.jsonio import to_json


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of the parameters that are trained."""
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def rng_state() -> dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(root: str | Path, step: int, model: nn.Module, optimizer, scheduler,
                    state: dict[str, Any], keep: int = 2, extras: dict[str, nn.Module] | None = None) -> Path:
    """Write `root/step-XXXXXX` atomically and prune to the `keep` newest; returns its path.
    `extras`: {name: module} whose trained parameters are saved as `<name>.safetensors`."""
    root = Path(root)
    final = root / f"step-{step:06d}"
    with atomic_dir(final) as tmp:
        save_file(trainable_state(model), tmp / "trainable.safetensors")
        for name, module in (extras or {}).items():
            if trainable_state(module):
                save_file(trainable_state(module), tmp / f"{name}.safetensors")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        (tmp / "state.json").write_text(to_json({"step": step, **state}, indent=2))
    for old in list_checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(root: str | Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    root = Path(root)
    if not root.exists():
        return []
    return sorted(p for p in root.glob("step-*") if (p / "state.json").exists())


def restore_trainable(file: Path, model: nn.Module) -> None:
    """Copy the trained parameters saved in `file` into `model`."""
    params = dict(model.named_parameters())
    weights = load_file(file) if file.exists() else {}
    missing = [n for n, p in params.items() if p.requires_grad and n not in weights]
    if missing:
        raise ValueError(f"{file}: checkpoint lacks trainable parameters {missing[:3]}... "
                         "(was it made with another train.method, lora or addons config?)")
    with torch.no_grad():
        for n, w in weights.items():
            params[n].copy_(w)


def load_checkpoint(path: str | Path, model: nn.Module, optimizer, scheduler,
                    extras: dict[str, nn.Module] | None = None) -> dict[str, Any]:
    """Restore a checkpoint in place (and `extras`, as saved); returns its state.json contents."""
    path = Path(path)
    restore_trainable(path / "trainable.safetensors", model)
    for name, module in (extras or {}).items():
        restore_trainable(path / f"{name}.safetensors", module)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    return json.loads((path / "state.json").read_text())
