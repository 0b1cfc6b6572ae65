"""Sharded checkpoints for FSDP2 and DeepSpeed runs: every process writes and reads its own shards.

    checkpoints/step-000010/
        dcp/            # FSDP2, torch.distributed.checkpoint: trainable parameters + optimizer
                        # state, one file per process (frozen base weights are not saved)
        deepspeed/      # DeepSpeed instead: its own checkpoint (engine.save_checkpoint), the
                        # optimizer partition of every process, frozen weights excluded
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


def _deepspeed(module) -> bool:
    """Whether `module` is a DeepSpeed engine (what accelerate's prepare returns under DeepSpeed)."""
    return hasattr(module, "save_checkpoint") and hasattr(module, "load_checkpoint")


def _write_shards(folder: Path, module, optimizer) -> None:
    """Every process writes its part of the trainable parameters and optimizer state."""
    if _deepspeed(module):
        module.save_checkpoint(str(folder / "deepspeed"), tag="shards", save_latest=False,
                               exclude_frozen_parameters=True)
        return
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_sd, optim_sd = get_state_dict(module, _inner(optimizer), options=_options())
    dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(folder / "dcp"))


def _read_shards(folder: Path, module, optimizer) -> None:
    """Every process loads its part back into its (sharded) parameters and optimizer state."""
    if _deepspeed(module):
        # Frozen weights were not saved, so the module load is not strict; the scheduler is ours.
        path, _ = module.load_checkpoint(str(folder / "deepspeed"), tag="shards", load_module_strict=False,
                                         load_optimizer_states=True, load_lr_scheduler_states=False)
        if path is None:
            raise FileNotFoundError(f"{folder / 'deepspeed'}: no DeepSpeed checkpoint to resume from")
        return
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    model_sd, optim_sd = get_state_dict(module, _inner(optimizer), options=_options())
    state = {"model": model_sd, "optim": optim_sd}
    dcp.load(state, checkpoint_id=str(folder / "dcp"))
    set_state_dict(module, _inner(optimizer), model_state_dict=state["model"], optim_state_dict=state["optim"],
                   options=_options(strict=False))


def save(root: str | Path, step: int, module, optimizer, scheduler, position: dict[str, Any], accelerator,
         keep: int = 2) -> Path:
    """Write `root/step-XXXXXX` from every process; returns its path."""
    root = Path(root)
    final, tmp = root / f"step-{step:06d}", root / f".step-{step:06d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    _write_shards(tmp, module, optimizer)
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
    path = Path(path)
    _read_shards(path, module, optimizer)
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / f"rng-{accelerator.process_index}.pt", weights_only=False))
    return json.loads((path / "state.json").read_text())


def full_trainable_state(module, accelerator) -> dict[str, torch.Tensor]:
    """The trained parameters gathered whole onto the CPU of the main process (every process must
    call this; others get an empty dict). Keys are `module`'s (a `TrainingObjective`: "model.model.…"
    for the model, "model.addons.…" for add-ons). Under DeepSpeed ZeRO-3 every weight comes back
    (frozen ones too), in the dtype DeepSpeed computes in."""
    if _deepspeed(module):
        return accelerator.get_state_dict(module) or {}
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(module, options=_options(full_state_dict=True, cpu_offload=True))
