"""Streaming JSON / JSONL reading with locations, and atomic writes.

Readers yield `(location, obj)` pairs where location is `{"line": n}` for JSONL or
`{"index": i}` for a JSON array, so every later error can name where the row came from.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from instructune.data.errors import DataError


def first_char(path: str | Path) -> str:
    """The first non-whitespace character of a file ('' when empty)."""
    with open(path, "rb") as f:
        while chunk := f.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1].decode("utf-8", errors="replace")
    return ""


def iter_json_rows(path: str | Path) -> Iterator[tuple[dict[str, int], Any]]:
    """Yield `(location, value)` for each row of a JSON array or JSONL file.

    A file whose first character is `[` is a JSON array (loaded whole); anything else is read
    line by line (streaming; blank lines are skipped).

    Raises:
        DataError: invalid UTF-8 or invalid JSON, naming the line or array index.
    """
    path = str(path)
    if first_char(path) == "[":
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except UnicodeDecodeError as e:
            raise DataError(path, f"invalid UTF-8 at byte {e.start}") from None
        except json.JSONDecodeError as e:
            raise DataError(path, f"invalid JSON: {e.msg}", line=e.lineno) from None
        for i, row in enumerate(data):
            yield {"index": i}, row
        return
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(path, f"invalid UTF-8 at byte {e.start} of the line", line=n) from None
            if not text.strip():
                continue
            try:
                yield {"line": n}, json.loads(text)
            except json.JSONDecodeError as e:
                raise DataError(path, f"invalid JSON: {e.msg} (column {e.colno})", line=n) from None


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success rename it over `path`, on error remove it.

    Nothing already at `path` is lost when the write fails half-way.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Atomically write `rows` as JSONL; returns the number of rows written."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write one JSON document (indented)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")
