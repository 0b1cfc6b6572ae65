"""Saving and restoring add-ons beside a run's adapter.

    RUN_DIR/addons/config.json          {name: the add-on's config section}
    RUN_DIR/addons/addons.safetensors   their weights ("<name>.<parameter>")

`export/` stays a plain transformers checkpoint (the merged adapter, no add-on); loading a run
dir for eval / generate / chat / serve attaches the add-ons from here onto it
(`attach_saved`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn

from instructune.data.jsonio import to_json
from instructune.model.addons import ADDONS, build_addons
from instructune.model.forward import InstructForward
from instructune.rundir import RunDir

CONFIG, WEIGHTS = "config.json", "addons.safetensors"
# Settings added with a new default after add-ons were already being saved: a saved section
# without them was trained in the earlier form, and must be rebuilt in it (its weights say so).
EARLIER_FORM = {"two_stream": {"gate": "static"}, "reasoning_head": {"scope": "all"}}


def save_addons(fwd: InstructForward, sections: dict[str, Any], run_dir: str | Path) -> str:
    """Write the attached add-ons and their config sections under `run_dir/addons/`; returns
    the folder, or "" when none is attached."""
    if not fwd.addons:
        return ""
    out = RunDir(run_dir).addons
    out.mkdir(parents=True, exist_ok=True)
    cfg = {name: dataclasses.asdict(sections[name]) if dataclasses.is_dataclass(sections[name]) else sections[name]
           for name in fwd.addons}
    (out / CONFIG).write_text(to_json(cfg, indent=2))
    state = {k: v.detach().cpu().contiguous() for k, v in fwd.addons.state_dict().items()}
    save_file(state, out / WEIGHTS)
    return str(out)


def saved_sections(run_dir: str | Path) -> dict[str, Any]:
    """{name: config section} of the add-ons saved in `run_dir` ({} when none)."""
    path = RunDir(run_dir).addons / CONFIG
    if not path.exists():
        return {}
    import typing

    from instructune.config.addons import AddonsConfig
    from instructune.config.loader import from_dict

    raw = json.loads(path.read_text())
    unknown = sorted(set(raw) - set(ADDONS))
    if unknown:
        raise ValueError(f"{path}: unknown add-on(s) {unknown}; this instructune knows {', '.join(ADDONS)}")
    types = typing.get_type_hints(AddonsConfig)
    return {name: from_dict(types[name], {**EARLIER_FORM.get(name, {}), **section}, f"{path}: addons.{name}.")
            for name, section in raw.items()}


def attach_saved(model: nn.Module, run_dir: str | Path | None, **resources: Any) -> InstructForward:
    """`model` with the add-ons saved in `run_dir` attached (none: a plain `InstructForward`),
    in the model's dtype and on its device; `resources` (tokenizer, embed) as `build_addons`."""
    sections = saved_sections(run_dir) if run_dir else {}
    if not sections:
        return InstructForward(model)
    addons = build_addons(sections, model.config, **resources)
    param = next(model.parameters())
    holder = nn.ModuleDict(addons)
    holder.load_state_dict(load_file(RunDir(run_dir).addons / WEIGHTS))
    holder.to(device=param.device, dtype=param.dtype)
    return InstructForward(model, dict(holder.items()))
