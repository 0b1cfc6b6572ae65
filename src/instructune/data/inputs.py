"""Reading a config's input list (files in any format, or "starter:SPLIT") into records."""

from __future__ import annotations

from instructune.data.formats import iter_records
from instructune.data.record import Record
from instructune.data.starter import resolve_input


def load_inputs(names: list[str], fmt: str | None = None) -> list[Record]:
    """All records of the named inputs, in order.

    Raises:
        DataError: a bad row (file, line, field).
        FileNotFoundError: a missing file.
    """
    out: list[Record] = []
    for name in names:
        out.extend(iter_records(resolve_input(name), fmt))
    return out
