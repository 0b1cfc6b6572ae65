"""The lineage of an `instructune run` pipeline: records in and out of every stage with the
reasons those that left did so, and the page that shows it with the trained model's scores.

    rows = lineage_rows({"ingest": {"counts": {...}, "seconds": 0.4}, ...})
    html = pipeline_report(stages, Path("RUN/train"), Path("RUN/eval"))

`stages` maps each finished stage, in pipeline order, to its record's counts (see
`recipes/stages.py`: {"in", "out", "reasons", "detail"}) and wall seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from instructune.evaluate import html as H
from instructune.evaluate.report import (curves_section, eval_table_section, generations_section,
                                         ifeval_types_section, read_json)
from instructune.rundir import RunDir

HEADER = ["stage", "records in", "records out", "left out or waiting (by reason)", "seconds"]


def reasons_text(reasons: dict[str, int]) -> str:
    """"rejected: format:json 2; flagged for review: coherence:low 1", or "" when none."""
    return "; ".join(f"{why} {n}" for why, n in reasons.items())


def detail_text(detail: dict[str, Any]) -> str:
    """A stage's own figures as one line: "steps 20, loss 1.93"."""
    def show(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} {show(x)}" for k, x in v.items()) + "}"
        return str(v)
    return ", ".join(f"{k} {show(v)}" for k, v in detail.items() if v is not None)


def lineage_rows(stages: dict[str, dict[str, Any]]) -> list[list[str]]:
    """One row per stage: name, records in, records out, the reasons, seconds. The report stage
    moves no record and has no row."""
    rows = []
    for name, info in stages.items():
        c = info.get("counts") or {}
        if name == "report" or "in" not in c:
            continue
        rows.append([name, str(c["in"]), str(c["out"]), reasons_text(c.get("reasons", {})),
                     f"{info.get('seconds', 0.0):.1f}"])
    return rows


def lineage_section(stages: dict[str, dict[str, Any]]) -> str:
    """The lineage table, with each stage's own figures under it."""
    rows = lineage_rows(stages)
    details = [[name, detail_text((info.get("counts") or {}).get("detail", {}))]
               for name, info in stages.items() if (info.get("counts") or {}).get("detail")]
    return H.section("Lineage: records through the pipeline",
                     H.table(HEADER, rows, text_cols=(0, 3)),
                     H.table(["stage", "figures"], details, text_cols=(0, 1)) if details else "",
                     note="A record can carry several reasons (a quality decision lists every scorer that "
                          "doubted it), so the reasons of a stage can add up to more than the records it left out. "
                          "Seconds are each stage's last run; a skipped stage keeps its earlier figures.")


def pipeline_report(stages: dict[str, dict[str, Any]], train_dir: Path, eval_dir: Path,
                    n_generations: int = 8) -> str:
    """The pipeline's page: lineage, loss curves of the training run, the base-vs-tuned table,
    IFEval per type and held-out generations (the sections `instructune report` shows)."""
    label = "tuned"
    parts = [lineage_section(stages), curves_section({label: train_dir})]
    ev = read_json(RunDir(eval_dir).eval)
    if ev:
        parts += [eval_table_section(label, ev), ifeval_types_section(label, ev),
                  generations_section(label, eval_dir, n_generations)]
    else:
        parts.append(H.section("Evaluation", note=f"no eval.json in {eval_dir}"))
    return H.page(f"instructune pipeline: {train_dir.parent.name}", *parts)
