r"""FLAN chain-of-thought TSV (`flan/v2/cot_data/*.tsv`): one example a line, three
tab-separated columns question, answer, rationale. The real files have no header row; a
header naming the three columns (in any order) is accepted and then sets the order.

The question becomes the instruction, the answer the response and the rationale the
record's rationale. Fields are not quoted, but a line cannot hold a newline, so FLAN writes
one as backslash + `n` (every line of aqua, creak, ecqa, qasc and sensemaking:
`...?\nOptions:\n(A) 300`); FLAN's own reader turns it back into a newline. This reader
decodes `\n` (newline), `\t` (tab) and `\\` (backslash) in every field, in one pass left to
right; any other backslash (`\frac`) is kept as it is.
Not JSON, so this format detects and reads whole files (`detect_file`, `iter_file`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from instructune.config import ReaderConfig
from instructune.data.compression import base_suffix, open_bytes
from instructune.data.dataset_inputs import is_dataset_input
from instructune.data.errors import DataError
from instructune.data.formats._fields import derived_id
from instructune.data.formats._format import Format
from instructune.data.formats._outcome import Outcome
from instructune.data.jsonio import bad_utf8_field, readable
from instructune.data.record import Record

NAME = "flan_cot"
ESCAPES_NOTE = r"\n, \t and \\ in a field are decoded"
COLUMNS = ("question", "answer", "rationale")
_ESCAPE = re.compile(r"\\([nt\\])")
_UNESCAPED = {"n": "\n", "t": "\t", "\\": "\\"}


def unescape(cell: str) -> str:
    """`cell` with `\\n`, `\\t` and `\\\\` decoded (one pass, so `\\\\n` is a backslash and an n)."""
    return _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], cell)


def _first_line(path: str) -> str:
    with open_bytes(path) as f:
        for raw in f:
            if raw.strip():
                return raw.decode("utf-8", errors="replace").rstrip("\r\n").lstrip("\ufeff")
    return ""


def _header(line: str) -> tuple[str, ...] | None:
    names = tuple(c.strip().lower() for c in line.split("\t"))
    return names if sorted(names) == sorted(COLUMNS) else None


def detect_file(path: str) -> str | None:
    """Why `path` is in this format, or None: its first line has exactly 3 tab-separated
    columns (or is a header naming them) and is not JSON."""
    if base_suffix(path) in (".parquet", ".csv") or is_dataset_input(path):
        return None
    line = _first_line(path)
    if not line or line.lstrip()[:1] in ("{", "["):
        return None
    if _header(line):
        return f"tab-separated, with a header row {', '.join(_header(line))}; {ESCAPES_NOTE}"
    if line.count("\t") == 2:
        return f"tab-separated with 3 columns (question, answer, rationale), no header row; {ESCAPES_NOTE}"
    return None


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="surrogateescape"), True


def to_record(path: str, n: int, cells: list[str], columns: tuple[str, ...],
              maybe_bad_utf8: bool = True) -> Record:
    """The record of line `n` split into `cells` (`maybe_bad_utf8`: the line was not valid
    UTF-8 and was decoded with `surrogateescape`).

    Raises:
        DataError: not 3 columns, invalid UTF-8, an empty question or answer (naming the column).
    """
    if len(cells) < len(columns):
        raise DataError(path, f"missing: expected {len(columns)} tab-separated columns, "
                              f"got {len(cells)}", line=n, field=columns[len(cells)])
    if len(cells) > len(columns):
        raise DataError(path, f"too many columns: expected {len(columns)}, got {len(cells)} "
                              "(a tab inside a field?)", line=n)
    row = dict(zip(columns, cells))
    if maybe_bad_utf8 and (bad := bad_utf8_field(row)) is not None:
        raise DataError(path, "invalid UTF-8", line=n, field=bad)
    if not row["question"].strip():
        raise DataError(path, "empty instruction", line=n, field="question")
    if not row["answer"].strip():
        raise DataError(path, "empty response", line=n, field="answer")
    return Record(id=derived_id(NAME, path, n), instruction=row["question"], response=row["answer"],
                  rationale=row["rationale"], source={"file": path, "line": n, "format": NAME})


def iter_file(path: str, opts: ReaderConfig | None = None) -> Iterator[Outcome]:
    """One `Outcome` per non-blank line (a header line gives none)."""
    path = str(path)
    columns, first = COLUMNS, True
    with open_bytes(Path(path)) as f:
        for n, raw in enumerate(f, start=1):
            text, maybe_bad = _decode(raw.removeprefix(b"\xef\xbb\xbf") if n == 1 else raw)
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            if first and (header := _header(text)):
                columns, first = header, False
                continue
            first = False
            out = Outcome(path, {"line": n}, readable(text) if maybe_bad else text)
            try:
                # Split first: an escaped tab (backslash + t) is inside a field, not between two.
                cells = [unescape(c) for c in text.split("\t")]
                out.value = dict(zip(columns, cells))  # names the column in a size error
                out.records = [to_record(path, n, cells, columns, maybe_bad)]
            except DataError as e:
                out = out.reject(e)
            yield out


# Last: it looks at the file, not at JSON keys, so every JSON format is tried first.
FORMAT = Format(NAME, priority=1000, detect_file=detect_file, iter_file=iter_file,
                needs=f"a tab-separated file with 3 columns: question, answer, rationale ({ESCAPES_NOTE})")
