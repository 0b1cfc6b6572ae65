"""Loading a model for inference: the one loader that eval, generate, chat, serve and the synth
local backend use.

    model, tokenizer = load_for_inference("runs/x")      # the run's export/ and add-ons
    template = run_template("runs/x")                    # the template it was trained with

`name` is the default alias, an instructune run dir (its merged `export/`, with the add-on
weights saved in its `addons/` attached), an export dir, a local path or a hub id.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from instructune.config import ConfigError, TemplateConfig
from instructune.model.addons.store import attach_saved
from instructune.model.forward import InstructForward
from instructune.model.load import load_model, load_tokenizer
from instructune.model.vocab import add_template_tokens
from instructune.rundir import RunDir, model_path, saved_config


def load_for_inference(name: str, special_tokens: Sequence[str] = (), dtype: str = "auto",
                       attn_implementation: str | None = "auto", device: str | torch.device | None = "auto",
                       addons: bool = True) -> tuple[InstructForward, object]:
    """(model, tokenizer) of `name`, ready to generate.

    Args:
        name: the default alias, a run dir, an export dir, a path or a hub id.
        special_tokens: a template's special tokens to make sure of (`Template.special_tokens`):
            rows for any the model lacks are added and mean-initialised (a run's export has them).
        dtype: weights dtype name, or "auto" (`model.load.resolve_dtype`).
        attn_implementation: attention backend, or "auto" (`model.attention.resolve_attention`).
        device: where to load ("auto": the first accelerator).
        addons: attach the add-ons saved in run dir `name`, if any; False: the plain export
            (what a transformers or vLLM deployment of it runs).
    Returns:
        the model as an `InstructForward` (no add-on: the plain model), and its tokenizer.
    """
    path = model_path(name)
    tokenizer = load_tokenizer(path)
    model = load_model(path, dtype, attn_implementation, device=device)
    add_template_tokens(model, tokenizer, list(special_tokens))
    return attach_saved(model, name if addons else None, tokenizer=tokenizer), tokenizer


def run_template(name: str) -> TemplateConfig | None:
    """The `template` section of run dir `name`'s saved config.yaml; None when `name` is no
    run dir (no config.yaml there), or its config has no template section."""
    from instructune.config.loader import from_dict

    try:
        saved = saved_config(name)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    section = (saved or {}).get("template")
    return from_dict(TemplateConfig, section, f"{RunDir(name).config}: template.") if isinstance(section, dict) else None
