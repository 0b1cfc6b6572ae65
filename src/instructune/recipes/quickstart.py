"""`instructune quickstart`: the whole pipeline on the embedded defaults, offline, on a CPU.

ingest the starter set → (augment it with verifiable constraints, `data.augment.constraints`)
→ prepare → LoRA-train SmolLM2-135M-Instruct → evaluate base and
tuned (held-out loss and generations, a small verifiable-instruction set, forgetting on
general text, all with intervals) → print a few generations, where everything went, and the
table → write report.html.

The run dir follows the run-dir rules (rundir.py): one that holds a quickstart run (data/, or
what train, eval and report write) is refused unless `overwrite` (`--overwrite`) replaces it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from rich.console import Console

from instructune.config import Config
from instructune.evaluate.results_table import results_table
from instructune.recipes import augment, evaluate, ingest, prepare, report, train
from instructune.recipes.checks import check_output_dir
from instructune.rundir import RunDir, clear


def main(cfg: Config, console: Console | None = None, n_examples: int = 4, overwrite: bool = False) -> dict:
    """Run every stage into `cfg.output_dir`; returns {"eval": ..., "train": ..., "seconds": ...,
    "stage_seconds": {stage: wall seconds}} (ingest, augment when on, prepare, train, evaluate, report).

    Raises:
        CheckError: the dir holds a quickstart (or training) run and `overwrite` is false.
    """
    console = console or Console()
    run = Path(cfg.output_dir)
    check_output_dir("quickstart", run, overwrite=overwrite, key="--output")
    if overwrite and (removed := clear(run, "quickstart")):
        console.print(f"replacing the previous run in {run}: removed {', '.join(removed)}", markup=False,
                      highlight=False, soft_wrap=True)
    stage_seconds: dict[str, float] = {}
    lap = _lap(stage_seconds)

    console.rule("1/4 ingest")
    data = run / "data"
    for split in ("train", "heldout"):
        counts = ingest.main(getattr(cfg.data, split), data / f"{split}.jsonl", cfg.data.format,
                             reader=cfg.data.reader)
        console.print(f"{split}: {counts['records']} records → {data / f'{split}.jsonl'}  tasks {counts['tasks']}")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(
        cfg.data, train=[str(data / "train.jsonl")], heldout=[str(data / "heldout.jsonl")], format="records"))
    lap("ingest")
    if cfg.data.augment.constraints.enabled:  # before prepare: the prepared splits hold them
        path = data / "augmented.jsonl"
        console.print(augment.augmentation_line(augment.augment_training_data(cfg, path), path))
        cfg = augment.trained_on(cfg, path)
        lap("augment")

    console.rule("2/4 prepare")
    stats = prepare.main(cfg, data / "prepared")
    for split, st in stats.items():
        console.print(f"{split}: {st}")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, prepared=str(data / "prepared")))
    lap("prepare")

    console.rule("3/4 train")
    summary = train.main(cfg)  # the dir holds no run: checked (and cleared with --overwrite) above
    console.print(f"trained {summary['steps']} steps; final loss {summary['final'].get('loss', float('nan')):.4f}")
    lap("train")

    console.rule("4/4 evaluate")
    results = evaluate.main(cfg, tuned=str(run), console=console)
    lap("evaluate")
    page = report.main([str(run)])
    lap("report")
    seconds = sum(stage_seconds.values())  # the laps run back to back from the first stage on

    console.rule("generations (held-out)")
    rows = [json.loads(line) for line in RunDir(run).generations.read_text().splitlines()]
    for row in rows[:n_examples]:
        console.print(f"[bold]{row['instruction']}[/bold]")
        console.print(f"  reference: {row['reference']}")
        console.print(f"  base:      {row.get('base', '')}")
        console.print(f"  tuned:     {row.get('tuned', '')}\n")

    console.rule("outputs")
    rd = RunDir(run)
    for name, path in (("run dir", run), ("config", rd.config), ("metrics", rd.metrics),
                       ("checkpoints", rd.checkpoints), ("adapter", rd.adapter),
                       ("merged model", rd.export), ("eval", rd.eval),
                       ("generations", rd.generations),
                       ("IF verdicts", rd.verdicts()), ("report", page)):
        console.print(f"{name:>13}: {path}")
    console.print(f"\nfinished in {seconds:.0f} s ("
                  + ", ".join(f"{name} {s:.0f} s" for name, s in stage_seconds.items()) + ")\n", soft_wrap=True)
    console.print(results_table(results))
    return {"eval": results, "train": summary, "seconds": seconds, "stage_seconds": stage_seconds}


def _lap(into: dict[str, float]):
    """A function `lap(name)` that stores in `into[name]` the wall seconds since the previous lap
    (or since `_lap` was called)."""
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        into[name] = now - last[0]
        last[0] = now

    return lap


def report_outcome(res: dict, console: Console) -> bool:
    """Say whether tuning beat the base model on held-out response loss; returns that."""
    ok = res["eval"]["tuned"]["response_loss"] < res["eval"]["base"]["response_loss"]
    console.print("tuned beats base on held-out response loss" if ok
                  else "[red]tuned does NOT beat base on held-out response loss[/red]")
    return ok
