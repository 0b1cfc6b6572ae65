"""`instructune train`: setup, the loop, save (DESIGN §4).

    instructune train --recipe quickstart output_dir=runs/x train.lr=1e-4 [--resume]
    accelerate launch -m instructune.cli train ...      # several processes, same code

Setup (precision for the device, model + LoRA on the device, tokenized data, optimizer,
schedule) → optional resume from the newest
checkpoint → for each optimizer step: gather the accumulation window's micro-batches, count
their trained tokens (over all processes), backward each micro-batch's summed NLL divided
by that count, clip, step → log / evaluate / checkpoint → export adapter and merged model.

Dividing by the window's token count makes the loss and gradients the same whether a step
is 8 records × 1 micro-batch or 2 records × 4 micro-batches.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import DistributedType, set_seed

from instructune.config import Config, ConfigError, save_config
from instructune.data.batching import layout_shares
from instructune.data.masking import build_masker
from instructune.data.pack import pack_rows, packing_supported, resolve_padding_free
from instructune.data.splits import load_prepared
from instructune.evaluate.loss import response_loss
from instructune.model.export import export_run
from instructune.model.setup import count_parameters
from instructune.objectives.linear_ce import resolve_loss_impl
from instructune.objectives.response_nll import ResponseNLL
from instructune.recipes import builders
from instructune.train import sharded_checkpoint
from instructune.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from instructune.train.device import has_accelerator
from instructune.train.distributed import fsdp_plugin, use_fsdp_on_cpu
from instructune.train.loop import LoopParts, LoopSettings, Position, TrainData, run_loop
from instructune.train.metrics_log import MetricsLog
from instructune.train.optim import build_optimizer, warmup_cosine
from instructune.train.precision import Precision
from instructune.train.progress import TrainProgress
from instructune.train.schedule import total_steps


def load_data(cfg: Config, tokenizer):
    """(train, heldout or None) tokenized datasets, from `data.prepared` or built now.

    Built now goes through the same cache as `instructune prepare` (`data.cache`); with
    several processes the main one tokenizes first and the others then find its cache entry.
    """
    if cfg.data.prepared:
        root = Path(cfg.data.prepared)
        held = load_prepared(root / "heldout") if (root / "heldout").exists() else None
        return load_prepared(root / "train"), held
    from accelerate import PartialState

    state = PartialState()
    with state.main_process_first():
        train, _ = builders.split(cfg, tokenizer, cfg.data.train, log=state.print, name="train")
        held = (builders.split(cfg, tokenizer, cfg.data.heldout, log=state.print, name="heldout")[0]
                if cfg.data.heldout else None)
    return train, held


def train_data(cfg: Config, model, tokenizer, train_ds, accelerator) -> TrainData:
    """Rows, packs and augmentation for the loop; packs are a pure function of the lengths,
    so a resumed run rebuilds the same ones. Packing / padding-free are probed under the run's
    autocast, so the attention kernel that trains is the one checked."""
    d = cfg.data
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
    masker = build_masker(im.fraction, im.mode, im.token, tokenizer, cfg.train.seed)
    return TrainData(train_ds, lengths, packs, tokenizer.pad_token_id, padding_free, masker)


def build_accelerator(cfg: Config, run: Path, mixed: str, model) -> Accelerator:
    """The run's Accelerator: autocast mode, trackers, and FSDP2 when `train.distributed` says so."""
    plugin = fsdp_plugin(model) if cfg.train.distributed == "fsdp" else None
    # Without an accelerator, accelerate only joins a torchrun/`accelerate launch` process
    # group when told it is on the CPU; otherwise every process would train alone.
    accelerator = Accelerator(log_with="tensorboard" if cfg.train.tensorboard else None, project_dir=str(run),
                              cpu=not has_accelerator(), mixed_precision=mixed,
                              **({"fsdp_plugin": plugin} if plugin else {}))
    if plugin is not None and accelerator.distributed_type == DistributedType.MULTI_CPU:
        use_fsdp_on_cpu(accelerator, plugin)
    return accelerator


def loop_settings(cfg: Config, n_rows: int, world: int) -> LoopSettings:
    t = cfg.train
    steps = total_steps(n_rows, t.epochs, t.max_steps, t.batch_size, t.grad_accum, world)
    return LoopSettings(steps, t.batch_size, t.grad_accum, t.seed, t.group_by_length, t.max_grad_norm,
                        t.log_every, t.eval_every, t.checkpoint_every, t.prefetch, pin_memory=has_cuda())


def has_cuda() -> bool:
    return torch.cuda.is_available()


