"""`instructune dedup`: drop exact and near-duplicate records (`data/dedup.py`).

    instructune dedup INPUT... --output kept.jsonl [--method minhash|rouge] [--threshold X]
        [--fields instruction,context,response] [--removed removed.jsonl] [--format NAME]

Writes the kept records (canonical JSONL, first occurrences, in input order) to OUTPUT and
one line per removed record to REMOVED (default: `removed.jsonl` beside OUTPUT):
`{"id", "duplicate_of", "method", "similarity"}`. Both are written atomically.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from instructune.data.dedup import DEFAULT_THRESHOLD, FIELDS, dedup
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_jsonl


def removed_path(output: str | Path, removed: str | Path | None) -> Path:
    """Where the removals go: `removed`, or `removed.jsonl` beside `output`."""
    return Path(removed) if removed else Path(output).parent / "removed.jsonl"


def main(inputs: list[str], output: str | Path, method: str = "minhash", threshold: float | None = None,
         fields: tuple[str, ...] = FIELDS, removed: str | Path | None = None, fmt: str | None = None) -> dict:
    """Deduplicate `inputs` into `output`.

    Returns:
        {"records": n, "kept": k, "removed": {method: count}, "threshold": t,
         "output": path, "removed_path": path}
    Raises:
        DataError: a bad input row.
        ValueError: a bad method, threshold or field.
    """
    records = load_inputs(inputs, fmt)
    kept, removals = dedup(records, method, threshold, fields)
    out_removed = removed_path(output, removed)
    if out_removed.resolve() == Path(output).resolve():
        raise ValueError(f"--removed and --output are the same file: {output}")
    write_jsonl(output, (r.to_dict() for r in kept))
    write_jsonl(out_removed, (r.to_dict() for r in removals))
    return {"records": len(records), "kept": len(kept),
            "removed": dict(sorted(Counter(r.method for r in removals).items())),
            "threshold": DEFAULT_THRESHOLD[method] if threshold is None else threshold,
            "output": str(output), "removed_path": str(out_removed)}
