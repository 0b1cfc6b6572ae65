"""Model setup: load, grow the vocabulary for the template, wrap with LoRA.

Functions take plain arguments; `recipes/builders.py` turns config sections into them.
"""

from __future__ import annotations

import re

from torch import nn

from instructune.config import ConfigError
from instructune.model.load import load_model, load_tokenizer
from instructune.model.vocab import add_template_tokens


def load_for_template(name: str, special_tokens: list[str], dtype: str = "auto",
                      attn_implementation: str = "auto", device="auto", training: bool = False,
                      quantization: str = "none"):
    """(model, tokenizer, new token ids) with the template's special tokens added.

    Args:
        name: model alias, run export dir, local path or hub id.
        special_tokens: the template's special tokens (`Template.special_tokens`); rows for
            new ones are added and mean-initialised.
        dtype: weights dtype name, or "auto" (`model.load.resolve_dtype`).
        attn_implementation: attention backend, or "auto" (`model.attention.resolve_attention`).
        device: where to load the model ("auto": the first accelerator).
        training: choose the attention for training rather than inference.
        quantization: "none" | "4bit" | "8bit" (`model.quantize`).
    """
    tokenizer = load_tokenizer(name)
    model = load_model(name, dtype, attn_implementation, device=device, training=training, quantization=quantization)
    new_ids = add_template_tokens(model, tokenizer, special_tokens)
    return model, tokenizer, new_ids


def apply_lora(model: nn.Module, new_token_ids: list[int], *, r: int, alpha: float, dropout: float,
               target_modules: str | list[str]) -> nn.Module:
    """Wrap `model` with a peft LoRA adapter; rows of newly added tokens are trained too.

    Raises:
        ConfigError: an entry of `target_modules` matches no module of `model`.
    """
    from peft import LoraConfig, get_peft_model

    check_targets(model, target_modules)
    lcfg = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules, task_type="CAUSAL_LM",
        # New template tokens start from a mean init; let their embedding rows learn.
        trainable_token_indices=list(new_token_ids) or None,
    )
    return get_peft_model(model, lcfg)


def check_targets(model: nn.Module, target_modules: str | list[str]) -> None:
    """Every entry of `target_modules` names a module of `model`, the way peft matches them: a
    list entry is a module name or its dotted tail ("q_proj", "self_attn.q_proj"); a string
    other than "all-linear" is a regular expression over whole module names.

    peft alone drops a misspelt entry silently when another entry matches (training then adapts
    fewer layers than asked), and fails with a traceback when none does.

    Raises:
        ConfigError: naming the first entry that matches nothing and the Linear layers' names.
    """
    if target_modules == "all-linear":
        return
    names = [n for n, _ in model.named_modules() if n]
    entries = [target_modules] if isinstance(target_modules, str) else list(target_modules)
    for entry in entries:
        if isinstance(target_modules, str):
            hit = any(re.fullmatch(entry, n) for n in names)
        else:
            hit = any(n == entry or n.endswith("." + entry) for n in names)
        if not hit:
            linear = dict.fromkeys(n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear))
            raise ConfigError(f"lora.target_modules: {entry!r} matches no module; the model has "
                              f"{', '.join(linear)} (or use all-linear)")


def enable_activation_checkpointing(model: nn.Module) -> None:
    """Recompute each decoder layer in backward (non-reentrant: works with frozen inputs, LoRA,
    packed position_ids and forward hooks)."""
    from instructune.model.forward import base_causal_lm

    base_causal_lm(model).gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def compile_layers(model: nn.Module, dynamic: bool | None = None) -> int:
    """`torch.compile` each decoder layer in place (parameter names unchanged, so checkpoints
    and export are unaffected); returns how many layers were compiled. Compiling layers rather
    than the whole model keeps one graph per layer shape and leaves the loss (and its host-side
    chunk loop) outside."""
    from instructune.model.forward import base_causal_lm

    layers = getattr(base_causal_lm(model).get_decoder(), "layers", None)
    if layers is None:
        raise ValueError("train.compile: this model has no decoder.layers to compile")
    for layer in layers:
        layer.compile(dynamic=dynamic)
    return len(layers)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; a DeepSpeed ZeRO-3 parameter counts whole (`ds_numel`),
    not as the empty placeholder each process holds between gathers."""
    def size(p) -> int:
        return getattr(p, "ds_numel", p.numel())

    total = sum(size(p) for p in model.parameters())
    return sum(size(p) for p in model.parameters() if p.requires_grad), total
