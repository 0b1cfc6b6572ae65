"""Reading any row-shaped file through a column mapping (`columns:` of a `data.train` entry).

`columns` names, for each record field, the input's column that holds it:

    columns: {instruction: question, response: answer, context: passage, task: category}

Every row (of JSON, JSONL, CSV, TSV or parquet) is read through it, without format detection.
instruction and response must be non-empty; the other fields may be absent or empty. A
number (a parquet `int64` answer) is written as text; anything else not text is an error
naming the input's column and the field it fills (`field 'answer': expected a string, got
list (mapped to response)`). Columns the mapping does not name are reported as unread.
"""

from __future__ import annotations

from instructune.data.errors import DataError
from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "columns"
_NONEMPTY = ("instruction", "response")


def _cell(row: Row, column: str, field: str) -> str:
    """The text in `column`, for the record field `field` (numbers as text)."""
    value = row.obj.get(column)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    try:
        return row.text(column, required=field in _NONEMPTY, nonempty=field in _NONEMPTY)
    except DataError as e:
        raise DataError(e.path, f"{e.message} (mapped to {field})", line=e.line, index=e.index,
                        field=e.field) from None


def mapped_record(row: Row, columns: dict[str, str]) -> Record:
    """The record of one row read through `columns` (record field → input column)."""
    got = {field: _cell(row, col, field) for field, col in columns.items()}
    rid = got.pop("id", "") or row.record_id(NAME)
    return Record(id=rid, instruction=got["instruction"], context=got.get("context", ""),
                  response=got["response"], rationale=got.get("rationale", ""),
                  task=got.get("task") or None, system=got.get("system") or None, source=row.source(NAME),
                  meta={"columns": dict(columns)})


def column_format(columns: dict[str, str]) -> Format:
    """A row-wise `Format` that reads every row through `columns` (never detected)."""
    shown = ", ".join(f"{f}: {c}" for f, c in columns.items())
    return Format(NAME, needs=f"the mapped columns ({shown})", priority=-1, detect=lambda keys: None,
                  to_records=lambda row: [mapped_record(row, columns)], reads=frozenset(columns.values()))
