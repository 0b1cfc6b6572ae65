"""Builders: config sections → the library's keyword arguments (as torchtune's builders do).

Library code never sees a `Config`; recipes call these to get the objects they wire together.
What a training run needs lives below, in `train/build.py` (model, add-ons, loss terms) and
`data/` (`templates.template_options`, `splits.split_for`); here are the builders of the verbs
that evaluate and generate, and EWC / L2-SP (`regularizers`), whose corpus `evaluate` reads.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from instructune.config import Config, ConfigError
from instructune.data.inputs import load_inputs
from instructune.data.record import Record
from instructune.data.templates import get_template
from instructune.model.load import load_tokenizer
from instructune.model.vocab import add_template_tokens
from instructune.train.distributed import weight_sharding


def template_tokenizer(cfg: Config):
    """The model's tokenizer with the template's special tokens added (no model loaded)."""
    tokenizer = load_tokenizer(cfg.model.name)
    add_template_tokens(None, tokenizer, get_template(cfg.template.name).special_tokens)
    return tokenizer


def heldout_sets(cfg: Config) -> dict[str, list[Record]]:
    """Named held-out sets: "heldout" (`data.heldout`) and `eval.sets`, each cut to `eval.max_records`;
    with `data.heldout_tasks`, also "heldout_seen" and "heldout_unseen": the held-out records
    of the tasks training saw, and of those it never saw."""
    names = {"heldout": cfg.data.heldout, **cfg.eval.sets}
    out = {}
    for name, files in names.items():
        if not files:
            continue
        records = load_inputs(files, cfg.data.format, cfg.data.reader, cfg.data.mix_seed)
        out[name] = records[:cfg.eval.max_records] if cfg.eval.max_records else records
    if cfg.data.heldout_tasks and out.get("heldout"):
        out.update(split_by_task(out["heldout"], cfg.data.heldout_tasks))
    return out


def split_by_task(records: list[Record], unseen: list[str]) -> dict[str, list[Record]]:
    """{"heldout_seen": records of other tasks, "heldout_unseen": records of the `unseen`
    tasks}; an empty side is left out (an eval of nothing has no figures).

    Raises:
        ConfigError: no held-out record has an unseen task: the experiment would report
            nothing about unseen tasks.
    """
    held = set(unseen)
    parts = {"heldout_seen": [r for r in records if r.task not in held],
             "heldout_unseen": [r for r in records if r.task in held]}
    if not parts["heldout_unseen"]:
        raise ConfigError(f"data.heldout_tasks: no held-out record has task {', '.join(map(repr, unseen))}, "
                          "so nothing would measure the unseen tasks; give data.heldout records of them")
    return {k: v for k, v in parts.items() if v}


def inference_kwargs(cfg: Config) -> dict:
    """`generation.load.load_for_inference`'s keyword arguments from the `model` and `template`
    sections (eval, generate and chat load their model with them)."""
    return {"special_tokens": get_template(cfg.template.name).special_tokens, "dtype": cfg.model.dtype,
            "attn_implementation": cfg.model.attn_implementation}


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
