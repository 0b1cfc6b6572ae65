"""Model setup: load, grow the vocabulary for the template, wrap with LoRA.

Functions take plain arguments; `recipes/builders.py` turns config sections into them.
"""

from __future__ import annotations

from torch import nn

from instructune.model.load import load_model, load_tokenizer
from instructune.model.vocab import add_template_tokens


def load_for_template(name: str, special_tokens: list[str], dtype: str = "float32",
                      attn_implementation: str = "sdpa"):
    """(model, tokenizer, new token ids) with the template's special tokens added.

    Args:
        name: model alias, run export dir, local path or hub id.
        special_tokens: the template's special tokens (`Template.special_tokens`); rows for
            new ones are added and mean-initialised.
        dtype: weights dtype name.
        attn_implementation: transformers attention backend.
    """
    tokenizer = load_tokenizer(name)
    model = load_model(name, dtype, attn_implementation)
    new_ids = add_template_tokens(model, tokenizer, special_tokens)
    return model, tokenizer, new_ids


def apply_lora(model: nn.Module, new_token_ids: list[int], *, r: int, alpha: float, dropout: float,
               target_modules: str | list[str]) -> nn.Module:
    """Wrap `model` with a peft LoRA adapter; rows of newly added tokens are trained too."""
    from peft import LoraConfig, get_peft_model

    lcfg = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules, task_type="CAUSAL_LM",
        # New template tokens start from a mean init; let their embedding rows learn.
        trainable_token_indices=list(new_token_ids) or None,
    )
    return get_peft_model(model, lcfg)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
