"""P3 / T0 prompt-completion rows `{"prompt", "completion"}` (also OpenAI's legacy
fine-tuning files), a JSON array or JSONL.

`prompt` (the templated task, instruction and content in one string) becomes the
instruction and `completion` the response. A trailing end-of-text marker such as
`<|endoftext|>` (which every row of the P3 files packed by Self-Instruct carries) is
stripped from the completion (see `_markers`). Any other keys are kept in `meta`.
"""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.formats._markers import strip_end_marker
from instructune.data.record import Record

NAME = "p3"
KEYS = ("prompt", "completion")


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has 'prompt' and 'completion'" if set(KEYS) <= keys else None


def to_records(row: Row) -> list[Record]:
    """One record per row."""
    response = strip_end_marker(row.text("completion", nonempty=True))
    if not response.strip():
        raise row.error("empty response once the end-of-text marker is stripped", "completion")
    return [Record(
        id=row.record_id(NAME),
        instruction=row.text("prompt", nonempty=True),
        response=response,
        source=row.source(NAME),
        meta={k: v for k, v in row.obj.items() if k not in KEYS and k != "id"},
    )]


# After `flan` (90): a row with both key pairs is read as FLAN.
FORMAT = Format(NAME, priority=100, detect=detect, to_records=to_records, needs="'prompt' and 'completion'")
