"""Streaming JSON / JSONL reading with locations, and atomic writes (files and directories).

Readers yield rows with a location, `{"line": n}` for JSONL or `{"index": i}` for a JSON
array, so every later error can name where the row came from. Both shapes stream: JSONL line
by line, a JSON array element by element (`json.JSONDecoder.raw_decode` over a buffered
reader), so memory stays flat however large the file is.

Invalid UTF-8 is read with `surrogateescape` so that one bad byte spoils one row, not the
file, and the error can name the field that holds it.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instructune.atomic import atomic_path
from instructune.data.compression import open_bytes
from instructune.data.errors import DataError

CHUNK_BYTES = 1 << 20  # bytes read at a time from a JSON array
_DECODER = json.JSONDecoder()
_WS = re.compile(r"\s*")
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # what `surrogateescape` makes of an invalid byte


@dataclass
class RawRow:
    """One row as read, before any format looks at it.

    Attributes:
        loc: `{"line": n}` (1-based, JSONL) or `{"index": i}` (0-based, JSON array).
        text: the row's text as in the file (invalid bytes shown as U+FFFD), for reject files.
        value: the parsed JSON value (None when `error` is set).
        error: what is wrong with this row alone (bad JSON or invalid UTF-8), or None.
    """

    loc: dict[str, int]
    text: str
    value: Any = None
    error: DataError | None = None


def first_char(path: str | Path) -> str:
    """The first non-whitespace character of a file, after any UTF-8 BOM ('' when empty)."""
    with open_bytes(path) as f:
        while chunk := f.read(4096):
            stripped = chunk.removeprefix(codecs.BOM_UTF8).lstrip()
            if stripped:
                return stripped[:1].decode("utf-8", errors="replace")
    return ""


def readable(text: str) -> str:
    """`text` with escaped invalid bytes replaced by U+FFFD (so it can be written as UTF-8)."""
    return _BAD_BYTE.sub("\ufffd", text)


def bad_utf8_field(value: Any, prefix: str = "") -> str | None:
    """The dotted path (`messages[1].content`) of the first key or string in `value` that holds
    an invalid byte (read with `surrogateescape`); None when there is none."""
    if isinstance(value, str):
        return prefix or None if _BAD_BYTE.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            name = f"{prefix}.{k}" if prefix else str(k)
            if _BAD_BYTE.search(str(k)):
                return name
            if (found := bad_utf8_field(v, name)) is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            if (found := bad_utf8_field(v, f"{prefix}[{i}]")) is not None:
                return found
    return None


def _bad_utf8_error(path: str, text: str, value: Any, loc: dict[str, int]) -> DataError:
    byte = ord(_BAD_BYTE.search(text).group()) - 0xDC00
    field = bad_utf8_field(value) if value is not None else None
    return DataError(path, f"invalid UTF-8: byte 0x{byte:02x}", field=field, **loc)


def parse_row(path: str, text: str, loc: dict[str, int], maybe_bad_utf8: bool = True) -> RawRow:
    """Parse one row's text into a `RawRow`.

    Args:
        text: the row, decoded with `surrogateescape`.
        loc: its location, `{"line": n}` or `{"index": i}`.
        maybe_bad_utf8: False when `text` is known to be valid UTF-8 (skips the byte check).
    """
    bad = maybe_bad_utf8 and _BAD_BYTE.search(text) is not None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        if bad:
            return RawRow(loc, readable(text), error=_bad_utf8_error(path, text, None, loc))
        return RawRow(loc, text, error=DataError(path, f"invalid JSON: {e.msg} (column {e.colno})", **loc))
    if bad:
        return RawRow(loc, readable(text), error=_bad_utf8_error(path, text, value, loc))
    return RawRow(loc, text, value)


def _iter_jsonl(path: str) -> Iterator[RawRow]:
    with open_bytes(path) as f:
        for n, raw in enumerate(f, start=1):
            if n == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                text, maybe_bad = raw.decode("utf-8"), False
            except UnicodeDecodeError:
                text, maybe_bad = raw.decode("utf-8", errors="surrogateescape"), True
            if text.strip():
                yield parse_row(path, text.rstrip("\r\n"), {"line": n}, maybe_bad)


class _Buffer:
    """Text of a file read a chunk at a time; `text[pos:]` is what is not consumed yet."""

    def __init__(self, f):
        self.f, self.text, self.pos, self.eof = f, "", 0, False
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")

    def more(self, nbytes: int | None = None) -> bool:
        """Read `nbytes` (default `CHUNK_BYTES`) more bytes, dropping consumed text; False at EOF."""
        if self.eof:
            return False
        self.text, self.pos = self.text[self.pos:], 0
        raw = self.f.read(nbytes or CHUNK_BYTES)
        self.eof = not raw
        self.text += self.decoder.decode(raw, final=self.eof)
        return not self.eof or bool(self.text)

    def skip_ws(self) -> str:
        """Skip whitespace; the next character, or '' at the end of the file."""
        while True:
            self.pos = _WS.match(self.text, self.pos).end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""


def _may_be_cut(e: json.JSONDecodeError, buffered: int) -> bool:
    """Whether a decode error may only mean that the buffer ends inside the value.

    A value cut at the buffer's end fails at (or a few characters before: a cut literal,
    number or escape) the end, or inside an unterminated string; anything else is bad JSON.
    """
    return e.pos >= buffered - 16 or e.msg.startswith("Unterminated string")


def _decode_one(buf: _Buffer, path: str, index: int) -> tuple[Any, str]:
    """Decode the value starting at `buf.pos`, reading more until it is complete."""
    want = CHUNK_BYTES
    while True:
        try:
            value, end = _DECODER.raw_decode(buf.text, buf.pos)
            # A number at the very end of the buffer may continue in the next chunk.
            if end < len(buf.text) or buf.eof:
                text, buf.pos = buf.text[buf.pos:end], end
                return value, text
        except json.JSONDecodeError as e:
            if buf.eof or not _may_be_cut(e, len(buf.text)):
                text = buf.text[buf.pos:]
                if _BAD_BYTE.search(text):
                    raise _bad_utf8_error(path, text, None, {"index": index}) from None
                raise DataError(path, f"invalid JSON: {e.msg} (character {e.pos - buf.pos} of "
                                      "the element); a broken JSON array cannot be read past "
                                      "this point", index=index) from None
        buf.more(want)
        want *= 2  # a value longer than a chunk: grow geometrically so re-parsing stays linear


def _iter_array(path: str) -> Iterator[RawRow]:
    with open_bytes(path) as f:
        buf = _Buffer(f)
        buf.skip_ws()
        buf.pos += 1  # the '['
        index = 0
        while True:
            c = buf.skip_ws()
            if c == "]":
                break
            if index:
                if c != ",":
                    raise DataError(path, f"invalid JSON: expected ',' or ']' after element, got "
                                          f"{c or 'end of file'!r}", index=index)
                buf.pos += 1
                buf.skip_ws()
            value, text = _decode_one(buf, path, index)
            row = RawRow({"index": index}, text, value)
            if _BAD_BYTE.search(text):
                row = RawRow(row.loc, readable(text), error=_bad_utf8_error(path, text, value, row.loc))
            yield row
            index += 1
        buf.pos += 1
        if buf.skip_ws():
            raise DataError(path, "invalid JSON: extra data after the closing ']'")


def iter_json_raw_rows(path: str | Path) -> Iterator[RawRow]:
    """Stream the rows of a JSON array or JSONL file (`.gz` / `.zst` too) as `RawRow`s.
    (`data/rows.py: iter_raw_rows` reads every kind of input file, tables included.)

    A file whose first character is `[` is a JSON array; anything else is JSONL (blank lines
    are skipped). A row's own problem (bad JSON on a JSONL line, invalid UTF-8) comes back in
    `RawRow.error` so a caller may skip that row and go on.

    Raises:
        DataError: a JSON array whose syntax breaks (nothing after that point can be located).
    """
    path = str(path)
    yield from (_iter_array(path) if first_char(path) == "[" else _iter_jsonl(path))


def iter_json_rows(path: str | Path) -> Iterator[tuple[dict[str, int], Any]]:
    """Yield `(location, value)` for each row of a JSON array or JSONL file (streaming).

    Raises:
        DataError: the first row with invalid UTF-8 or invalid JSON, naming the line or index.
    """
    for row in iter_json_raw_rows(path):
        if row.error:
            raise row.error
        yield row.loc, row.value


def finite(obj: Any) -> Any:
    """`obj` with every NaN or infinite float replaced by None (JSON null), in nested dicts,
    lists and tuples: NaN and Infinity are not JSON, and a file holding them is unreadable to
    strict parsers (browsers, jq, most languages)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def to_json(obj: Any, indent: int | None = None) -> str:
    """The one way instructune writes JSON: UTF-8 text as is, non-finite numbers as null (`finite`)."""
    return json.dumps(finite(obj), ensure_ascii=False, indent=indent, allow_nan=False)


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Atomically write `rows` as JSONL; returns the number of rows written."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(to_json(row) + "\n")
            n += 1
    return n


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write one JSON document (indented)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(to_json(obj, indent=2) + "\n")
