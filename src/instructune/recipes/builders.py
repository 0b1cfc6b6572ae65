"""Builders: config sections → the library's keyword arguments (as torchtune's builders do).

Library code never sees a `Config`; recipes call these to get the objects they wire together.
"""

from __future__ import annotations

from collections.abc import Callable

from datasets import Dataset
from torch import nn

from instructune.config import Config, TemplateConfig
from instructune.data.splits import tokenize_split
from instructune.data.templates import TemplateOptions, get_template
from instructune.data.tokenized import PrepareStats
from instructune.model.load import load_tokenizer
from instructune.model.setup import apply_lora, load_for_template
from instructune.model.vocab import add_template_tokens


def template_options(t: TemplateConfig) -> TemplateOptions:
    """The renderer's options from the `template` section."""
    return TemplateOptions(t.context_separator, t.rationale_separator, t.train_rationale, t.train_answer)


def template_tokenizer(cfg: Config):
    """The model's tokenizer with the template's special tokens added (no model loaded)."""
    tokenizer = load_tokenizer(cfg.model.name)
    add_template_tokens(None, tokenizer, get_template(cfg.template.name).special_tokens)
    return tokenizer


def split(cfg: Config, tokenizer, names: list[str], num_proc: int | None = None,
          log: Callable[[str], None] | None = None, name: str = "data") -> tuple[Dataset, PrepareStats]:
    """Tokenize (or reuse from the cache) the inputs `names` with the run's template and data settings."""
    d = cfg.data
    return tokenize_split(names, tokenizer, get_template(cfg.template.name), template_options(cfg.template),
                          max_length=d.max_length, fmt=d.format, reader=d.reader, num_proc=num_proc,
                          use_cache=d.cache, log=log, split=name)


def model_for_template(cfg: Config, name: str | None = None):
    """(model, tokenizer, new token ids): `name` (default `model.name`) with the template's tokens."""
    return load_for_template(name or cfg.model.name, get_template(cfg.template.name).special_tokens,
                             cfg.model.dtype, cfg.model.attn_implementation)


def trainable(cfg: Config, model: nn.Module, new_ids: list[int]) -> nn.Module:
    """The loaded model made ready to train for `train.method` (LoRA-wrapped, or as is)."""
    if cfg.train.method == "lora":
        lo = cfg.lora
        model = apply_lora(model, new_ids, r=lo.r, alpha=lo.alpha, dropout=lo.dropout,
                           target_modules=lo.target_modules)
    model.config.use_cache = False
    return model


def model_for_training(cfg: Config) -> tuple[nn.Module, object, list[int]]:
    """(model ready to train, tokenizer, new token ids) for `train.method`."""
    model, tokenizer, new_ids = model_for_template(cfg)
    return trainable(cfg, model, new_ids), tokenizer, new_ids


def place_on_device(model: nn.Module) -> nn.Module:
    """Move a model for inference onto the accelerator when there is one (eval, generate)."""
    import torch

    if torch.cuda.is_available():
        model.to("cuda")
    return model