def main(cfg: Config, resume: bool = False) -> dict:
    """Train per `cfg`; returns a summary (final losses, paths)."""
    run = Path(cfg.output_dir)
    tcfg = cfg.train
    device = PartialState(cpu=not has_accelerator()).device
    prec = builders.precision(cfg, device)
    set_seed(tcfg.seed)

    # --- setup --------------------------------------------------------------------------
    # FSDP (ours, or from an `accelerate launch` config) shards from a host copy; otherwise the
    # weights load straight onto the device.
    on_host = tcfg.distributed == "fsdp" or os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true"
    model, tokenizer, _ = builders.model_for_training(cfg, device, prec, load_on="cpu" if on_host else None)
    accelerator = build_accelerator(cfg, run, prec.mixed, model)
    fsdp = accelerator.distributed_type == DistributedType.FSDP
    if accelerator.is_main_process:
        run.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run / "config.yaml")
    if tcfg.tensorboard:
        accelerator.init_trackers("tensorboard")
    train_ds, held_ds = load_data(cfg, tokenizer)
    if len(train_ds) == 0:
        raise ValueError("no training records left after tokenization (all dropped?)")
    data = train_data(cfg, model, tokenizer, train_ds, accelerator)
    world = accelerator.num_processes
    settings = loop_settings(cfg, len(data.packs) if data.packs else len(train_ds), world)
    optimizer = build_optimizer(model, tcfg.lr, tcfg.weight_decay)
    scheduler = warmup_cosine(optimizer, int(tcfg.warmup_ratio * settings.total_steps), settings.total_steps)
    loss_impl = resolve_loss_impl(tcfg.loss_impl, device)
    loss_module, optimizer = accelerator.prepare(ResponseNLL(model, loss_impl=loss_impl,
                                                             chunk_tokens=tcfg.loss_chunk_tokens), optimizer)
    model = accelerator.unwrap_model(loss_module).model  # FSDP swaps parameters for their shards

    start = Position()
    ckpt_root = run / "checkpoints"
    if resume and list_checkpoints(ckpt_root):
        latest = list_checkpoints(ckpt_root)[-1]
        state = (sharded_checkpoint.load(latest, loss_module, optimizer, scheduler, accelerator) if fsdp
                 else load_checkpoint(latest, model, optimizer, scheduler))
        start = Position(state["step"], state["epoch"], state["position"])
        accelerator.print(f"resumed from step {start.step} (epoch {start.epoch}, window {start.window})")
    metrics = MetricsLog(run / "metrics.jsonl", truncate_after=start.step if resume else 0,
                         enabled=accelerator.is_main_process)
    trainable, total = count_parameters(model)
    accelerator.print(f"model {cfg.model.name}: {trainable:,} trainable / {total:,} parameters; "
                      f"{len(train_ds)} train rows; {settings.total_steps} steps; on {device}, weights "
                      f"{prec.weights}, mixed precision {prec.mixed}, attention {model.config._attn_implementation}, "
                      f"loss {loss_impl}")
    pack_length = cfg.data.pack_length or max(cfg.data.max_length, max(data.lengths))
    shares = layout_shares(data.lengths, tcfg.batch_size, tcfg.seed, pack_length)
    accelerator.print("non-pad token share (epoch 0): " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
                      + f"; this run: packing={cfg.data.packing} padding_free={data.padding_free}")

    def evaluate_heldout() -> dict[str, float]:
        if held_ds is None or len(held_ds) == 0:
            return {}
        with accelerator.autocast():
            res = response_loss(model, held_ds, data.pad_id, cfg.eval.batch_size, accelerator.device,
                                loss_impl=loss_impl)
        return {"eval_loss": res["response_loss"], "eval_ppl": res["perplexity"]}

    def log(row: dict) -> None:
        metrics.write(row)
        if tcfg.tensorboard:
            accelerator.log({k: v for k, v in row.items() if k != "step"}, step=row["step"])

    def save(at: Position) -> None:
        position = {"epoch": at.epoch, "position": at.window}
        if fsdp:  # every rank writes its shards
            sharded_checkpoint.save(ckpt_root, at.step, loss_module, optimizer, scheduler, position, accelerator,
                                    keep=tcfg.keep_checkpoints)
            return
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            save_checkpoint(ckpt_root, at.step, model, optimizer, scheduler, position, keep=tcfg.keep_checkpoints)

    # --- loop ---------------------------------------------------------------------------
    model.train()
    progress = TrainProgress(settings.total_steps, start=start.step, enabled=accelerator.is_local_main_process)
    # Clip the prepared module's parameters (FSDP: the local shards; the norm is global).
    parts = LoopParts(loss_module, [p for p in loss_module.parameters() if p.requires_grad], optimizer, scheduler,
                      accelerator, log, progress.update, evaluate_heldout, save)
    with progress:
        result = run_loop(parts, data, settings, start)

    # --- save ---------------------------------------------------------------------------
    last = result.last
    if "eval_loss" not in last:
        final_eval = evaluate_heldout()
        if final_eval:
            last.update(final_eval)
            metrics.write({"step": result.step, **final_eval})
    accelerator.wait_for_everyone()
    paths = {}
    export_model = model
    if fsdp:  # gather the trained shards, then export from a plain host copy on the main process
        trained = sharded_checkpoint.full_trainable_state(loss_module)
        if accelerator.is_main_process:
            export_model = builders.model_for_training(cfg, "cpu", Precision("float32", "no"))[0]
            export_model.load_state_dict({k.removeprefix("model."): v for k, v in trained.items()}, strict=False)
    if accelerator.is_main_process:
        paths = export_run(export_model, tokenizer, run, cfg.template.name)
    accelerator.end_training()
    summary = {"steps": result.step, "final": last, **paths, "run_dir": str(run),
               "nonpad_share": {**shares, "this_run": result.real_tokens / max(result.slot_tokens, 1)}}
    if accelerator.is_main_process:
        (run / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
