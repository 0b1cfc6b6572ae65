"""`instructune ingest`: input files in any supported format → canonical records JSONL.

The output is written atomically: on a bad row nothing is written and the error names the
file, the line (or array index) and the field.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from instructune.data.formats import detect, iter_records
from instructune.data.jsonio import write_jsonl
from instructune.data.starter import resolve_input


def main(inputs: list[str], output: str | Path, fmt: str | None = None) -> dict:
    """Convert `inputs` into records at `output`.

    Returns:
        {"records": n, "formats": {file: format}, "tasks": {task: n}}
    """
    formats: dict[str, str] = {}
    tasks: Counter[str] = Counter()

    def rows():
        for name in inputs:
            path = resolve_input(name)
            formats[path] = fmt or detect(path)[0]
            for rec in iter_records(path, formats[path]):
                tasks[rec.task or "(none)"] += 1
                yield rec.to_dict()

    n = write_jsonl(output, rows())
    return {"records": n, "formats": formats, "tasks": dict(sorted(tasks.items()))}
