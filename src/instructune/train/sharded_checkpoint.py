"""Sharded checkpoints for FSDP2 runs: every process writes and reads its own shards.

    checkpoints/step-000010/
        dcp/            # torch.distributed.checkpoint: trainable parameters + optimizer state,
                        # one file per process (frozen base weights are not saved)
        scheduler.pt  rng-<rank>.pt  state.json

Written into `.step-XXXXXX.tmp` by all processes and renamed into place by the main one after
everyone finished, so `list_checkpoints` never sees a half checkpoint. Resuming loads each
process's shards back into its sharded parameters and optimizer state, and every process's
RNG, so the run continues exactly.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from instructune.train.checkpoint import list_checkpoints, rng_state, set_rng_state


def _options(**kw):
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(ignore_frozen_params=True, **kw)


def _inner(optimizer):
    """The torch optimizer under accelerate's wrapper."""
    return getattr(optimizer, "optimizer", optimizer)


def save(root: str | Path, step: int, module, optimizer, scheduler, position: dict[str, Any], accelerator,
         keep: int = 2) -> Path:
    """Write `root/step-XXXXXX` from every process; returns its path."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    root = Path(root)
    final, tmp = root / f"step-{step:06d}", root / f".step-{step:06d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    model_sd, optim_sd = get_state_dict(module, _inner(optimizer), options=_options())
    dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(tmp / "dcp"))
    torch.save(rng_state(), tmp / f"rng-{accelerator.process_index}.pt")
    if accelerator.is_main_process:
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        (tmp / "state.json").write_text(json.dumps({"step": step, **position}, indent=2))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in list_checkpoints(root)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load(path: str | Path, module, optimizer, scheduler, accelerator) -> dict[str, Any]:
    """Restore this process's shards, optimizer state, scheduler and RNG; returns state.json."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    path = Path(path)
    model_sd, optim_sd = get_state_dict(module, _inner(optimizer), options=_options())
    state = {"model": model_sd, "optim": optim_sd}
    dcp.load(state, checkpoint_id=str(path / "dcp"))
    set_state_dict(module, _inner(optimizer), model_state_dict=state["model"], optim_state_dict=state["optim"],
                   options=_options(strict=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / f"rng-{accelerator.process_index}.pt", weights_only=False))
    return json.loads((path / "state.json").read_text())


def full_trainable_state(module) -> dict[str, torch.Tensor]:
    """The trained parameters gathered whole onto the CPU of the main process (every process must
    call this; others get an empty dict). Keys are `module`'s (a `TrainingObjective`: "model.model.…" for the model, "model.addons.…" for add-ons)."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(module, options=_options(full_state_dict=True, cpu_offload=True))
