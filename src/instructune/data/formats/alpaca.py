"""Alpaca: `{"instruction", "input", "output"}` rows, as a JSON array or JSONL.

`input` becomes the record's context; `category`/`task` is kept when present.
"""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "alpaca"
KEYS = {"instruction", "output"}


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    if KEYS <= keys and "response" not in keys:
        return "has 'instruction' and 'output'" + (" and 'input'" if "input" in keys else "")
    return None


def to_records(row: Row) -> list[Record]:
    """One record per row."""
    return [Record(
        id=row.record_id(NAME),
        instruction=row.text("instruction", nonempty=True),
        context=row.text("input", required=False),
        response=row.text("output", nonempty=True),
        task=row.task(),
        source=row.source(NAME),
    )]


# 'response' keeps it apart from `dolly` and `records`, so its place among them is free.
FORMAT = Format(NAME, priority=50, detect=detect, to_records=to_records,
                needs="'instruction' and 'output' (and no 'response')",
                reads=frozenset(("instruction", "input", "output", "category", "task")))
