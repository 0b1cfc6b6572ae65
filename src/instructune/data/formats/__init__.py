"""Input formats: one small module per format, registered in `FORMATS`.

A format module has `NAME`, `detect(keys) -> reason | None` (why a row with these keys is
this format) and `to_records(row) -> list[Record]`. Adding a format is one new file plus
one line here. Detection looks at the first row's keys; `explain` says what was tried.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

from instructune.data.errors import DataError
from instructune.data.formats import alpaca, openai_messages, records
from instructune.data.formats._fields import Row
from instructune.data.jsonio import iter_json_rows
from instructune.data.record import Record

# Order matters: the first format whose detect() answers wins.
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (records, alpaca, openai_messages)}


def detect(path: str) -> tuple[str, str]:
    """Pick the format of `path` from its first row.

    Returns:
        (format name, reason).
    Raises:
        DataError: no row, or no format matches (the message lists keys seen and formats tried).
    """
    for _, obj in iter_json_rows(path):
        keys = set(obj) if isinstance(obj, dict) else set()
        for name, mod in FORMATS.items():
            reason = mod.detect(keys)
            if reason:
                return name, reason
        raise DataError(path, f"no known format matches; fields seen: {sorted(keys)}; "
                              f"formats tried: {', '.join(FORMATS)}", line=1)
    raise DataError(path, "the file holds no rows")


def get_format(name: str) -> ModuleType:
    """The format module called `name`; ValueError listing the allowed names otherwise."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; allowed: {', '.join(FORMATS)}")
    return FORMATS[name]


def iter_records(path: str, fmt: str | None = None) -> Iterator[Record]:
    """Stream the records of one file, detecting its format unless `fmt` is given.

    Raises:
        DataError: the first bad row, located by file, line/index and field.
    """
    mod = get_format(fmt or detect(path)[0])
    for loc, obj in iter_json_rows(path):
        yield from mod.to_records(Row(str(path), loc, obj))


def load_records(path: str, fmt: str | None = None) -> list[Record]:
    """All records of one file (see `iter_records`)."""
    return list(iter_records(path, fmt))
