"""Input / output rows `{"input", "output"}` without an instruction (task-per-file data,
where the input is the whole prompt), a JSON array, JSONL or a table file.

`input` becomes the instruction (it holds the whole request) and `output` the response; an
optional `task` / `category` is kept. A row that also has `instruction` is Alpaca.
"""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "input_output"


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    if {"input", "output"} <= keys and "instruction" not in keys:
        return "has 'input' and 'output' (and no 'instruction')"
    return None


def to_records(row: Row) -> list[Record]:
    """One record per row."""
    return [Record(
        id=row.record_id(NAME),
        instruction=row.text("input", nonempty=True),
        response=row.text("output", nonempty=True),
        task=row.task(),
        source=row.source(NAME),
    )]


# After `alpaca` (50), which reads rows with an 'instruction' as well.
FORMAT = Format(NAME, priority=130, detect=detect, to_records=to_records,
                needs="'input' and 'output' (and no 'instruction')",
                reads=frozenset(("input", "output", "category", "task")))
