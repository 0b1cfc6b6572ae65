"""Model setup for training: load, grow the vocabulary for the template, wrap with LoRA."""

from __future__ import annotations

from torch import nn

from instructune.config import Config
from instructune.data.templates import get_template
from instructune.model.load import load_model, load_tokenizer
from instructune.model.vocab import add_template_tokens


def load_for_template(cfg: Config, name: str | None = None):
    """(model, tokenizer, new token ids) with the template's special tokens added.

    Args:
        cfg: the run config (template, dtype, attention).
        name: model to load instead of `cfg.model.name` (e.g. a run's export dir).
    """
    name = name or cfg.model.name
    tokenizer = load_tokenizer(name)
    model = load_model(name, cfg.model.dtype, cfg.model.attn_implementation)
    new_ids = add_template_tokens(model, tokenizer, get_template(cfg.template.name).special_tokens)
    return model, tokenizer, new_ids


def apply_lora(model: nn.Module, cfg: Config, new_token_ids: list[int]) -> nn.Module:
    """Wrap `model` with a peft LoRA adapter; rows of newly added tokens are trained too."""
    from peft import LoraConfig, get_peft_model

    lcfg = LoraConfig(
        r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM",
        # New template tokens start from a mean init; let their embedding rows learn.
        trainable_token_indices=list(new_token_ids) or None,
    )
    return get_peft_model(model, lcfg)


def prepare_for_training(cfg: Config):
    """(model ready to train, tokenizer, new token ids) for `cfg.train.method`."""
    model, tokenizer, new_ids = load_for_template(cfg)
    if cfg.train.method == "lora":
        model = apply_lora(model, cfg, new_ids)
    model.config.use_cache = False
    return model, tokenizer, new_ids


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
