"""Builders: config sections → the library's keyword arguments (as torchtune's builders do).

Library code never sees a `Config`; recipes call these to get the objects they wire together.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from datasets import Dataset
from torch import nn

from instructune.config import Config, ConfigError, TemplateConfig
from instructune.data.inputs import load_inputs
from instructune.data.record import Record
from instructune.data.splits import tokenize_split
from instructune.data.templates import TemplateOptions, get_template
from instructune.data.tokenized import PrepareStats
from instructune.model.addons import build_addons
from instructune.model.attention import resolve_attention
from instructune.model.forward import InstructForward, base_causal_lm
from instructune.model.kernels import apply_fused_kernels
from instructune.model.load import load_tokenizer, resolve_device
from instructune.model.lora_fusion import fuse_lora_linears, resolve_fuse
from instructune.model.setup import apply_lora, compile_layers, enable_activation_checkpointing, load_for_template
from instructune.model.vocab import add_template_tokens
from instructune.train.distributed import weight_sharding
from instructune.train.precision import Precision, autocast_adapter_inputs, keep_trainable_fp32, resolve_precision


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


def heldout_sets(cfg: Config) -> dict[str, list[Record]]:
    """Named held-out sets: "heldout" (`data.heldout`) and `eval.sets`, each cut to `eval.max_records`."""
    names = {"heldout": cfg.data.heldout, **cfg.eval.sets}
    out = {}
    for name, files in names.items():
        if not files:
            continue
        records = load_inputs(files, cfg.data.format, cfg.data.reader)
        out[name] = records[:cfg.eval.max_records] if cfg.eval.max_records else records
    return out


def model_for_template(cfg: Config, name: str | None = None, device="auto", dtype: str | None = None,
                       training: bool = False):
    """(model, tokenizer, new token ids): `name` (default `model.name`) with the template's tokens,
    on `device` ("auto": the first accelerator) in `dtype` (default `model.dtype`)."""
    return load_for_template(name or cfg.model.name, get_template(cfg.template.name).special_tokens,
                             dtype or cfg.model.dtype, cfg.model.attn_implementation, device=device, training=training)


def model_with_addons(cfg: Config, name: str | None = None, device="auto", dtype: str | None = None,
                      plain: bool = False) -> tuple[InstructForward, object]:
    """(model with the add-ons of run dir `name` attached, tokenizer) for eval / generate / chat:
    `name` is a run dir (its merged `export/` + `addons/`), an export, a path or a hub id
    (default `model.name`); `plain`: leave the add-ons off (what a plain transformers or vLLM
    deployment of the export runs)."""
    from instructune.model.addons.store import attach_saved
    from instructune.model.load import resolve_tuned

    model, tokenizer, _ = model_for_template(cfg, resolve_tuned(name) if name else None, device, dtype)
    return attach_saved(model, None if plain else name, tokenizer=tokenizer), tokenizer


def precision(cfg: Config, device) -> Precision:
    """Weights dtype and autocast mode for training on `device` (`train/precision.py`)."""
    return resolve_precision(cfg.model.dtype, cfg.train.mixed_precision, cfg.train.method, device)


def load_for_training(cfg: Config, device="auto", prec: Precision | None = None, load_on=None
                      ) -> tuple[nn.Module, object, list[int], Precision]:
    """(base model with the template's tokens, tokenizer, new token ids, precision), loaded for
    training on `device` ("auto": the first accelerator), which decides precision, attention and
    fused kernels; `load_on`: where to load the weights, if not `device` (FSDP shards from a
    host copy)."""
    device = resolve_device(device)
    prec = prec or precision(cfg, device)
    attn = resolve_attention(cfg.model.attn_implementation, device, training=True)
    model, tokenizer, new_ids = load_for_template(cfg.model.name, get_template(cfg.template.name).special_tokens,
                                                  prec.weights, attn, device=load_on or device, training=True)
    apply_fused_kernels(model, cfg.train.fused_kernels, device)
    return model, tokenizer, new_ids, prec


def trainable(cfg: Config, model: nn.Module, new_ids: list[int], prec: Precision) -> nn.Module:
    """The loaded model made ready to train for `train.method`: LoRA-wrapped (or as is) and
    `lora.fuse_adapters` decided for the device the weights are on (a host copy that FSDP
    shards later counts as the host), trained parameters in float32 whatever the weights dtype,
    then `train.activation_checkpointing` and `train.compile`."""
    if cfg.train.method == "lora":
        lo = cfg.lora
        model = apply_lora(model, new_ids, r=lo.r, alpha=lo.alpha, dropout=lo.dropout,
                           target_modules=lo.target_modules)
        if prec.mixed != "no":
            autocast_adapter_inputs(model)
        if resolve_fuse(lo.fuse_adapters, next(model.parameters()).device, cfg.train.compile):
            fuse_lora_linears(model)
    keep_trainable_fp32(model)
    model.config.use_cache = False
    if cfg.train.activation_checkpointing:
        enable_activation_checkpointing(model)
    if cfg.train.compile:
        compile_layers(model)
    return model


def with_addons(cfg: Config, model: nn.Module, tokenizer=None) -> InstructForward:
    """`model` (after peft wrapped it, so `all-linear` LoRA never lands on add-on layers) with
    the enabled `addons` attached, their parameters trained in float32 on the model's device."""
    sections = cfg.addons.enabled()
    if sections and (sharding := weight_sharding(cfg.train.distributed)):
        raise ConfigError(f"addons: add-ons are not supported with {sharding} (weights split across processes) "
                          "yet; switch the add-ons off, or train with DDP or DeepSpeed ZeRO-2")
    addons = build_addons(sections, base_causal_lm(model).config, tokenizer=tokenizer)
    device = next(model.parameters()).device
    for a in addons.values():
        a.to(device=device, dtype=torch.float32)
    return InstructForward(model, addons)


def model_for_training(cfg: Config, device="auto", prec: Precision | None = None, load_on=None
                       ) -> tuple[nn.Module, object, list[int]]:
    """(model ready to train, tokenizer, new token ids): `load_for_training`, then `trainable`."""
    model, tokenizer, new_ids, prec = load_for_training(cfg, device, prec, load_on)
    return trainable(cfg, model, new_ids, prec), tokenizer, new_ids


def objectives(cfg: Config, model: nn.Module, train_ds, tokenizer, loss_impl: str = "chunked",
               embed=None) -> dict[str, nn.Module]:
    """The `objectives` section's enabled loss terms as {name: module} for `TrainingObjective`,
    their parameters in float32 on the model's device; {} with all of them off (the plain
    next-token loss, exactly).

    Args:
        cfg: the run's config.
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

    o, chunk = cfg.objectives, cfg.train.loss_chunk_tokens
    if not (o.instruction.weight or o.instruction_tokens.weight or o.multitask.mode != "none"
            or o.representation.weight):
        return {}
    lm = base_causal_lm(model)
    d = lm.config.hidden_size
    out: dict[str, nn.Module] = {}
    if o.instruction.weight > 0:
        i = o.instruction
        out["instruction"] = InstructionObjective(d, i.weight, i.warmup_steps, i.dim, i.temperature, i.group)
    if o.instruction_tokens.weight > 0:
        im = cfg.data.instruction_masking  # its mask token in the inputs is no target
        mask_id = mask_token_id(tokenizer, im.token) if im.fraction and im.mode != "drop" else None
        out["instruction_tokens"] = InstructionTokensObjective(o.instruction_tokens.weight, loss_impl, chunk,
                                                               ignore_id=mask_id)
    if o.multitask.mode != "none":
        m = o.multitask
        tokens: dict[str, int] = {}
        for t, n in zip(train_ds["task"], train_ds["n_trained"]):
            tokens[task_name(t)] = tokens.get(task_name(t), 0) + n
        weights = inverse_frequency(tokens) if m.inverse_frequency else {}
        weights.update({task_name(t): w for t, w in m.weights.items()})
        out["multitask"] = MultitaskObjective(list(tokens), m.mode, weights, m.floor, m.max_weight, m.rate,
                                              loss_impl, chunk)
    if o.representation.weight > 0:
        r = o.representation
        targets, has = instruction_targets(train_ds, tokenizer, embed or load_embedder(r.embedder), r.embedder)
        out["representation"] = RepresentationObjective(d, targets, has, r.weight, r.distance)
    device = next(model.parameters()).device
    for m in out.values():
        m.to(device=device, dtype=torch.float32)
    return out


def forgetting_overlap(cfg: Config, tokenizer, fisher_docs: int) -> int:
    """How many of EWC's `fisher_docs` documents the forgetting eval also scores, when both
    read the same corpus: it scores the leading ones within eval.forgetting_max_tokens."""
    from instructune.data.documents import encode, within_budget
    from instructune.evaluate.text_corpus import load_corpus

    e = cfg.eval
    ids = [x for x in encode(tokenizer, load_corpus(e.forgetting_corpus), e.forgetting_max_length) if len(x) >= 2]
    scored = len(within_budget(ids, e.forgetting_max_tokens or None))
    if cfg.objectives.ewc.take == "first":
        return min(scored, fisher_docs)
    return max(0, scored + fisher_docs - len(ids))


def regularizers(cfg: Config, model: nn.Module, tokenizer, log: Callable[[str], None] = print
                 ) -> tuple[dict[str, nn.Module], dict]:
    """({name: objective module} for `TrainingObjective`, {what building them cost}) from the
    `objectives` section; ({}, {}) with every objective off, touching nothing.

    Call it on the model about to train, before a resume loads trained weights into it: the
    Fisher and θ* belong to the pretrained model."""
    from instructune.evaluate.text_corpus import load_corpus
    from instructune.objectives.ewc import anchor_weights, build_ewc, normalized
    from instructune.objectives.fisher import cached_fisher, corpus_ids
    from instructune.objectives.l2sp import build_l2sp
    from instructune.objectives.quadratic import lora_layers

    o = cfg.objectives
    if not (o.ewc.weight or o.l2sp.weight):
        return {}, {}
    if sharding := weight_sharding(cfg.train.distributed):
        raise ConfigError(f"objectives.ewc / objectives.l2sp: not supported with {sharding} yet (the penalty "
                          "needs whole weights); set their weight to 0, or train with DDP or DeepSpeed ZeRO-2")
    out: dict[str, nn.Module] = {}
    info: dict = {}
    # Full fine-tuning: one fp32 copy of θ*, shared by both penalties.
    anchor = None if lora_layers(model) else anchor_weights(model)
    if anchor is not None:
        info["anchor_mib"] = round(sum(t.numel() for t in anchor.values()) * 4 / 2**20, 1)
        log(f"objectives: θ* (pretrained weights) copied in fp32: {info['anchor_mib']:,} MiB")
    if o.ewc.weight:
        e = o.ewc
        corpus = e.corpus or cfg.eval.forgetting_corpus
        docs = load_corpus(corpus or None)
        ids = corpus_ids(tokenizer, docs, e.max_length, e.max_tokens, e.take)
        if not ids:
            raise ConfigError(f"objectives.ewc.corpus: no document of {corpus or 'the shipped corpus'} has two tokens")
        settings = {"corpus": str(corpus or "builtin"), "max_length": e.max_length, "max_tokens": e.max_tokens,
                    "take": e.take}
        fisher, finfo = cached_fisher(model, ids, settings, e.cache)
        info["fisher"] = finfo
        how = ("loaded from the cache" if finfo["cached"] else
               f"estimated (peak memory {finfo['peak_memory_mib']:,} MiB)")
        log(f"objectives: EWC Fisher on {finfo['documents']} documents ({finfo['tokens']:,} tokens, from the "
            f"{'end' if e.take == 'last' else 'start'} of {corpus or 'the shipped corpus'}) {how} in "
            f"{finfo['seconds']} s: {finfo['parameters']:,} weights, {finfo['memory_mib']:,} MiB fp32, "
            f"mean {finfo['mean']:.3g}" + (f"; {finfo['path']}" if e.cache else ""))
        if str(corpus or "builtin") == str(cfg.eval.forgetting_corpus or "builtin"):
            shared = forgetting_overlap(cfg, tokenizer, len(ids))
            if shared:
                log(f"objectives: warning: {shared} of the Fisher's documents are also scored by the forgetting eval "
                    "(eval.forgetting_corpus); its figure then measures text EWC was fitted to")
        out["ewc"] = build_ewc(model, normalized(fisher) if e.normalize == "mean" else fisher, e.weight, anchor)
    if o.l2sp.weight:
        out["l2sp"] = build_l2sp(model, o.l2sp.weight, anchor)
    return out, info
