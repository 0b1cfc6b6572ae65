"""Prompt / response rows `{"prompt", "response"}` (many preference and chat exports keep
their chosen pair so), a JSON array, JSONL or a table file.

`prompt` becomes the instruction and `response` the response; an optional `system` the
system prompt. (`{"prompt", "completion"}` rows are the `p3` format.)
"""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "prompt_response"


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has 'prompt' and 'response'" if {"prompt", "response"} <= keys else None


def to_records(row: Row) -> list[Record]:
    """One record per row."""
    return [Record(
        id=row.record_id(NAME),
        instruction=row.text("prompt", nonempty=True),
        response=row.text("response", nonempty=True),
        system=row.text("system", required=False) or None,
        source=row.source(NAME),
    )]


# After `p3` (100): a row with 'prompt', 'completion' and 'response' is read as P3.
FORMAT = Format(NAME, priority=120, detect=detect, to_records=to_records, needs="'prompt' and 'response'",
                reads=frozenset(("prompt", "response", "system")))
