"""`instructune train`: the training loop, top to bottom (DESIGN §4).

    instructune train --recipe quickstart output_dir=runs/x train.lr=1e-4 [--resume]
    accelerate launch -m instructune.cli train ...      # several processes, same code

Setup (model + LoRA, tokenized data, optimizer, schedule) → optional resume from the newest
checkpoint → for each optimizer step: gather the accumulation window's micro-batches, count
their trained tokens (over all processes), backward each micro-batch's summed NLL divided
by that count, clip, step → log / evaluate / checkpoint → export adapter and merged model.

Dividing by the window's token count makes the loss and gradients the same whether a step
is 8 records × 1 micro-batch or 2 records × 4 micro-batches.
"""

from __future__ import annotations

import functools
import json
import math
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed

from instructune.config import Config, ConfigError, save_config
from instructune.data.batching import epoch_micro_batches, layout_shares
from instructune.data.collate import micro_batch, nonpad_tokens
from instructune.data.masking import build_masker
from instructune.data.pack import pack_rows, packing_supported
from instructune.evaluate.loss import response_loss
from instructune.model.export import export_run
from instructune.model.setup import count_parameters, prepare_for_training
from instructune.objectives.response_nll import ResponseNLL
from instructune.recipes.prepare import load_prepared, tokenize_split
from instructune.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from instructune.train.metrics_log import MetricsLog
from instructune.train.optim import build_optimizer, warmup_cosine
from instructune.train.progress import TrainProgress
from instructune.train.step import backward_window


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
        train, _ = tokenize_split(cfg, tokenizer, cfg.data.train, log=state.print, split="train")
        held = (tokenize_split(cfg, tokenizer, cfg.data.heldout, log=state.print, split="heldout")[0]
                if cfg.data.heldout else None)
    return train, held


def windows_of(batches: list[list[int]], grad_accum: int, world: int, rank: int) -> list[list[list[int]]]:
    """Group an epoch's micro-batches into optimizer steps and take this process's share.

    Each optimizer step consumes `grad_accum * world` micro-batches; process `rank` gets every
    `world`-th of them. A trailing partial window is kept (its loss is still normalised by its
    own token count).
    """
    per_step = grad_accum * world
    out = []
    for s in range(0, len(batches), per_step):
        mine = batches[s:s + per_step][rank::world]
        if mine:
            out.append(mine)
    return out


def has_accelerator() -> bool:
    """Whether a CUDA, XPU or MPS device is available."""
    return (torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available())
            or torch.backends.mps.is_available())


def steps_per_epoch(n_rows: int, cfg: Config, world: int) -> int:
    n_batches = math.ceil(n_rows / cfg.train.batch_size)
    return math.ceil(n_batches / (cfg.train.grad_accum * world))


