"""`instructune report RUN_DIR... [--output report.html]`: one self-contained HTML page
(plots inline as SVG, no network fetches) for a run, or comparing several."""

from __future__ import annotations

from pathlib import Path

from instructune.config import ConfigError
from instructune import rundir
from instructune.evaluate.report import run_report


# What a report is made of: a dir with none of these holds nothing to show.
REPORTED = (rundir.METRICS, rundir.SUMMARY, rundir.EVAL)


def main(run_dirs: list[str], output: str | None = None, n_generations: int = 8) -> Path:
    """Write the report; returns its path (default: report.html in the only run dir, else ./report.html)."""
    runs = [Path(r) for r in run_dirs]
    for r in runs:
        if not r.is_dir():
            raise ConfigError(f"report: {r} is not a directory (give run dirs written by train / eval)")
        if not any((r / name).exists() for name in REPORTED):
            raise ConfigError(f"report: {r} holds no run: none of {', '.join(REPORTED)} is there "
                              f"(give run dirs written by train / eval)")
    out = Path(output) if output else (runs[0] / "report.html" if len(runs) == 1 else Path("report.html"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(run_report(runs, n_generations))
    tmp.replace(out)
    return out
