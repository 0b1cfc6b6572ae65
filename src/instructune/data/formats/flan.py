"""FLAN / T0 style `{"inputs", "targets"}` rows, a JSON array or JSONL.

`inputs` (the templated prompt, instruction and content in one string) becomes the
instruction and `targets` the response; a trailing end-of-text marker such as
`<|endoftext|>` is stripped from the target (see `_markers`). Any other keys (FLAN's
`task_name`, `template_type`, ...) are kept in `meta`.
"""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.formats._markers import strip_end_marker
from instructune.data.record import Record

NAME = "flan"
KEYS = ("inputs", "targets")


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has 'inputs' and 'targets'" if set(KEYS) <= keys else None


def to_records(row: Row) -> list[Record]:
    """One record per row."""
    response = strip_end_marker(row.text("targets", nonempty=True))
    if not response.strip():
        raise row.error("empty response once the end-of-text marker is stripped", "targets")
    return [Record(
        id=row.record_id(NAME),
        instruction=row.text("inputs", nonempty=True),
        response=response,
        source=row.source(NAME),
        meta={k: v for k, v in row.obj.items() if k not in KEYS and k != "id"},
    )]


# Before `p3` (100): a row with both key pairs is read as FLAN.
FORMAT = Format(NAME, priority=90, detect=detect, to_records=to_records, needs="'inputs' and 'targets'")
