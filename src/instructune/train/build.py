"""Config sections → a model, add-ons and loss terms ready to train (as torchtune's builders).

    prec = precision(cfg.model, cfg.train, device)
    model, tokenizer, new_ids, prec = load_for_training(cfg.model, cfg.template, cfg.train, device, prec)
    model = trainable(cfg.train, cfg.lora, model, new_ids, prec)
    fwd = with_addons(cfg.addons, cfg.train, model, tokenizer)
    terms = loss_terms(cfg.objectives, cfg.train, cfg.data, model, train_ds, tokenizer, loss_impl)

Each takes the sections it reads, never a whole `Config`; `assemble.py` calls them in order.
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.config import (AddonsConfig, ConfigError, DataConfig, LoraConfig, ModelConfig, ObjectivesConfig,
                                TemplateConfig, TrainConfig)
from instructune.data.templates import get_template
from instructune.model.addons import build_addons
from instructune.model.attention import resolve_attention
from instructune.model.forward import InstructForward, base_causal_lm
from instructune.model.kernels import apply_fused_kernels
from instructune.model.load import model_config, resolve_device
from instructune.model.quantize import is_quantized, prepare_quantized
from instructune.model.lora_fusion import fuse_lora_linears, resolve_fuse
from instructune.model.setup import apply_lora, compile_layers, enable_activation_checkpointing, load_for_template
from instructune.objectives.term import LossTerm
from instructune.train.distributed import weight_sharding
from instructune.train.precision import Precision, autocast_adapter_inputs, keep_trainable_fp32, resolve_precision


def precision(m: ModelConfig, t: TrainConfig, device) -> Precision:
    """Weights dtype and autocast mode for training on `device` (`precision.py`)."""
    return resolve_precision(m.dtype, t.mixed_precision, t.method, device)


def quantization_refusal(m: ModelConfig, t: TrainConfig, lo: LoraConfig, o: ObjectivesConfig) -> str | None:
    """Why `model.quantization` cannot train with these sections, as one line naming the key at
    fault, or None when it can (or the base is not quantized). What works on a
    quantized base: LoRA (peft's k-bit layers), activation checkpointing, the add-ons, the fused
    decoder kernels (they touch norms, activations and rotary, not the Linear layers), L2-SP
    and the other objectives."""
    q = m.quantization
    if q == "none":
        return None
    base = f"a model.quantization={q} base"
    if t.method != "lora":
        return (f"train.method={t.method}: {base} cannot be fully fine-tuned (its weights are stored "
                f"quantized and get no gradient); use train.method=lora, or model.quantization=none")
    if lo.fuse_adapters is True:
        return (f"lora.fuse_adapters=true: the fused LoRA linears compute over float base weights, not the "
                f"bitsandbytes layers of {base}, so nothing would be fused; use lora.fuse_adapters=auto or false")
    if o.ewc.weight > 0:
        return (f"objectives.ewc.weight: EWC's Fisher needs gradients of the base weights, which {base} "
                f"cannot take; switch EWC off (objectives.ewc.weight=0) or use objectives.l2sp instead")
    if t.distributed == "fsdp":
        return (f"train.distributed=fsdp: FSDP cannot shard {base} here; use train.distributed=ddp "
                f"(one copy per GPU), or model.quantization=none")
    return None


def load_for_training(m: ModelConfig, template: TemplateConfig, t: TrainConfig, device="auto",
                      prec: Precision | None = None, load_on=None) -> tuple[nn.Module, object, list[int], Precision]:
    """(base model with the template's tokens, tokenizer, new token ids, precision), loaded for
    training on `device` ("auto": the first accelerator), which decides precision, attention and
    fused kernels; `load_on`: where to load the weights, if not `device` (FSDP shards from a
    host copy)."""
    device = resolve_device(device)
    prec = prec or precision(m, t, device)
    attn = resolve_attention(m.attn_implementation, device, training=True, config=model_config(m.name))
    model, tokenizer, new_ids = load_for_template(m.name, get_template(template.name).special_tokens,
                                                  prec.weights, attn, device=load_on or device, training=True,
                                                  quantization=m.quantization)
    apply_fused_kernels(model, t.fused_kernels, device)
    return model, tokenizer, new_ids, prec


def trainable(t: TrainConfig, lo: LoraConfig, model: nn.Module, new_ids: list[int], prec: Precision) -> nn.Module:
    """The loaded model made ready to train for `train.method`: LoRA-wrapped (or as is) and
    `lora.fuse_adapters` decided for the device the weights are on (a host copy that FSDP
    shards later counts as the host), trained parameters in float32 whatever the weights dtype,
    then `train.activation_checkpointing` and `train.compile`. A quantized base (`model.quantization`)
    gets peft's k-bit preparation first, and never the fused LoRA linears (they cover peft's
    float Linear layers, not its bitsandbytes ones; `quantization_refusal` refuses "true")."""
    quantized = is_quantized(model)
    if quantized:
        model = prepare_quantized(model)
    if t.method == "lora":
        model = apply_lora(model, new_ids, r=lo.r, alpha=lo.alpha, dropout=lo.dropout,
                           target_modules=lo.target_modules)
        if prec.mixed != "no":
            autocast_adapter_inputs(model)
        if not quantized and resolve_fuse(lo.fuse_adapters, next(model.parameters()).device, t.compile):
            fuse_lora_linears(model)
    keep_trainable_fp32(model)
    model.config.use_cache = False
    if t.activation_checkpointing:
        enable_activation_checkpointing(model)
    if t.compile:
        compile_layers(model)
    return model


def model_for_training(m: ModelConfig, template: TemplateConfig, t: TrainConfig, lo: LoraConfig, device="auto",
                       prec: Precision | None = None, load_on=None) -> tuple[nn.Module, object, list[int]]:
    """(model ready to train, tokenizer, new token ids): `load_for_training`, then `trainable`."""
    model, tokenizer, new_ids, prec = load_for_training(m, template, t, device, prec, load_on)
    return trainable(t, lo, model, new_ids, prec), tokenizer, new_ids


def with_addons(a: AddonsConfig, t: TrainConfig, model: nn.Module, tokenizer=None) -> InstructForward:
    """`model` (after peft wrapped it, so `all-linear` LoRA never lands on add-on layers) with
    the enabled `addons` attached, their parameters trained in float32 on the model's device."""
    sections = a.enabled()
    if sections and (sharding := weight_sharding(t.distributed)):
        raise ConfigError(f"addons: add-ons are not supported with {sharding} (weights split across processes) "
                          "yet; switch the add-ons off, or train with DDP or DeepSpeed ZeRO-2")
    addons = build_addons(sections, base_causal_lm(model).config, tokenizer=tokenizer)
    device = next(model.parameters()).device
    for addon in addons.values():
        addon.to(device=device, dtype=torch.float32)
    return InstructForward(model, addons)


def loss_terms(o: ObjectivesConfig, t: TrainConfig, d: DataConfig, model: nn.Module, train_ds, tokenizer,
               loss_impl: str = "chunked", embed=None) -> dict[str, LossTerm]:
    """The `objectives` section's enabled per-micro-batch terms as {name: term} for
    `TrainingObjective`, their parameters in float32 on the model's device; {} with all of them
    off (the plain next-token loss, exactly). EWC / L2-SP are built by the caller (they read a
    corpus through `evaluate`, above this package).

    Args:
        o, t, d: the `objectives`, `train` (chunk size) and `data` (instruction masking) sections.
        model: the model being trained (its hidden size and device).
        train_ds: the tokenized training set (its tasks, trained tokens and instructions).
        tokenizer: decodes the instructions the representation loss embeds.
        loss_impl: the next-token loss's implementation (shared by the token-level terms).
        embed: an `EmbedFn` in place of `objectives.representation.embedder` (tests).
    """
    from instructune.data.masking import mask_token_id
    from instructune.embed import load_embedder
    from instructune.objectives.instruction import InstructionObjective
    from instructune.objectives.instruction_tokens import InstructionTokensObjective
    from instructune.objectives.multitask import MultitaskObjective, inverse_frequency, task_name
    from instructune.objectives.representation import RepresentationObjective, instruction_targets

    chunk = t.loss_chunk_tokens
    if not (o.instruction.weight or o.instruction_tokens.weight or o.multitask.mode != "none"
            or o.representation.weight):
        return {}
    lm = base_causal_lm(model)
    width = lm.config.hidden_size
    out: dict[str, LossTerm] = {}
    if o.instruction.weight > 0:
        i = o.instruction
        out["instruction"] = InstructionObjective(width, i.weight, i.warmup_steps, i.dim, i.temperature, i.group)
    if o.instruction_tokens.weight > 0:
        im = d.instruction_masking  # its mask token in the inputs is no target
        mask_id = mask_token_id(tokenizer, im.token) if im.fraction and im.mode != "drop" else None
        out["instruction_tokens"] = InstructionTokensObjective(o.instruction_tokens.weight, loss_impl, chunk,
                                                               ignore_id=mask_id)
    if o.multitask.mode != "none":
        m = o.multitask
        tokens: dict[str, int] = {}
        for task, n in zip(train_ds["task"], train_ds["n_trained"]):
            tokens[task_name(task)] = tokens.get(task_name(task), 0) + n
        weights = inverse_frequency(tokens) if m.inverse_frequency else {}
        weights.update({task_name(task): w for task, w in m.weights.items()})
        out["multitask"] = MultitaskObjective(list(tokens), m.mode, weights, m.floor, m.max_weight, m.rate,
                                              loss_impl, chunk)
    if o.representation.weight > 0:
        r = o.representation
        targets, has = instruction_targets(train_ds, tokenizer, embed or load_embedder(r.embedder), r.embedder)
        out["representation"] = RepresentationObjective(width, targets, has, r.weight, r.distance)
    device = next(model.parameters()).device
    for term in out.values():
        term.to(device=device, dtype=torch.float32)
    return out
