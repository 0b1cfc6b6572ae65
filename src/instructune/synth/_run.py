"""A resumable synth run (Self-Instruct, Evol-Instruct): the state both keep in their output
dir, and `run_steps`, the loop that takes a run from its first unfinished step (round or
generation) to the last and writes its report.

    out/records.jsonl   accepted records, appended as made
    out/rejects.jsonl   one row per eliminated candidate, with its reason
    out/<steps file>    one row per finished step, with the requests it made
    out/report.json     rewritten after every step and at the end
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from instructune.data.jsonio import write_json
from instructune.generation.generator import Generator
from instructune.progress import RunProgress
from instructune.rundir import RECORDS, REJECTS
from instructune.rundir import RUN_REPORT as REPORT
from instructune.synth._runlog import AppendLog, TrackedGenerator, synth_progress


class SynthRun:
    """One run over an output dir; its state is what the dir's files hold.

    Subclasses implement `step` (and `finished` when a run can end early) and `report`.

    Args:
        gen: the generator LLM.
        out: the output dir.
        steps_file: the log of finished steps ("rounds.jsonl", "generations.jsonl"); each row
            carries the "requests" its step made.
    """

    def __init__(self, gen: Generator, out: Path, steps_file: str):
        self.gen, self.out = gen, out
        self.records = AppendLog(out / RECORDS)
        self.rejects = AppendLog(out / REJECTS)
        self.steps = AppendLog(out / steps_file)
        self.reasons = Counter(r["reason"] for r in self.rejects.rows)
        # Requests of earlier sessions come from the log, this session's from the generator.
        self.requests_before = sum(r["requests"] for r in self.steps.rows)
        self.requests_at_start = gen.stats.requests
        self.new_records = 0

    @property
    def requests(self) -> int:
        """Generator requests made by this run, over all its sessions."""
        return self.requests_before + self.gen.stats.requests - self.requests_at_start

    def finished(self) -> bool:
        """Whether there is nothing left to do before the last step (checked between steps)."""
        return False

    def step(self, n: int, show: RunProgress) -> None:
        """Run step `n` (1-based) and append its row to `self.steps`."""
        raise NotImplementedError

    def report(self, seconds: float) -> dict[str, Any]:
        """The report of the run so far (`seconds`: this session's time)."""
        raise NotImplementedError

    def refresh(self, bar: RunProgress, done: int | None = None) -> None:
        """Refresh the bar's counts (and the number of finished steps)."""
        bar.update(accepted=len(self.records), rejected=sum(self.reasons.values()),
                   requests=self.requests, done=done)

    def session(self, seconds: float) -> dict[str, Any]:
        """This session's part of the report: records made, time taken and their rate."""
        return {"records": self.new_records, "seconds": round(seconds, 2),
                "records_per_minute": round(60 * self.new_records / seconds, 2) if seconds else 0.0}

    def close(self) -> None:
        for log in (self.records, self.rejects, self.steps):
            log.close()


def run_steps(run: SynthRun, label: str, total: int, progress: bool = True) -> dict[str, Any]:
    """Run the steps of `run` from its first unfinished one to `total` (or until `finished`),
    rewriting report.json after each, so a killed run leaves a current report; then close the
    logs and write and return the final report.

    Args:
        run: the run, its state rebuilt from its output dir.
        label: the progress bar's label.
        total: the last step.
        progress: show a progress bar.
    """
    start = time.perf_counter()
    first = len(run.steps) + 1
    try:
        live = run.gen if isinstance(run.gen, TrackedGenerator) else None
        with synth_progress(label, total, first - 1, progress, live) as show:
            for n in range(first, total + 1):
                if run.finished():
                    break
                run.step(n, show)
                run.refresh(show, done=n)
                write_json(run.out / REPORT, run.report(time.perf_counter() - start))
    finally:
        run.close()
    report = run.report(time.perf_counter() - start)
    write_json(run.out / REPORT, report)
    return report
