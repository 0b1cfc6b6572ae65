"""`instructune dedup`: drop exact and near-duplicate records (`data/dedup.py`).

    instructune dedup INPUT... --output kept.jsonl [--method minhash|rouge] [--threshold X]
        [--fields instruction,context,response] [--removed FILE] [--on-error fail|skip]
        [--rejects FILE] [--format NAME]

Writes the kept records (canonical JSONL, first occurrences, in input order) to OUTPUT and
one line per removed record to REMOVED (default: `<output stem>.removed.jsonl` beside OUTPUT,
so two dedup runs into one folder keep their own removals): `{"id", "duplicate_of", "method",
"similarity"}`. Bad input rows are handled as `ingest` handles them: `--on-error fail` (the
default) stops at the first and writes nothing; `skip` writes each to REJECTS (default
`<output stem>.rejects.jsonl`) and goes on. Every file is written atomically, and a run that
keeps no record is an error that writes nothing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from instructune.data.dedup import DEFAULT_THRESHOLD, FIELDS, dedup
from instructune.data.errors import DataError
from instructune.data.formats import UniqueIds, detect, iter_outcomes
from instructune.data.jsonio import write_jsonl
from instructune.data.record import Record
from instructune.data.starter import resolve_input
from instructune.recipes.ingest import ON_ERROR, beside, reject_row, rejects_path


def removed_path(output: str | Path, removed: str | Path | None) -> Path:
    """Where the removals go: `removed`, or `<output stem>.removed.jsonl` beside `output`
    (`kept.jsonl` → `kept.removed.jsonl`)."""
    return Path(removed) if removed else beside(output, "removed.jsonl")


def read_inputs(inputs: list[str], fmt: str | None, on_error: str) -> tuple[list[Record], list[dict[str, Any]]]:
    """The records of `inputs` and, with on_error "skip", one rejects row per bad input unit.

    Raises:
        DataError: with "fail", the first bad row; with either, a file no format matches.
    """
    records: list[Record] = []
    rejects: list[dict[str, Any]] = []
    ids = UniqueIds()
    for name in inputs:
        path = resolve_input(name)
        for out in iter_outcomes(path, fmt or detect(path)[0], None, ids):
            if out.error:
                if on_error == "fail":
                    raise out.error
                rejects.append(reject_row(out))
                continue
            records.extend(out.records)
    return records, rejects


def main(inputs: list[str], output: str | Path, method: str = "minhash", threshold: float | None = None,
         fields: tuple[str, ...] = FIELDS, removed: str | Path | None = None, fmt: str | None = None,
         on_error: str = "fail", rejects: str | Path | None = None) -> dict:
    """Deduplicate `inputs` into `output`.

    Args:
        on_error: "fail" (stop at the first bad row; write nothing) or "skip" (write bad rows
            to `rejects` and go on), as for `ingest`.
        rejects: the rejects file for "skip"; default `<output stem>.rejects.jsonl`.
    Returns:
        {"records": n, "kept": k, "removed": {method: count}, "threshold": t,
         "output": path, "removed_path": path, "rejected": {reason: n}, "rejects": path or None}
    Raises:
        DataError: a bad input row (with "fail"), or no record read (nothing written).
        ValueError: a bad method, threshold, field or on_error, or two outputs at one path.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error: got {on_error!r}; allowed: {', '.join(ON_ERROR)}")
    out_removed = removed_path(output, removed)
    out_rejects = Path(rejects or rejects_path(output)) if on_error == "skip" else None
    paths = [Path(output), out_removed, *([out_rejects] if out_rejects else [])]
    if len({p.resolve() for p in paths}) < len(paths):
        raise ValueError(f"--output, --removed and --rejects must be different files: {', '.join(map(str, paths))}")
    records, bad = read_inputs(inputs, fmt, on_error)
    rejected = Counter(r["reason"] for r in bad)
    if not records:  # checked before any write: earlier outputs at these paths stay as they were
        raise DataError(", ".join(inputs), "no record to deduplicate, so nothing was written"
                        + (f"; rejected rows: {dict(rejected)}" if rejected else ""))
    kept, removals = dedup(records, method, threshold, fields)
    write_jsonl(output, (r.to_dict() for r in kept))
    write_jsonl(out_removed, (r.to_dict() for r in removals))
    if out_rejects:
        write_jsonl(out_rejects, bad)
    return {"records": len(records), "kept": len(kept),
            "removed": dict(sorted(Counter(r.method for r in removals).items())),
            "threshold": DEFAULT_THRESHOLD[method] if threshold is None else threshold,
            "output": str(output), "removed_path": str(out_removed),
            "rejected": dict(rejected.most_common()), "rejects": str(out_rejects) if out_rejects else None}
