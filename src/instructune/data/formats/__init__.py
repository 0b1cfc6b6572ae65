"""Input formats: one small module per format, registered in `FORMATS`.

A JSON format module has `NAME`, `NEEDS` (what a row must look like, for `explain`),
`detect(keys) -> reason | None` (why a row with these keys is this format) and
`to_records(row) -> list[Record]`: rows are read for it (JSONL or a JSON array, streamed).
A module that reads its own files (TSV; formats that need the whole file or reader options)
has `detect_file(path) -> reason | None` and/or `iter_file(path, options) -> Iterator[Outcome]`
instead. Adding a format is one new file plus one line here.

Detection looks at the first row's keys (or the file, for `detect_file` formats); `explain`
says what was tried and why. Reading yields one `Outcome` per input unit (a row, or an
OpenAssistant tree), so a caller can stop at the first bad one or skip it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.data.formats import (alpaca, dolly, flan, flan_cot, oasst_messages, oasst_tree,
                                      openai_messages, p3, records, self_instruct, sharegpt)
from instructune.data.formats._checks import UniqueIds, check_size
from instructune.data.formats._fields import Row
from instructune.data.formats._outcome import Outcome, reason_of
from instructune.data.jsonio import iter_raw_rows
from instructune.data.record import Record

__all__ = ["FORMATS", "Detection", "Outcome", "UniqueIds", "detect", "explain", "get_format",
           "iter_outcomes", "iter_records", "load_records", "reason_of"]

# Order matters: the first format that answers wins. OpenAssistant and Dolly come before
# `records`/`alpaca` because their keys overlap (Dolly has instruction/context/response).
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (
    oasst_tree, oasst_messages, dolly, records, alpaca, openai_messages, sharegpt, self_instruct,
    flan, p3, flan_cot)}

# What the formats that predate `NEEDS` look for (see their `detect`).
_NEEDS = {
    "records": "'id', 'instruction' and 'response' (and no 'output')",
    "alpaca": "'instruction' and 'output' (and no 'response')",
    "openai": "a 'messages' list",
}
_OWN_ID_KEYS = ("id", "uid", "message_id")  # as `Row.record_id` reads them


def needs(mod: ModuleType) -> str:
    """What a file or row must look like to be in format `mod`."""
    return getattr(mod, "NEEDS", None) or _NEEDS.get(mod.NAME, "?")


@dataclass
class Detection:
    """What `explain` found.

    Attributes:
        chosen: the format picked, or None when none matches.
        reason: why it was picked.
        tried: (format, why it did not match) for each format tried before, in order.
        seen: what the first row looks like ("fields seen: [...]", or why it is not JSON).
    """

    chosen: str | None
    reason: str | None
    tried: list[tuple[str, str]] = field(default_factory=list)
    seen: str = ""


def _first_row(path: str) -> tuple[set[str] | None, str]:
    """(keys of the first row or None, a description of it)."""
    try:
        with contextlib.closing(iter_raw_rows(path)) as rows:
            row = next(rows, None)
    except DataError as e:
        return None, f"the first row is not JSON ({e.message})"
    if row is None:
        return None, "the file holds no rows"
    if row.error:
        return None, f"the first row is not JSON ({row.error.message})"
    if not isinstance(row.value, dict):
        return None, f"the first row is a JSON {type(row.value).__name__}, not an object"
    return set(row.value), f"fields seen: {sorted(row.value)}"


def explain(path: str) -> Detection:
    """Try each format in order on `path`; say which matched and why the others did not."""
    keys, seen = _first_row(str(path))
    found = Detection(None, None, seen=seen)
    for name, mod in FORMATS.items():
        if hasattr(mod, "detect_file"):
            reason = mod.detect_file(str(path))
        else:
            reason = mod.detect(keys) if keys is not None else None
        if reason:
            found.chosen, found.reason = name, reason
            return found
        found.tried.append((name, f"needs {needs(mod)}"))
    return found


def detect(path: str) -> tuple[str, str]:
    """Pick the format of `path` from its first row (or the file itself).

    Returns:
        (format name, reason).
    Raises:
        DataError: no row, or no format matches (the message lists keys seen and formats tried).
    """
    found = explain(path)
    if found.chosen:
        return found.chosen, found.reason
    if found.seen == "the file holds no rows":
        raise DataError(str(path), "the file holds no rows")
    raise DataError(str(path), f"no known format matches; {found.seen}; "
                               f"formats tried: {', '.join(FORMATS)}", line=1)


def get_format(name: str) -> ModuleType:
    """The format module called `name`; ValueError listing the allowed names otherwise."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; allowed: {', '.join(FORMATS)}")
    return FORMATS[name]


def _has_own_id(obj: Any) -> bool:
    return isinstance(obj, dict) and any(isinstance(obj.get(k), (str, int)) for k in _OWN_ID_KEYS)


def _iter_rows(path: str, mod: ModuleType) -> Iterator[Outcome]:
    """The row-wise default: one `Outcome` per JSON row, through `mod.to_records`."""
    for raw in iter_raw_rows(path):
        out = Outcome(path, raw.loc, raw.text, value=raw.value)
        if raw.error:
            yield out.reject(raw.error)
            continue
        try:
            out.records = mod.to_records(Row(path, raw.loc, raw.value))
            out.own_ids = _has_own_id(raw.value)
        except DataError as e:
            out = out.reject(e)
        yield out


def iter_outcomes(path: str, fmt: str | None = None, options: ReaderConfig | None = None,
                  ids: UniqueIds | None = None) -> Iterator[Outcome]:
    """Stream one `Outcome` per input unit of `path`: its records, or why it is rejected.

    Args:
        path: the input file.
        fmt: a format name; None detects it.
        options: reader options (OpenAssistant paths and filters, size limit); defaults if None.
        ids: the files and ids seen so far in this run, to reject repeats across files (and
            a file given twice); None: no check.
    Raises:
        DataError: only for problems that stop the whole file (no format matches, a JSON
            array whose syntax breaks, the file was already read in this run).
    """
    path = str(path)
    if ids is not None:
        ids.add_file(path)
    mod = get_format(fmt or detect(path)[0])
    opts = options or ReaderConfig()
    outs = mod.iter_file(path, opts) if hasattr(mod, "iter_file") else _iter_rows(path, mod)
    for out in outs:
        out = check_size(out, opts.max_chars)
        yield ids.check(out) if ids is not None else out


def iter_records(path: str, fmt: str | None = None, options: ReaderConfig | None = None,
                 ids: UniqueIds | None = None) -> Iterator[Record]:
    """Stream the records of one file, detecting its format unless `fmt` is given.

    Raises:
        DataError: the first bad row, located by file, line/index and field.
    """
    for out in iter_outcomes(path, fmt, options, ids if ids is not None else UniqueIds()):
        if out.error:
            raise out.error
        yield from out.records


def load_records(path: str, fmt: str | None = None, options: ReaderConfig | None = None) -> list[Record]:
    """All records of one file (see `iter_records`)."""
    return list(iter_records(path, fmt, options))
