"""Input formats: one small module per format, registered in `FORMATS`.

Each format module declares `FORMAT = Format(name, needs, priority, hooks...)` (see
`_format.Format`): how it is detected (from the first row's keys, or from the file) and how it
is read (row by row, or the whole file). Adding a format is one new file plus its line in the
registry below (and its name in the import above it); its `priority`, not its place in the
list, decides when it is tried.

Detection tries the formats by priority on the first row's keys (or the file, for formats that
detect files); `explain` says what was tried and why. Reading yields one `Outcome` per input
unit (a row, or an OpenAssistant tree), so a caller can stop at the first bad one or skip it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from instructune.config import ReaderConfig
from instructune.data.dataset_inputs import is_dataset_input
from instructune.data.errors import DataError
from instructune.data.formats import (alpaca, dolly, flan, flan_cot, input_output, oasst_messages, oasst_tree,
                                      openai_messages, p3, prompt_response, question_answer, records,
                                      self_instruct, sharegpt)
from instructune.data.formats._checks import UniqueIds, check_size
from instructune.data.formats._format import Format, registry
from instructune.data.formats._outcome import Outcome, reason_of
from instructune.data.rows import iter_raw_rows
from instructune.data.record import Record

__all__ = ["FORMATS", "Detection", "Format", "Outcome", "UniqueIds", "detect", "explain", "get_format",
           "iter_outcomes", "iter_records", "load_records", "reason_of"]

# The registry: one line per format, any order (`registry` sorts by priority).
FORMATS: dict[str, Format] = registry([
    alpaca.FORMAT,
    dolly.FORMAT,
    flan.FORMAT,
    flan_cot.FORMAT,
    input_output.FORMAT,
    oasst_messages.FORMAT,
    oasst_tree.FORMAT,
    openai_messages.FORMAT,
    p3.FORMAT,
    prompt_response.FORMAT,
    question_answer.FORMAT,
    records.FORMAT,
    self_instruct.FORMAT,
    sharegpt.FORMAT,
])


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
        if is_dataset_input(path):  # not cached, not a dataset: that is the error, not a format miss
            raise
        return None, f"the first row is not JSON ({e.message})"
    if row is None:
        return None, "the file holds no rows"
    if row.error:
        return None, f"the first row is not JSON ({row.error.message})"
    if not isinstance(row.value, dict):
        return None, f"the first row is a JSON {type(row.value).__name__}, not an object"
    return set(row.value), f"fields seen: {sorted(row.value)}"


def explain(path: str) -> Detection:
    """Try each format by priority on `path`; say which matched and why the others did not."""
    keys, seen = _first_row(str(path))
    found = Detection(None, None, seen=seen)
    for name, fmt in FORMATS.items():
        if reason := fmt.match(str(path), keys):
            found.chosen, found.reason = name, reason
            return found
        found.tried.append((name, f"needs {fmt.needs}"))
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


def get_format(name: str) -> Format:
    """The format called `name`; ValueError listing the allowed names otherwise."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; allowed: {', '.join(FORMATS)}")
    return FORMATS[name]


def iter_outcomes(path: str, fmt: str | Format | None = None, options: ReaderConfig | None = None,
                  ids: UniqueIds | None = None) -> Iterator[Outcome]:
    """Stream one `Outcome` per input unit of `path`: its records, or why it is rejected.

    Args:
        path: the input file.
        fmt: a format name, or a `Format` built for this read (a column mapping); None detects it.
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
    opts = options or ReaderConfig()
    chosen = fmt if isinstance(fmt, Format) else get_format(fmt or detect(path)[0])
    for out in chosen.outcomes(path, opts):
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
