"""`instructune train`: setup, the loop, save (docs/architecture.md §4).

    instructune train --recipe quickstart output_dir=runs/x train.lr=1e-4 [--resume | --overwrite]
    accelerate launch -m instructune.cli train ...      # several processes, same code

One run per run dir: a dir that already holds a run is refused unless `--resume` continues it
(its config.yaml must agree on `checks.RESUME_KEYS`) or `--overwrite` replaces it; without
`output_dir` a fresh `runs/train-YYYYmmdd-HHMMSS` is used. All of it is checked before the
model loads (`recipes/checks.py`).

Setup (precision for the device, model + LoRA on the device, tokenized data, optimizer,
schedule) → optional resume from the newest
checkpoint → for each optimizer step: gather the accumulation window's micro-batches, count
their trained tokens (over all processes), backward each micro-batch's summed NLL divided
by that count, clip, step → log / evaluate / checkpoint → export adapter and merged model.

Dividing by the window's token count makes the loss and gradients the same whether a step
is 8 records × 1 micro-batch or 2 records × 4 micro-batches.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import DistributedType, set_seed

from instructune.config import Config, ConfigError, save_config
from instructune.data.batching import layout_shares
from instructune.data.masking import build_masker
from instructune.data.pack import pack_rows
from instructune.model.packing import packing_supported, resolve_padding_free
from instructune.data.splits import load_prepared
from instructune.data.render import render_prompt_segments
from instructune.data.templates import get_template
from instructune.evaluate.loss import response_loss
from instructune.model.addons.store import save_addons
from instructune.model.export import export_run
from instructune.model.lora_fusion import fused_lora_count
from instructune.model.setup import count_parameters
from instructune.objectives.instruction import heldout_accuracy
from instructune.objectives.linear_ce import resolve_loss_impl
from instructune.objectives.objective import TrainingObjective
from instructune.recipes import builders
from instructune.recipes.checks import RUN_OUTPUTS, CheckError, check_train, holds_run, resume_command
from instructune.train import sharded_checkpoint
from instructune.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from instructune.train.device import has_accelerator
from instructune.train.distributed import (configure_deepspeed, deepspeed_launch, fsdp_launch, fsdp_plugin,
                                          parallel_name, plain_model_loading, use_fsdp_on_cpu, weights_split)
from instructune.train.loop import LoopParts, LoopSettings, Position, TrainData, run_loop
from instructune.train.metrics_log import MetricsLog
from instructune.train.optim import build_optimizer, warmup_cosine
from instructune.train.precision import Precision
from instructune.train.progress import TrainProgress
from instructune.train.schedule import total_steps


def load_data(cfg: Config, tokenizer):
    """(train, {set name: held-out dataset}) tokenized, from `data.prepared` or built now.

    "heldout" is `data.heldout` (or the prepared dir's heldout split); `eval.sets` adds named
    sets. Built now goes through the same cache as `instructune prepare` (`data.cache`); with
    several processes the main one tokenizes first and the others then find its cache entry.
    """
    from accelerate import PartialState

    state = PartialState()
    held: dict = {}
    if cfg.data.prepared:
        root = Path(cfg.data.prepared)
        train = load_prepared(root / "train")
        if (root / "heldout").exists():
            held["heldout"] = load_prepared(root / "heldout")
        names = dict(cfg.eval.sets)
    else:
        train = None
        names = {"heldout": cfg.data.heldout, **cfg.eval.sets}
    with state.main_process_first():
        if train is None:
            train, _ = builders.split(cfg, tokenizer, cfg.data.train, log=state.print, name="train")
        for name, files in names.items():
            if files:
                held[name] = builders.split(cfg, tokenizer, files, log=state.print, name=name)[0]
    return train, held


def generation_probe(cfg: Config, tokenizer):
    """The generation probe of `eval.generate_every`, or None."""
    e = cfg.eval
    if not e.generate_every:
        return None
    if fsdp_launch(cfg.train.distributed):
        # generate never calls the FSDP2 root's forward, so the embeddings stay sharded (DTensor).
        raise ConfigError("eval.generate_every: the generation probe does not run under FSDP yet; set it to 0 "
                          "and score the run afterwards with `instructune eval`")
    # Imported here: the IFEval checks pull in langdetect, which a run without the probe never needs.
    from instructune.evaluate import ifeval
    from instructune.evaluate.probe import GenerationProbe

    records = builders.heldout_sets(cfg).get("heldout", [])[:e.generate_records] if cfg.data.heldout else []
    prompts = ifeval.load_prompts(e.ifeval_prompts)[:e.generate_records]
    template, opts = get_template(cfg.template.name), builders.template_options(cfg.template)
    return GenerationProbe(records, prompts, lambda r: render_prompt_segments(r, tokenizer, template, opts),
                           e.max_new_tokens, e.batch_size, opts.rationale_separator)


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
    # group when told it is on the CPU; otherwise every process would train alone. A DeepSpeed
    # launch is the exception: `cpu=True` would drop DeepSpeed (its CPU accelerator uses gloo).
    accelerator = Accelerator(log_with="tensorboard" if cfg.train.tensorboard else None, project_dir=str(run),
                              cpu=not has_accelerator() and not deepspeed_launch(), mixed_precision=mixed,
                              **({"fsdp_plugin": plugin} if plugin else {}))
    if plugin is not None and accelerator.distributed_type == DistributedType.MULTI_CPU:
        use_fsdp_on_cpu(accelerator, plugin)
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        configure_deepspeed(accelerator, cfg.train.batch_size, cfg.train.max_grad_norm, accelerator.print)
    return accelerator


def loop_settings(cfg: Config, n_rows: int, world: int) -> LoopSettings:
    t = cfg.train
    steps = total_steps(n_rows, t.epochs, t.max_steps, t.batch_size, t.grad_accum, world)
    return LoopSettings(steps, t.batch_size, t.grad_accum, t.seed, t.group_by_length, t.max_grad_norm,
                        t.log_every, t.eval_every, t.checkpoint_every, cfg.eval.generate_every, t.prefetch,
                        pin_memory=torch.cuda.is_available())


def new_run_dir(root: str | Path = "runs", now: float | None = None) -> str:
    """A run dir that does not exist yet: `runs/train-YYYYmmdd-HHMMSS`, `-2`, `-3`... on a clash."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = Path(root) / f"train-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return str(path)


def with_run_dir(cfg: Config) -> Config:
    """`cfg` with `output_dir` set: as given, or a fresh timestamped dir (one process only:
    processes started together could read different clocks, so several need it named)."""
    if cfg.output_dir:
        return cfg
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise CheckError("output_dir: several processes need it named (output_dir=runs/NAME), "
                         "so that they all write the same run")
    return dataclasses.replace(cfg, output_dir=new_run_dir())


def settings_lines(cfg: Config, processes: int, threads: int, parallel: str = "") -> list[str]:
    """The resolved settings that decide a run, printed before it starts (so a run without a
    recipe cannot be mistaken for a quickstart run, or the other way round); `parallel` names
    how several processes split the work (`distributed.parallel_name`)."""
    t, d, lo = cfg.train, cfg.data, cfg.lora
    method = (f"lora (r {lo.r}, alpha {lo.alpha}, dropout {lo.dropout}, target {lo.target_modules})"
              if t.method == "lora" else "full (every weight)")
    length = f"{t.epochs} epoch(s)" if t.epochs else "no epoch limit"
    length += f", at most {t.max_steps} steps" if t.max_steps else ""
    per_step = t.batch_size * t.grad_accum * processes
    held = ("none during or after training (train.eval_every=0; `instructune eval` scores a run)"
            if not t.eval_every else
            "none (data.heldout is empty)" if not (d.heldout or d.prepared) else
            f"{', '.join(d.heldout) if not d.prepared else d.prepared + '/heldout'}: "
            f"every {t.eval_every} steps and at the end")
    return [
        "settings",
        f"  model        {cfg.model.name} ({cfg.model.dtype})",
        f"  method       {method}",
        f"  lr           {t.lr:g} (warmup {t.warmup_ratio:.0%} of steps, then cosine)",
        f"  length       {length}",
        f"  batch        {t.batch_size} records × {t.grad_accum} accumulation × {processes} "
        f"process{'es' if processes > 1 else ''} = {per_step} records per step",
        *([f"  parallel     {parallel}"] if parallel else []),
        f"  max_length   {d.max_length} tokens",
        f"  template     {cfg.template.name}",
        f"  data         {d.prepared or ', '.join(d.train)}",
        f"  held-out     {held}",
        f"  threads      {threads} per process",
        f"  output dir   {cfg.output_dir}",
    ]


def interrupted_message(cfg: Config) -> str:
    """What to tell a user who pressed Ctrl-C: the last checkpoint and the exact command that
    resumes from it, or that there is none yet and how to start again."""
    run = Path(cfg.output_dir)
    if not (run / "config.yaml").exists():
        return f"interrupted before training started; nothing to resume in {run}"
    launcher = (" (under the same launcher, with the same number of processes)"
                if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "")
    ckpts = list_checkpoints(run / "checkpoints")
    if not ckpts:
        return (f"interrupted; no checkpoint yet (train.checkpoint_every={cfg.train.checkpoint_every}), "
                f"so nothing to resume.\nstart again with: {resume_command(run, '--overwrite')}{launcher}")
    state = json.loads((ckpts[-1] / "state.json").read_text())
    total = f" of {cfg.train.max_steps}" if cfg.train.max_steps else ""
    return (f"interrupted; last checkpoint: {ckpts[-1]} (step {state['step']}{total})\n"
            f"resume with: {resume_command(run)}{launcher}")


def start_run_dir(run: Path, overwrite: bool, say) -> None:
    """Create the run dir; with `overwrite`, first remove the outputs of the run it holds
    (`RUN_OUTPUTS`: files that are not a run's are kept)."""
    if overwrite and holds_run(run):
        say(f"replacing the previous run in {run} (its outputs are removed first)")
        for name in RUN_OUTPUTS:
            target = run / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    run.mkdir(parents=True, exist_ok=True)


def main(cfg: Config, resume: bool = False, overwrite: bool = False) -> dict:
    """Train per `cfg`; returns a summary (final losses, paths).

    Args:
        cfg: the resolved config; an empty `output_dir` becomes a fresh `runs/train-...`.
        resume: continue the run in `output_dir` from its newest checkpoint.
        overwrite: replace the run in `output_dir`.
    Raises:
        CheckError: before the model loads, when the run dir, model or data do not fit.
    """
    cfg = with_run_dir(cfg)
    run = Path(cfg.output_dir)
    tcfg = cfg.train
    state = PartialState(cpu=not has_accelerator())
    device = state.device
    prec = builders.precision(cfg, device)
    set_seed(tcfg.seed)
    # Every process checks before any writes, so none sees another's new files as an old run.
    check_train(cfg, resume, overwrite, processes=state.num_processes)
    state.wait_for_everyone()

    # --- setup --------------------------------------------------------------------------
    # FSDP (ours, or from an `accelerate launch` config) shards from a host copy; otherwise the
    # weights load straight onto the device.
    on_host = fsdp_launch(tcfg.distributed)
    model, tokenizer, new_ids, prec = builders.load_for_training(cfg, device, prec, load_on="cpu" if on_host else None)
    base_params = count_parameters(model)[1]
    model = builders.trainable(cfg, model, new_ids, prec)
    fwd = builders.with_addons(cfg, model, tokenizer)
    accelerator = build_accelerator(cfg, run, prec.mixed, model)
    # FSDP and DeepSpeed: every process writes and reads its own checkpoint shards.
    sharded = accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
    if accelerator.is_main_process:
        start_run_dir(run, overwrite, accelerator.print)
        if not resume:  # a resumed run's config is saved once the resume is known to fit
            save_config(cfg, run / "config.yaml")
    for line in settings_lines(cfg, accelerator.num_processes, torch.get_num_threads(), parallel_name(accelerator)):
        accelerator.print(line)
    if tcfg.tensorboard:
        accelerator.init_trackers("tensorboard")
    train_ds, held_sets = load_data(cfg, tokenizer)
    if len(train_ds) == 0:
        raise ValueError("no training records left after tokenization (all dropped?)")
    data = train_data(cfg, model, tokenizer, train_ds, accelerator)
    world = accelerator.num_processes
    settings = loop_settings(cfg, len(data.packs) if data.packs else len(train_ds), world)
    loss_impl = resolve_loss_impl(tcfg.loss_impl, device)
    # The `objectives` section's terms ({} with all off: the plain next-token loss). EWC / L2-SP
    # read the pretrained weights now, before a resume loads trained ones; the main process
    # estimates (and caches) the Fisher and the instruction embeddings first, the others load them.
    with state.main_process_first():
        extra_objectives = builders.objectives(cfg, model, train_ds, tokenizer, loss_impl)
        penalties, extra_info = builders.regularizers(cfg, model, tokenizer, log=accelerator.print)
    objective = TrainingObjective(fwd, loss_impl=loss_impl, chunk_tokens=tcfg.loss_chunk_tokens,
                                  objectives={**extra_objectives, **penalties})
    # The model's parameters first, then add-ons' and objectives': with neither, today's order.
    optimizer = build_optimizer(objective, tcfg.lr, tcfg.weight_decay)
    scheduler = warmup_cosine(optimizer, int(tcfg.warmup_ratio * settings.total_steps), settings.total_steps)
    loss_module, optimizer = accelerator.prepare(objective, optimizer)
    objective = accelerator.unwrap_model(loss_module)
    fwd = objective.model
    model = fwd.model  # FSDP swaps parameters for their shards
    extras = {"addons": fwd.addons, "objectives": objective.objectives}

    start = Position()
    ckpt_root = run / "checkpoints"
    if resume:
        newest = list_checkpoints(ckpt_root)[-1]
        saved = json.loads((newest / "state.json").read_text()) if (newest / "state.json").exists() else {}
        if saved.get("step", 0) > settings.total_steps:  # train.epochs caps it (train.max_steps was checked)
            raise CheckError(f"--resume: the newest checkpoint, step {saved['step']}, is past this run's last "
                             f"step {settings.total_steps} (train.epochs={tcfg.epochs}); raise train.epochs")
        state = (sharded_checkpoint.load(newest, loss_module, optimizer, scheduler, accelerator) if sharded
                 else load_checkpoint(newest, model, optimizer, scheduler, extras))
        start = Position(state["step"], state["epoch"], state["position"])
        accelerator.print(f"resumed from step {start.step} (epoch {start.epoch}, window {start.window})")
        if accelerator.is_main_process:
            save_config(cfg, run / "config.yaml")  # the grown max_steps / epochs, for the next resume
    metrics = MetricsLog(run / "metrics.jsonl", truncate_after=start.step if resume else 0,
                         enabled=accelerator.is_main_process)
    trainable, total = count_parameters(objective)
    params = {"trainable": trainable, "total": total, "added": total - base_params}
    fused = fused_lora_count(model)
    accelerator.print(f"model {cfg.model.name}: {trainable:,} trainable / {total:,} parameters; "
                      f"{len(train_ds)} train rows; {settings.total_steps} steps; on {device}, weights "
                      f"{prec.weights}, mixed precision {prec.mixed}, attention {model.config._attn_implementation}, "
                      f"loss {loss_impl}" + (f", {fused} LoRA linears fused" if fused else "")
                      + (f"; add-ons {', '.join(fwd.addons)}" if fwd.addons else ""))
    pack_length = cfg.data.pack_length or max(cfg.data.max_length, max(data.lengths))
    shares = layout_shares(data.lengths, tcfg.batch_size, tcfg.seed, pack_length)
    accelerator.print("non-pad token share (epoch 0): " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
                      + f"; this run: packing={cfg.data.packing} padding_free={data.padding_free}")

    def evaluate_heldout() -> dict[str, float]:
        """eval_loss / eval_ppl on "heldout", eval_loss/<name> on every other set."""
        out = {}
        for name, ds in held_sets.items():
            if len(ds) == 0:
                continue
            with accelerator.autocast():
                res = response_loss(fwd, ds, data.pad_id, cfg.eval.batch_size, accelerator.device,
                                    loss_impl=loss_impl)
            if name == "heldout":
                out.update({"eval_loss": res["response_loss"], "eval_ppl": res["perplexity"]})
                if "instruction" in objective.objectives:  # the dual objective's head, held out
                    with accelerator.autocast():
                        acc = heldout_accuracy(objective.objectives["instruction"], fwd, ds, data.pad_id,
                                               cfg.eval.batch_size, accelerator.device)
                    if acc is not None:
                        out["eval_acc/instruction"] = acc
            else:
                out[f"eval_loss/{name}"] = res["response_loss"]
        return out

    # With split weights every process must take part in every forward (transformers' generate
    # then keeps them in step, synced_gpus), so all run the probe; only the main one logs it.
    probe = generation_probe(cfg, tokenizer) if accelerator.is_main_process or weights_split(accelerator) else None

    def log(row: dict) -> None:
        metrics.write(row)
        if tcfg.tensorboard:
            accelerator.log({k: v for k, v in row.items() if k != "step"}, step=row["step"])

    def save(at: Position) -> None:
        position = {"epoch": at.epoch, "position": at.window, "processes": world}
        if sharded:  # every rank writes its shards
            sharded_checkpoint.save(ckpt_root, at.step, loss_module, optimizer, scheduler, position, accelerator,
                                    keep=tcfg.keep_checkpoints)
            return
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            save_checkpoint(ckpt_root, at.step, model, optimizer, scheduler, position, keep=tcfg.keep_checkpoints,
                            extras=extras)

    # --- loop ---------------------------------------------------------------------------
    model.train()
    progress = TrainProgress(settings.total_steps, start=start.step, enabled=accelerator.is_local_main_process)
    # Clip the prepared module's parameters (FSDP: the local shards; the norm is global).
    parts = LoopParts(loss_module, [p for p in loss_module.parameters() if p.requires_grad], optimizer, scheduler,
                      accelerator, log, progress.update, evaluate_heldout, save,
                      (lambda: probe(fwd, tokenizer)) if probe else None)
    with progress:
        result = run_loop(parts, data, settings, start)

    # --- save ---------------------------------------------------------------------------
    last = result.last
    if tcfg.eval_every and not any(k.startswith("eval_loss") for k in last):  # eval_every=0: no held-out pass
        final_eval = evaluate_heldout()
        if final_eval:
            last.update(final_eval)
            metrics.write({"step": result.step, **final_eval})
    accelerator.wait_for_everyone()
    paths = {}
    export_model = model
    if weights_split(accelerator):  # gather the trained shards, then export from a plain host copy on the main process
        trained = sharded_checkpoint.full_trainable_state(loss_module, accelerator)
        if accelerator.is_main_process:
            plain_model_loading()
            export_model = builders.model_for_training(cfg, "cpu", Precision("float32", "no"))[0]
            export_model.load_state_dict({k.removeprefix("model.model."): v for k, v in trained.items()}, strict=False)
    if accelerator.is_main_process:
        paths = export_run(export_model, tokenizer, run, cfg.template.name)
        paths["addons"] = save_addons(fwd, cfg.addons.enabled(), run)
        if fwd.changes_forward():
            accelerator.print(f"add-ons {', '.join(fwd.addons)} saved to {paths['addons']}; they change the model's "
                              f"forward, and {run / 'export'} is the plain model without them (what plain "
                              f"transformers or vLLM run). `instructune generate/chat/serve --model {run}` and "
                              f"`instructune eval --tuned {run}` restore them; "
                              f"`instructune eval` also scores the run without them.")
    accelerator.end_training()
    summary = {"steps": result.step, "final": last, **paths, "run_dir": str(run), "parameters": params,
               **({"objectives": extra_info} if extra_info else {}),
               "seconds_per_step": result.seconds / max(result.step - start.step, 1),
               "nonpad_share": {**shares, "this_run": result.real_tokens / max(result.slot_tokens, 1)}}
    if accelerator.is_main_process:
        (run / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