def main(cfg: Config, resume: bool = False) -> dict:
    """Train per `cfg`; returns a summary (final losses, paths)."""
    run = Path(cfg.output_dir)
    tcfg = cfg.train
    # Without an accelerator, accelerate only joins a torchrun/`accelerate launch` process
    # group when told it is on the CPU; otherwise every process would train alone.
    accelerator = Accelerator(log_with="tensorboard" if tcfg.tensorboard else None, project_dir=str(run),
                              cpu=not has_accelerator())
    set_seed(tcfg.seed)
    if accelerator.is_main_process:
        run.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run / "config.yaml")
    if tcfg.tensorboard:
        accelerator.init_trackers("tensorboard")

    # --- setup --------------------------------------------------------------------------
    model, tokenizer, _ = prepare_for_training(cfg)
    train_ds, held_ds = load_data(cfg, tokenizer)
    if len(train_ds) == 0:
        raise ValueError("no training records left after tokenization (all dropped?)")
    lengths = train_ds["length"]
    # Packing / padding-free: packs are a pure function of the lengths, so resume rebuilds them.
    dcfg = cfg.data
    pack_length = dcfg.pack_length or max(dcfg.max_length, max(lengths))
    packs = pack_rows(lengths, pack_length) if dcfg.packing else None
    if (dcfg.packing or dcfg.padding_free) and not packing_supported(model):
        raise ConfigError(f"data.packing / data.padding_free: model.attn_implementation="
                          f"{cfg.model.attn_implementation} does not keep packed records apart for this model")
    im = dcfg.instruction_masking
    masker = build_masker(im.fraction, im.mode, im.token, tokenizer, tcfg.seed)
    world, rank = accelerator.num_processes, accelerator.process_index
    total_steps = tcfg.epochs * steps_per_epoch(len(packs) if packs else len(train_ds), cfg, world)
    if tcfg.max_steps:
        total_steps = min(total_steps, tcfg.max_steps) if tcfg.epochs else tcfg.max_steps
    optimizer = build_optimizer(model, tcfg.lr, tcfg.weight_decay)
    scheduler = warmup_cosine(optimizer, int(tcfg.warmup_ratio * total_steps), total_steps)
    loss_module, optimizer = accelerator.prepare(ResponseNLL(model), optimizer)
    params = [p for p in model.parameters() if p.requires_grad]
    pad_id = tokenizer.pad_token_id
    device = accelerator.device

    step, epoch, position = 0, 0, 0
    ckpt_root = run / "checkpoints"
    if resume and list_checkpoints(ckpt_root):
        state = load_checkpoint(list_checkpoints(ckpt_root)[-1], model, optimizer, scheduler)
        step, epoch, position = state["step"], state["epoch"], state["position"]
        accelerator.print(f"resumed from step {step} (epoch {epoch}, window {position})")
    log = MetricsLog(run / "metrics.jsonl", truncate_after=step if resume else 0,
                     enabled=accelerator.is_main_process)
    trainable, total = count_parameters(model)
    accelerator.print(f"model {cfg.model.name}: {trainable:,} trainable / {total:,} parameters; "
                      f"{len(train_ds)} train rows; {total_steps} steps")
    shares = layout_shares(lengths, tcfg.batch_size, tcfg.seed, pack_length)
    accelerator.print("non-pad token share (epoch 0): " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
                      + f"; this run: packing={dcfg.packing} padding_free={dcfg.padding_free}")

    def evaluate_heldout() -> dict[str, float]:
        if held_ds is None or len(held_ds) == 0:
            return {}
        res = response_loss(model, held_ds, pad_id, cfg.eval.batch_size, device)
        return {"eval_loss": res["response_loss"], "eval_ppl": res["perplexity"]}

    def checkpoint(next_epoch: int, next_position: int) -> None:
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            save_checkpoint(ckpt_root, step, accelerator.unwrap_model(loss_module).model, optimizer, scheduler,
                            {"epoch": next_epoch, "position": next_position}, keep=tcfg.keep_checkpoints)

    # --- loop ---------------------------------------------------------------------------
    model.train()
    progress = TrainProgress(total_steps, start=step, enabled=accelerator.is_local_main_process)
    last = {}
    tokens_seen, t0 = 0, time.perf_counter()
    real_seen, slots_seen = 0, 0
    with progress:
        while step < total_steps:
            batches = epoch_micro_batches(lengths, packs, tcfg.batch_size, tcfg.seed, epoch, tcfg.group_by_length)
            # Masking is drawn per (seed, epoch, row), so a resumed run sees the same tokens.
            augment = functools.partial(masker, epoch=epoch) if masker else None
            windows = windows_of(batches, tcfg.grad_accum, world, rank)
            for w in range(position, len(windows)):
                micro = [micro_batch(train_ds, mb, pad_id, packs is not None, dcfg.padding_free, augment)
                         for mb in windows[w]]
                real, slots = nonpad_tokens(micro)
                real_seen, slots_seen = real_seen + real, slots_seen + slots
                loss, n_tokens = backward_window(loss_module, micro, accelerator)
                grad_norm = (accelerator.clip_grad_norm_(params, tcfg.max_grad_norm)
                             if tcfg.max_grad_norm > 0 else torch.tensor(0.0))
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                tokens_seen += n_tokens
                last = {"step": step, "epoch": epoch, "loss": loss, "lr": scheduler.get_last_lr()[0],
                        "grad_norm": float(grad_norm), "trained_tokens": n_tokens, "nonpad_share": real / slots,
                        "tokens_per_s": tokens_seen / (time.perf_counter() - t0)}
                done = step >= total_steps
                if tcfg.eval_every and (step % tcfg.eval_every == 0 or done):
                    last.update(evaluate_heldout())
                if step % tcfg.log_every == 0 or done or "eval_loss" in last:
                    log.write(last)
                    if tcfg.tensorboard:
                        accelerator.log({k: v for k, v in last.items() if k != "step"}, step=step)
                progress.update(step, last)
                next_epoch, next_pos = (epoch, w + 1) if w + 1 < len(windows) else (epoch + 1, 0)
                if (tcfg.checkpoint_every and step % tcfg.checkpoint_every == 0) or done:
                    checkpoint(next_epoch, next_pos)
                if done:
                    break
            else:
                epoch, position = epoch + 1, 0
                continue
            break

    # --- finish -------------------------------------------------------------------------
    if "eval_loss" not in last:
        final_eval = evaluate_heldout()
        if final_eval:
            last.update(final_eval)
            log.write({"step": step, **final_eval})
    accelerator.wait_for_everyone()
    paths = {}
    if accelerator.is_main_process:
        paths = export_run(accelerator.unwrap_model(loss_module).model, tokenizer, run, cfg.template.name)
    accelerator.end_training()
    summary = {"steps": step, "final": last, **paths, "run_dir": str(run),
               "nonpad_share": {**shares, "this_run": real_seen / max(slots_seen, 1)}}
    if accelerator.is_main_process:
        (run / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
