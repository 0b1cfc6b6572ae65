"""Build a training run from its config: `assemble(cfg) -> TrainingRun` (`run.py`).

    run = assemble(cfg)                 # cfg.output_dir is the run dir
    result = run.fit()
    run.export()

In order: precision for the device → the model with the template's tokens, LoRA (or full),
add-ons → the Accelerator → tokenized train and held-out data, packs, masking → the loop's
schedule → the loss terms → `TrainingObjective`, optimizer, schedule, prepared by accelerate.
Nothing here checks the run dir or writes config.yaml: that is the `train` verb's
(`recipes/train.py`), and so is the held-out evaluation (`evaluate/`), which `fit` takes as a
callable.

It takes the whole `Config`, the one library entry point that does: a training run reads
eight of its sections (model, template, data, lora, train, addons, objectives, eval), and the
builders it calls (`build.py`, `data/splits.py`) each take the sections they read.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import DistributedType, set_seed
from torch import nn

from instructune.config import Config, ConfigError, DataConfig, EvalConfig, TemplateConfig, TrainConfig, to_dict
from instructune.data.masking import build_masker
from instructune.data.pack import pack_rows
from instructune.data.splits import load_prepared, split_for
from instructune.model.packing import packing_supported, resolve_padding_free
from instructune.model.setup import count_parameters
from instructune.objectives.linear_ce import resolve_loss_impl
from instructune.objectives.objective import TrainingObjective
from instructune.objectives.term import LossTerm
from instructune.train.build import (load_for_training, loss_terms, model_for_training, precision, quantization_refusal,
                                     trainable, with_addons)
from instructune.train.device import has_accelerator
from instructune.train.distributed import configure_deepspeed, deepspeed_launch, fsdp_launch, fsdp_plugin, use_fsdp_on_cpu
from instructune.train.loop import LoopSettings, TrainData
from instructune.train.optim import build_optimizer, warmup_cosine
from instructune.train.precision import Precision
from instructune.train.run import TrainingRun
from instructune.train.schedule import total_steps
from instructune.train.trackers import init_trackers

# (model, tokenizer, log) -> ({name: term taken once per step}, {what building them cost}):
# EWC / L2-SP, built by the caller on the pretrained weights (`recipes/builders.regularizers`).
Penalties = Callable[[nn.Module, object, Callable[[str], None]], tuple[dict[str, LossTerm], dict]]


def load_data(d: DataConfig, t: TemplateConfig, e: EvalConfig, tokenizer):
    """(train, {set name: held-out dataset}, the train split's mixture) tokenized, from
    `data.prepared` or built now. The mixture is per input the plan and the records it gave
    (`PrepareStats.mixture`, also in a prepared dir's stats.json); [] when the split is not mixed.

    "heldout" is `data.heldout` (or the prepared dir's heldout split); `eval.sets` adds named
    sets. Built now goes through the same cache as `instructune prepare` (`data.cache`); with
    several processes the main one tokenizes first and the others then find its cache entry.
    """
    process = PartialState()
    held: dict = {}
    if d.prepared:
        root = Path(d.prepared)
        train = load_prepared(root / "train")
        stats = root / "stats.json"
        mixture = json.loads(stats.read_text()).get("train", {}).get("mixture", []) if stats.is_file() else []
        if (root / "heldout").exists():
            held["heldout"] = load_prepared(root / "heldout")
        names = dict(e.sets)
    else:
        train = None
        names = {"heldout": d.heldout, **e.sets}
    with process.main_process_first():
        if train is None:
            train, stats = split_for(d, t, tokenizer, d.train, log=process.print, name="train")
            mixture = stats.mixture
        for name, files in names.items():
            if files:
                held[name] = split_for(d, t, tokenizer, files, log=process.print, name=name)[0]
    return train, held, mixture


def train_data(d: DataConfig, seed: int, model, tokenizer, train_ds, accelerator) -> TrainData:
    """Rows, packs and augmentation for the loop; packs are a pure function of the lengths,
    so a resumed run rebuilds the same ones. Packing / padding-free are probed under the run's
    autocast, so the attention kernel that trains is the one checked."""
    lengths = train_ds["length"]
    packs = pack_rows(lengths, d.pack_length or max(d.max_length, max(lengths))) if d.packing else None
    padding_free = resolve_padding_free(d.padding_free, d.packing, model)
    if d.packing or padding_free:
        with accelerator.autocast():
            supported = packing_supported(model)
        if not supported:
            raise ConfigError(f"data.packing / data.padding_free: model.attn_implementation="
                              f"{model.config._attn_implementation} does not keep packed records apart for this model")
    im = d.instruction_masking
    masker = build_masker(im.fraction, im.mode, im.token, tokenizer, seed)
    return TrainData(train_ds, lengths, packs, tokenizer.pad_token_id, padding_free, masker)


def build_accelerator(t: TrainConfig, run_dir: Path, mixed: str, model, config: dict | None = None) -> Accelerator:
    """The run's Accelerator: autocast mode, trackers, and FSDP2 when `train.distributed` says so."""
    plugin = fsdp_plugin(model) if t.distributed == "fsdp" else None
    # Without an accelerator, accelerate only joins a torchrun/`accelerate launch` process
    # group when told it is on the CPU; otherwise every process would train alone. A DeepSpeed
    # launch is the exception: `cpu=True` would drop DeepSpeed (its CPU accelerator uses gloo).
    accelerator = Accelerator(log_with=list(t.report_to) or None, project_dir=str(run_dir),
                              cpu=not has_accelerator() and not deepspeed_launch(), mixed_precision=mixed,
                              **({"fsdp_plugin": plugin} if plugin else {}))
    if plugin is not None and accelerator.distributed_type == DistributedType.MULTI_CPU:
        use_fsdp_on_cpu(accelerator, plugin)
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        configure_deepspeed(accelerator, t.batch_size, t.max_grad_norm, accelerator.print)
    init_trackers(accelerator, t.report_to, run_dir, config or {})
    return accelerator


def loop_settings(t: TrainConfig, generate_every: int, n_rows: int, world: int) -> LoopSettings:
    """The loop's schedule from the `train` section, for `n_rows` rows (or packs) over `world` processes."""
    steps = total_steps(n_rows, t.epochs, t.max_steps, t.batch_size, t.grad_accum, world)
    return LoopSettings(steps, t.batch_size, t.grad_accum, t.seed, t.group_by_length, t.max_grad_norm,
                        t.log_every, t.eval_every, t.checkpoint_every, generate_every, t.prefetch,
                        pin_memory=torch.cuda.is_available())


def assemble(cfg: Config, penalties: Penalties | None = None, embed=None) -> TrainingRun:
    """The training run `cfg` describes, ready to `fit`, in the run dir `cfg.output_dir`.

    Args:
        cfg: the resolved config (`output_dir` set).
        penalties: builds EWC / L2-SP on the pretrained model (`Penalties`), or None for none.
        embed: an `EmbedFn` for the representation loss in place of its embedder (tests).
    Raises:
        ConfigError: a setting the model or the launch cannot train with.
        ValueError: no training record is left after tokenization.
    """
    t = cfg.train
    if why := quantization_refusal(cfg.model, t, cfg.lora, cfg.objectives):
        raise ConfigError(why)
    run_dir = Path(cfg.output_dir)
    process = PartialState(cpu=not has_accelerator())
    set_seed(t.seed)
    # FSDP (ours, or from an `accelerate launch` config) shards from a host copy; otherwise the
    # weights load straight onto the device.
    on_host = fsdp_launch(t.distributed)
    model, tokenizer, new_ids, prec = load_for_training(cfg.model, cfg.template, t, process.device,
                                                        precision(cfg.model, t, process.device),
                                                        load_on="cpu" if on_host else None)
    base_params = count_parameters(model)[1]
    model = trainable(t, cfg.lora, model, new_ids, prec)
    fwd = with_addons(cfg.addons, t, model, tokenizer)
    if process.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
    accelerator = build_accelerator(t, run_dir, prec.mixed, model, to_dict(cfg))
    train_ds, heldout, mixture = load_data(cfg.data, cfg.template, cfg.eval, tokenizer)
    if len(train_ds) == 0:
        raise ValueError("no training records left after tokenization (all dropped?)")
    data = train_data(cfg.data, t.seed, model, tokenizer, train_ds, accelerator)
    settings = loop_settings(t, cfg.eval.generate_every, len(data.packs) if data.packs else len(train_ds),
                             accelerator.num_processes)
    loss_impl = resolve_loss_impl(t.loss_impl, process.device)
    # The `objectives` section's terms ({} with all off: the plain next-token loss). EWC / L2-SP
    # read the pretrained weights now, before a resume loads trained ones; the main process
    # estimates (and caches) the Fisher and the instruction embeddings first, the others load them.
    with process.main_process_first():
        terms = loss_terms(cfg.objectives, t, cfg.data, model, train_ds, tokenizer, loss_impl, embed)
        extra, info = penalties(model, tokenizer, accelerator.print) if penalties else ({}, {})
    objective = TrainingObjective(fwd, loss_impl=loss_impl, chunk_tokens=t.loss_chunk_tokens,
                                  objectives={**terms, **extra})
    # The model's parameters first, then add-ons' and objectives': with neither, today's order.
    optimizer = build_optimizer(objective, t.lr, t.weight_decay)
    scheduler = warmup_cosine(optimizer, int(t.warmup_ratio * settings.total_steps), settings.total_steps)
    loss_module, optimizer = accelerator.prepare(objective, optimizer)
    objective = accelerator.unwrap_model(loss_module)
    trained, total = count_parameters(objective)
    return TrainingRun(
        run_dir=run_dir, accelerator=accelerator, loss_module=loss_module, objective=objective,
        optimizer=optimizer, scheduler=scheduler, tokenizer=tokenizer, data=data, heldout=heldout,
        settings=settings, precision=prec, loss_impl=loss_impl,
        sharded=accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED),
        keep_checkpoints=t.keep_checkpoints, trackers=bool(t.report_to), template_name=cfg.template.name,
        sampling=dataclasses.asdict(cfg.generate),
        addon_sections=cfg.addons.enabled(), parameters={"trainable": trained, "total": total,
                                                         "added": total - base_params},
        objective_info=info, mixture=mixture,
        plain_model=functools.partial(plain_host_model, cfg, Precision("float32", "no")))


def plain_host_model(cfg: Config, prec: Precision) -> nn.Module:
    """A fresh host copy of the model ready to train, with no add-ons: what split weights are
    gathered into for the export."""
    return model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora, "cpu", prec)[0]
