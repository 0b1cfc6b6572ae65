"""`instructune run`: the instruction-tuning loop as one recipe.

    instructune run --recipe self_instruct_loop data.train=[seed_tasks.jsonl] [--output RUN]
    instructune run --recipe RECIPE --resume          # after a kill, or after the review stop

The recipe's `pipeline.stages` lists the stages in order (`config/pipeline.py`): ingest →
synth → augment → quality → refine → review → train → eval → report, the optional ones left out
at will. Each stage runs its verb's own recipe into its dir of RUN (`rundir.STAGE_DIRS`) and
hands the next stage its record files (`recipes/stages.py`).

Caching: a stage whose settings, input files and upstream stage are unchanged since it last
finished is skipped, with a line saying so; a changed stage reruns, and so does every stage
after it (`recipes/stage_cache.py`: the key, RUN/stages/<stage>.json). A second run of the same
recipe skips every stage.

The run dir's rules (rundir.py): a dir holding a stopped pipeline (a stage killed mid-run) is
refused unless `--resume` continues it (train from its newest checkpoint, synth through its own
resume, any other stage rerun whole: its outputs are written atomically and marked done only
once complete) or `--overwrite` starts over (the review decisions in RUN/quality/ stay: a
person's work). A finished or fresh dir needs neither: the cache decides what reruns. The
review stage stops the pipeline while flagged records wait for a person; `--resume` continues
with the decisions recorded by `instructune review RUN/quality`.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from instructune import rundir
from instructune.config import Config
from instructune.config.pipeline import STAGES as ORDER
from instructune.evaluate.lineage import HEADER, lineage_rows
from instructune.recipes.checks import CheckError, check_inputs
from instructune.recipes.stage_cache import StageRecord, read_record, stage_key, write_record
from instructune.recipes.stages import STAGES, Flow, ReviewStop, raw_files

EVAL_NEEDS_HELDOUT = {"loss", "generation", "temperature"}


def check_pipeline(cfg: Config, resume: bool, overwrite: bool, key: str = "--output") -> None:
    """Everything `run` needs before a stage starts: stages, data, the run dir.

    Raises:
        CheckError: no stages; no training data; an eval with nothing held out; a dir holding a
            training run of its own, or a stopped pipeline without --resume / --overwrite;
            --resume with nothing to continue.
    """
    stages = cfg.pipeline.stages
    if not stages:
        raise CheckError(f"pipeline.stages: the recipe lists no stages; list them in order, from: {', '.join(ORDER)} "
                         f"(e.g. --recipe self_instruct_loop)")
    if not cfg.data.train:
        raise CheckError("data.train: empty; the ingest stage needs the raw training files "
                         "(data.train=[path/to/seed_tasks.jsonl])")
    for split in ("train", "heldout"):
        check_inputs(raw_files(cfg, split), f"data.{split}")
    if EVAL_NEEDS_HELDOUT & set(cfg.eval.suites) and not (cfg.data.heldout or cfg.eval.sets):
        raise CheckError(f"data.heldout: empty, and eval.suites {cfg.eval.suites} score held-out records; give "
                         f"data.heldout=[FILE] or leave those suites out")
    root = Path(cfg.output_dir)
    if resume and overwrite:
        raise CheckError(f"run: --resume and --overwrite exclude each other: continue the pipeline in {root} or "
                         f"start it over")
    if found := rundir.holds_run(root):
        raise CheckError(f"run: {key} {root} holds a training run of its own ({', '.join(found)}), not a pipeline; "
                         f"choose a new {key}")
    records = {s: read_record(rundir.RunDir(root).stage_record(s)) for s in ORDER}
    if resume and not any(records.values()):
        raise CheckError(f"run --resume: {key} {root} holds no pipeline, so there is nothing to continue; "
                         f"run without --resume")
    stopped = [s for s, r in records.items() if r and r.state == "running"]
    if stopped and not (resume or overwrite):
        raise CheckError(f"run: {key} {root} holds a pipeline stopped in its {stopped[0]} stage (killed?); pass "
                         f"--resume to continue it, --overwrite to start over, or choose a new {key}")


def continues(record: StageRecord | None, key: str, resume: bool) -> bool:
    """Whether a stage continues where it stopped: with --resume, a stage killed under the same
    key, or the review stage waiting (its key changed with every decision made meanwhile)."""
    if not (resume and record):
        return False
    return (record.state == "running" and record.key == key) or record.state == "waiting"


def written(run: rundir.RunDir, stage: str) -> bool:
    """Whether a stage's output is still there (a done stage whose dir or report.html was removed
    since reruns, rather than hand the next stage files that are gone)."""
    return (run.report if stage == "report" else run.stage_dir(stage)).exists()


def counts_line(name: str, counts: dict[str, Any]) -> str:
    """"quality: 180 → 152 records" (the report stage moves none)."""
    return f"{name}: {counts['in']} → {counts['out']} records" if counts.get("in") or counts.get("out") else name


def run_stage(flow: Flow, name: str, key: str, record: StageRecord | None, resume: bool) -> StageRecord:
    """Run one stage under `key`: marked running first, done (with its counts) only once it
    returned, waiting when it stops for review.

    Raises:
        ReviewStop: the review stage stopped the pipeline (its record says "waiting").
    """
    path = flow.run.stage_record(name)
    going_on = continues(record, key, resume)
    if record and record.state == "running" and not going_on:
        flow.say(f"{name}: its settings or inputs changed since it stopped; starting it over")
    write_record(path, StageRecord(name, key, "running"))
    t0 = time.perf_counter()
    try:
        counts = STAGES[name].run(flow, going_on)
    except ReviewStop as stop:
        write_record(path, StageRecord(name, key, "waiting", stop.counts, round(time.perf_counter() - t0, 3)))
        raise
    done = StageRecord(name, key, "done", counts, round(time.perf_counter() - t0, 3))
    write_record(path, done)
    return done


def main(cfg: Config, console: Console | None = None, resume: bool = False, overwrite: bool = False,
         resume_hint: str = "instructune run --resume") -> dict[str, Any]:
    """Run the pipeline of `cfg` into `cfg.output_dir`.

    Args:
        resume: continue a stopped pipeline (a killed stage, the review stop).
        overwrite: remove the pipeline's outputs first (review decisions stay).
        resume_hint: the command that continues this pipeline, printed at the review stop.
    Returns:
        {"stages": {name: {"ran": bool, "seconds", "counts"}}, "stopped": None or "review",
         "seconds": total wall time, "report": path or None}
    Raises:
        CheckError: see `check_pipeline`; anything a stage's verb raises.
    """
    console = console or Console()
    say = lambda s: console.print(s, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    check_pipeline(cfg, resume, overwrite)
    run = rundir.RunDir(cfg.output_dir)
    if overwrite and (removed := rundir.clear(run.root, "run")):
        say(f"starting the pipeline in {run.root} over: removed {', '.join(removed)} (review decisions stay)")
    flow = Flow(cfg, run, console, say, resume_hint=resume_hint)
    stages, upstream, t0 = cfg.pipeline.stages, None, time.perf_counter()
    summary: dict[str, Any] = {"stages": {}, "stopped": None}
    for i, name in enumerate(stages, 1):
        console.rule(f"{i}/{len(stages)} {name}")
        stage = STAGES[name]
        key = stage_key(name, stage.settings(cfg), stage.inputs(flow), upstream, run.root)
        record = read_record(run.stage_record(name))
        ran = not (record and record.state == "done" and record.key == key and written(run, name))
        if ran:
            try:
                record = run_stage(flow, name, key, record, resume)
            except ReviewStop as stop:
                say(stop.message)
                summary.update(stopped="review", seconds=time.perf_counter() - t0, report=None)
                return summary
        else:
            say(f"skipped {name}: settings and inputs unchanged since it finished at {record.at} "
                f"({counts_line(name, record.counts)})")
        stage.hand_on(flow)
        summary["stages"][name] = {"ran": ran, "seconds": record.seconds, "counts": record.counts}
        upstream = key
    summary.update(seconds=time.perf_counter() - t0, report=str(run.report))
    return summary


def print_summary(summary: dict[str, Any], console: Console) -> None:
    """The lineage table and the wall time of this run (a skipped stage's seconds are from its
    last run, marked so)."""
    table = Table(title="lineage")
    for i, col in enumerate([*HEADER, "this run"]):
        table.add_column(col, justify="left" if i in (0, 3, 5) else "right")
    rows = lineage_rows(summary["stages"])
    ran = {n: s["ran"] for n, s in summary["stages"].items()}
    for row in rows:
        table.add_row(*row, "ran" if ran[row[0]] else "skipped")
    console.print(table)
    console.print(f"pipeline finished in {summary['seconds']:.1f} s; report: {summary['report']}",
                  markup=False, highlight=False, soft_wrap=True)


def resume_command(recipe: str | None, overrides: list[str], output: str | None) -> str:
    """The command that continues this pipeline, as the user would type it."""
    parts = ["instructune", "run", "--resume"] + (["--recipe", recipe] if recipe else [])
    parts += (["--output", output] if output else []) + overrides
    return shlex.join(parts)
