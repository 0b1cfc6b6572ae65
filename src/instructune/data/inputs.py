"""Reading a config's input list (files in any format, or "starter:SPLIT") into records."""

from __future__ import annotations

from instructune.config import ReaderConfig
from instructune.data.formats import UniqueIds, iter_records
from instructune.data.record import Record
from instructune.data.starter import resolve_input


def load_inputs(names: list[str], fmt: str | None = None, reader: ReaderConfig | None = None) -> list[Record]:
    """All records of the named inputs, in order.

    Args:
        names: files (any supported format, detected per file) or "starter:SPLIT".
        fmt: force this format for every file; None detects it.
        reader: reader options (`data.reader`: OpenAssistant paths and filters, size limit).
    Raises:
        DataError: a bad row (file, line, field), or an id used twice across `names`.
        FileNotFoundError: a missing file.
    """
    ids = UniqueIds()
    out: list[Record] = []
    for name in names:
        out.extend(iter_records(resolve_input(name), fmt, reader, ids))
    return out
