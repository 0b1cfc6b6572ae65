"""`Format`: what an input format module declares, once, as `FORMAT = Format(...)`.

A format is found either from its first row's keys (`detect`) or from the file itself
(`detect_file`, for files that are not JSON rows), and read either row by row (`to_records`,
on each row of a JSONL file or JSON array, streamed) or whole (`iter_file`: its own parsing,
or formats that need the whole file or reader options). Each format sets one hook of each
pair and leaves the other None.

`priority` orders detection, lowest first, and is unique: where two formats could both
match a row (Dolly rows with an `id` look like canonical records), the one with the lower
priority wins. Each module says why its number sits where it does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.data.formats._fields import Row
from instructune.data.formats._outcome import Outcome
from instructune.data.rows import iter_raw_rows
from instructune.data.record import Record

_OWN_ID_KEYS = ("id", "uid", "message_id")  # as `Row.record_id` reads them


@dataclass(frozen=True)
class Format:
    """One input format.

    Attributes:
        name: what `--format` and a record's `source.format` call it.
        needs: what a row or file must look like (shown by `ingest --explain`).
        priority: detection order, lowest first; unique across formats.
        detect: first row's keys → why they are this format, or None.
        detect_file: path → why the file is in this format, or None (instead of `detect`).
        to_records: one row → its records (raises `DataError`).
        iter_file: (path, reader options) → one `Outcome` per input unit (instead of
            `to_records`).
        reads: the top-level fields `to_records` reads (besides the id fields); a row's other
            fields are reported as unread (`Outcome.unread`), so nothing is dropped silently.
            None: the format keeps every field (in `meta`) or reads whole files.
        takes_options: `to_records` is called as `to_records(row, reader options)` (a row-wise
            format with settings, e.g. ShareGPT's role tags).
    """

    name: str
    needs: str
    priority: int
    detect: Callable[[set[str]], str | None] | None = None
    detect_file: Callable[[str], str | None] | None = None
    to_records: Callable[[Row], list[Record]] | None = None
    iter_file: Callable[[str, ReaderConfig], Iterator[Outcome]] | None = None
    reads: frozenset[str] | None = None
    takes_options: bool = False

    def __post_init__(self):
        if (self.detect is None) == (self.detect_file is None):
            raise TypeError(f"format {self.name!r}: set exactly one of detect, detect_file")
        if (self.to_records is None) == (self.iter_file is None):
            raise TypeError(f"format {self.name!r}: set exactly one of to_records, iter_file")

    def match(self, path: str, keys: set[str] | None) -> str | None:
        """Why `path` is in this format, or None.

        Args:
            path: the file.
            keys: the keys of its first row; None when that row is not a JSON object.
        """
        if self.detect_file is not None:
            return self.detect_file(path)
        return self.detect(keys) if keys is not None else None

    def read_row(self, row: Row, opts: ReaderConfig) -> list[Record]:
        """`to_records` of one row, with the reader options when the format takes them."""
        return self.to_records(row, opts) if self.takes_options else self.to_records(row)

    def outcomes(self, path: str, opts: ReaderConfig) -> Iterator[Outcome]:
        """One `Outcome` per input unit of `path` (a row, or what `iter_file` reads as one)."""
        if self.iter_file is not None:
            return self.iter_file(path, opts)
        return _iter_rows(path, self, opts)


def registry(formats: Iterable[Format]) -> dict[str, Format]:
    """The formats by name, in detection order (by priority).

    Raises:
        ValueError: two formats share a name or a priority (the order would then depend on
            where they are listed).
    """
    ordered = sorted(formats, key=lambda f: f.priority)
    for a, b in zip(ordered, ordered[1:]):
        if a.priority == b.priority:
            raise ValueError(f"formats {a.name!r} and {b.name!r} share priority {a.priority}")
    found = {f.name: f for f in ordered}
    if len(found) < len(ordered):
        raise ValueError("two formats share a name")
    return found


def _has_own_id(obj: Any) -> bool:
    return isinstance(obj, dict) and any(isinstance(obj.get(k), (str, int)) for k in _OWN_ID_KEYS)


# Preference data marks the responses not to imitate (KTO's `label: false`); training on them
# as instruction data would teach exactly what they mark as bad.
_NEGATIVE_MARKERS = ("label", "kto_tag")


def negative_marker(obj: Any) -> str | None:
    """The field that marks a row as a negative example (its value is false), or None."""
    if isinstance(obj, dict):
        for key in _NEGATIVE_MARKERS:
            if obj.get(key) is False:
                return key
    return None


def unread_fields(obj: Any, reads: frozenset[str] | None) -> list[str]:
    """The top-level fields of a row that a format with `reads` does not read."""
    if reads is None or not isinstance(obj, dict):
        return []
    return [k for k in obj if k not in reads and k not in _OWN_ID_KEYS]


def _iter_rows(path: str, fmt: Format, opts: ReaderConfig) -> Iterator[Outcome]:
    """The row-wise reader: one `Outcome` per JSON row, through `fmt.to_records`. A row marked
    as a negative example is rejected."""
    for raw in iter_raw_rows(path):
        out = Outcome(path, raw.loc, raw.text, value=raw.value)
        if raw.error:
            yield out.reject(raw.error)
            continue
        try:
            if (marker := negative_marker(raw.value)) is not None:
                raise DataError(path, f"negative example ({marker}: false): a response marked as one not to "
                                      f"imitate is not instruction data; remove such rows, or pass --on-error "
                                      f"skip to leave them out", field=marker, **raw.loc)
            out.records = fmt.read_row(Row(path, raw.loc, raw.value), opts)
            out.own_ids = _has_own_id(raw.value)
            out.unread = unread_fields(raw.value, fmt.reads)
        except DataError as e:
            out = out.reject(e)
        yield out
