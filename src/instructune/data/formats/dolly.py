"""Dolly (databricks-dolly-15k): `{"instruction", "context", "response", "category"}` rows,
a JSON array or JSONL. `context` becomes the record's context and `category` its task."""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "dolly"
# The canonical records format has instruction/context/response too, plus these keys.
RECORD_KEYS = ("task", "rationale", "system", "history", "source", "meta")


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    if not {"instruction", "response"} <= keys or keys.intersection(RECORD_KEYS):
        return None
    names = [repr(k) for k in ("instruction", "response", "context", "category") if k in keys]
    return f"has {', '.join(names[:-1])} and {names[-1]}" if len(names) > 2 else None


def to_records(row: Row) -> list[Record]:
    """One record per row."""
    return [Record(
        id=row.record_id(NAME),
        instruction=row.text("instruction", nonempty=True),
        context=row.text("context", required=False),
        response=row.text("response", nonempty=True),
        task=row.text("category", required=False) or None,
        source=row.source(NAME),
    )]


# Before `records` (40): a Dolly row with an 'id' has the canonical record's keys too.
FORMAT = Format(NAME, priority=30, detect=detect, to_records=to_records,
                needs=f"'instruction' and 'response' with 'category' or 'context', and no "
                      f"canonical-record key ({', '.join(RECORD_KEYS)})",
                reads=frozenset(("instruction", "context", "response", "category")))
