"""`instructune train`: setup, the loop, finish (docs/architecture.md §4).

    instructune train --recipe quickstart output_dir=runs/x train.lr=1e-4 [--resume | --overwrite]
    accelerate launch -m instructune.cli train ...      # several processes, same code

One run per run dir: a dir that already holds a run is refused unless `--resume` continues it
(its config.yaml must agree on `checks.RESUME_KEYS`) or `--overwrite` replaces it; without
`output_dir` a fresh `runs/train-YYYYmmdd-HHMMSS` is used. All of it is checked before the
model loads (`recipes/checks.py`).

Setup: check → run dir and config.yaml → `train/assemble.py: assemble` (precision for the
device, model + LoRA + add-ons, tokenized data, loss terms, optimizer, schedule) → optional
resume from the newest checkpoint. Loop: `TrainingRun.fit`, with the held-out evaluation
(`evaluate/heldout.py`) and the generation probe (`evaluate/probe.py`) built here. Finish: the
final held-out pass, export of the adapter and merged model, `train_summary.json`, the model
card (export/README.md, `evaluate/card.py`).

Each optimizer step divides the window's summed NLL by its trained-token count (over all
processes), so a step is the same whether it is 8 records × 1 micro-batch or 2 × 4.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from pathlib import Path

import torch
from accelerate import PartialState

from instructune.config import Config, ConfigError, entry_label, save_config
from instructune.data.batching import layout_shares
from instructune.data.jsonio import write_json
from instructune.data.render import render_prompt_segments
from instructune.data.templates import get_template, template_options
from instructune.evaluate.card import write_cards
from instructune.evaluate.heldout import heldout_metrics
from instructune.model.lora_fusion import fused_lora_count
from instructune.recipes import builders
from instructune.recipes.augment import augment_training_data, augmentation_line, trained_on
from instructune.recipes.checks import CheckError, check_train, resume_command
from instructune.rundir import RunDir, clear, holds_run
from instructune.train.assemble import assemble
from instructune.train.checkpoint import list_checkpoints
from instructune.train.device import has_accelerator
from instructune.train.distributed import fsdp_launch, parallel_name, weights_split
from instructune.train.loop import LoopResult, Position
from instructune.train.run import TrainingRun
from instructune.train.trackers import log_report


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
    template, opts = get_template(cfg.template.name), template_options(cfg.template)
    return GenerationProbe(records, prompts, lambda r: render_prompt_segments(r, tokenizer, template, opts),
                           e.max_new_tokens, e.batch_size, opts.rationale_separator)


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
            f"{', '.join(map(entry_label, d.heldout)) if not d.prepared else d.prepared + '/heldout'}: "
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
        f"  data         {d.prepared or ', '.join(map(entry_label, d.train))}",
        f"  held-out     {held}",
        f"  threads      {threads} per process",
        f"  output dir   {cfg.output_dir}",
    ]


def interrupted_message(cfg: Config) -> str:
    """What to tell a user who pressed Ctrl-C: the last checkpoint and the exact command that
    resumes from it, or that there is none yet and how to start again."""
    run = Path(cfg.output_dir)
    if not RunDir(run).config.exists():
        return f"interrupted before training started; nothing to resume in {run}"
    launcher = (" (under the same launcher, with the same number of processes)"
                if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "")
    ckpts = list_checkpoints(RunDir(run).checkpoints)
    if not ckpts:
        return (f"interrupted; no checkpoint yet (train.checkpoint_every={cfg.train.checkpoint_every}), "
                f"so nothing to resume.\nstart again with: {resume_command(run, '--overwrite')}{launcher}")
    saved = json.loads((ckpts[-1] / "state.json").read_text())
    total = f" of {cfg.train.max_steps}" if cfg.train.max_steps else ""
    return (f"interrupted; last checkpoint: {ckpts[-1]} (step {saved['step']}{total})\n"
            f"resume with: {resume_command(run)}{launcher}")


def start_run_dir(run: Path, overwrite: bool, say) -> None:
    """Create the run dir; with `overwrite`, first remove what train wrote there and what eval
    and report made from it (`rundir.clear`; files that are not a run's are kept)."""
    if overwrite and holds_run(run):
        say(f"replacing the previous run in {run}: removed {', '.join(clear(run, 'train'))}")
    run.mkdir(parents=True, exist_ok=True)


def resume_position(cfg: Config, run: TrainingRun) -> Position:
    """Load the newest checkpoint of the run dir into `run`; the position it resumes at.

    Raises:
        CheckError: the checkpoint is past this run's last step (`train.epochs` caps it).
    """
    newest = list_checkpoints(run.checkpoints)[-1]
    saved = json.loads((newest / "state.json").read_text()) if (newest / "state.json").exists() else {}
    if saved.get("step", 0) > run.settings.total_steps:  # train.max_steps was checked before the load
        raise CheckError(f"--resume: the newest checkpoint, step {saved['step']}, is past this run's last "
                         f"step {run.settings.total_steps} (train.epochs={cfg.train.epochs}); raise train.epochs")
    start = run.resume(newest)
    run.accelerator.print(f"resumed from step {start.step} (epoch {start.epoch}, window {start.window})")
    return start


def with_augmented_data(cfg: Config, run_dir: Path, process, resume: bool) -> Config:
    """With `data.augment.constraints.enabled`: the main process augments the training records
    into RUN/augmented.jsonl (a resume reuses it), and the config trains on them."""
    if not cfg.data.augment.constraints.enabled:
        return cfg
    path = RunDir(run_dir).augmented
    if process.is_main_process and not (resume and path.exists()):
        process.print(augmentation_line(augment_training_data(cfg, path), path))
    process.wait_for_everyone()
    return trained_on(cfg, path)


def describe(cfg: Config, run: TrainingRun) -> list[str]:
    """What was built: parameters, rows, steps, device, precision, kernels, add-ons."""
    model, trained, total = run.model, run.parameters["trainable"], run.parameters["total"]
    fused, addons = fused_lora_count(model), run.forward.addons
    return [f"model {cfg.model.name}: {trained:,} trainable / {total:,} parameters; {len(run.data.ds)} train rows; "
            f"{run.settings.total_steps} steps; on {run.accelerator.device}, weights {run.precision.weights}, "
            f"mixed precision {run.precision.mixed}, attention {model.config._attn_implementation}, "
            f"loss {run.loss_impl}" + (f", {fused} LoRA linears fused" if fused else "")
            + (f"; add-ons {', '.join(addons)}" if addons else "")]


def padding_shares(cfg: Config, run: TrainingRun) -> dict[str, float]:
    """The non-pad token share of epoch 0 under each batch layout (`layout_shares`)."""
    pack_length = cfg.data.pack_length or max(cfg.data.max_length, max(run.data.lengths))
    return layout_shares(run.data.lengths, cfg.train.batch_size, cfg.train.seed, pack_length)


def heldout_evaluation(cfg: Config, run: TrainingRun):
    """The run's held-out metrics as a callable for `fit` (`evaluate/heldout.py`)."""
    terms = run.objective.objectives
    return functools.partial(heldout_metrics, run.forward, run.heldout, run.data.pad_id, cfg.eval.batch_size,
                             run.accelerator.device, run.loss_impl, run.accelerator.autocast,
                             terms["instruction"] if "instruction" in terms else None)


def probe_call(cfg: Config, run: TrainingRun):
    """The generation probe as a callable for `fit`, or None. With split weights every process
    must take part in every forward (transformers' generate then keeps them in step,
    synced_gpus), so all run it; only the main one logs it."""
    if not (run.accelerator.is_main_process or weights_split(run.accelerator)):
        return None
    probe = generation_probe(cfg, run.tokenizer)
    return functools.partial(probe, run.forward, run.tokenizer) if probe else None


def final_heldout(cfg: Config, run: TrainingRun, result: LoopResult, evaluate) -> None:
    """The held-out pass after the last step, unless the loop just ran it (`train.eval_every`
    = 0: none); added to the last metrics, to metrics.jsonl and to the trackers."""
    if not cfg.train.eval_every or any(k.startswith("eval_loss") for k in result.last):
        return
    metrics = evaluate()
    if metrics:
        result.last.update(metrics)
        run.log({"step": result.step, **metrics})


def export(run: TrainingRun) -> dict[str, str]:
    """Export the run; says where the add-ons went when they change the model's forward."""
    paths = run.export()
    if paths and run.forward.changes_forward():
        out = run.run_dir
        run.accelerator.print(f"add-ons {', '.join(run.forward.addons)} saved to {paths['addons']}; they change "
                              f"the model's forward, and {out / 'export'} is the plain model without them (what "
                              f"plain transformers or vLLM run). `instructune generate/chat/serve --model {out}` and "
                              f"`instructune eval --tuned {out}` restore them; "
                              f"`instructune eval` also scores the run without them.")
    return paths


def main(cfg: Config, resume: bool = False, overwrite: bool = False) -> dict:
    """Train per `cfg`; returns a summary (final losses, paths).

    Args:
        cfg: the resolved config; an empty `output_dir` becomes a fresh `runs/train-...`.
        resume: continue the run in `output_dir` from its newest checkpoint.
        overwrite: replace the run in `output_dir`.
    Raises:
        CheckError: before the model loads, when the run dir, model or data do not fit.
    """
    # --- setup --------------------------------------------------------------------------
    cfg = with_run_dir(cfg)
    run_dir = Path(cfg.output_dir)
    process = PartialState(cpu=not has_accelerator())
    # Every process checks before any writes, so none sees another's new files as an old run.
    check_train(cfg, resume, overwrite, processes=process.num_processes)
    process.wait_for_everyone()
    if process.is_main_process:
        start_run_dir(run_dir, overwrite, process.print)
        if not resume:  # a resumed run's config is saved once the resume is known to fit
            save_config(cfg, RunDir(run_dir).config)
    saved, cfg = cfg, with_augmented_data(cfg, run_dir, process, resume)
    run = assemble(cfg, penalties=functools.partial(builders.regularizers, cfg))
    say = run.accelerator.print
    for line in settings_lines(cfg, run.accelerator.num_processes, torch.get_num_threads(),
                               parallel_name(run.accelerator)):
        say(line)
    start = resume_position(cfg, run) if resume else Position()
    if resume and run.accelerator.is_main_process:
        save_config(saved, RunDir(run_dir).config)  # the grown max_steps / epochs, for the next resume
    for line in describe(cfg, run):
        say(line)
    for addon in run.forward.addons.values():
        for line in addon.data_warnings(run.data.ds["task"]):
            say(f"warning: {line}")
    shares = padding_shares(cfg, run)
    say("non-pad token share (epoch 0): " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
        + f"; this run: packing={cfg.data.packing} padding_free={run.data.padding_free}")

    # --- loop ---------------------------------------------------------------------------
    evaluate = heldout_evaluation(cfg, run)
    result = run.fit(start, evaluate, probe_call(cfg, run))

    # --- finish -------------------------------------------------------------------------
    final_heldout(cfg, run, result, evaluate)
    paths = export(run)
    summary = {"steps": result.step, "final": result.last, **paths, "run_dir": str(run_dir),
               "parameters": run.parameters,
               **({"objectives": run.objective_info} if run.objective_info else {}),
               "seconds_per_step": result.seconds / max(result.step - start.step, 1),
               "nonpad_share": {**shares, "this_run": result.real_tokens / max(result.slot_tokens, 1)},
               "data": {"train_records": len(run.data.ds), "heldout_records": {k: len(v) for k, v in run.heldout.items()},
                        **({"mixture": run.mixture} if run.mixture else {})}}
    if run.accelerator.is_main_process:
        write_json(RunDir(run_dir).summary, summary)
        write_cards(run_dir)  # after the summary: the card reads it
    log_report(run.accelerator, cfg.train.report_to, RunDir(run_dir).summary)
    # Every process is past its last collective before any of them tears the process group down.
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return summary
