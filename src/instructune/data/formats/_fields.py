"""Field checks shared by the format readers; each failure is a `DataError` that names
the file, the line or array index, and the field."""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any

from instructune.data.errors import DataError


@functools.lru_cache(maxsize=256)
def _tag_of_absolute(path: str) -> str:
    return hashlib.sha256(os.path.realpath(path).encode("utf-8", "surrogateescape")).hexdigest()[:8]


def file_tag(path: str) -> str:
    """8 hex digits naming the file at `path` by its resolved path (symlinks and `./` resolved).

    Why a hash of the path: ids derived from a row's position (`alpaca-1`) repeat in every file
    of that format, so two files mixed in one run (or one `ingest` output read back) would
    collide. The path's hash tells files apart, also two `data.jsonl` in different folders,
    and is the same whenever the same file is read again. (Moving the file changes it; ids
    that must survive a move belong in the data, or in the records that `ingest` writes.)
    """
    # abspath first: a relative path means a different file after a chdir; the cache then
    # spares the per-row symlink resolution.
    return _tag_of_absolute(os.path.abspath(path))


def derived_id(fmt: str, path: str, pos: int) -> str:
    """The id of a row without one of its own: format, file tag and line or index
    (`alpaca-3f2a9c1b-7`), unique across the files of a run."""
    return f"{fmt}-{file_tag(path)}-{pos}"


class Row:
    """One raw input row with its location, for located field access.

    Args:
        path: source file.
        loc: `{"line": n}` or `{"index": i}` from `iter_json_rows`.
        obj: the parsed JSON value.
    """

    def __init__(self, path: str, loc: dict[str, int], obj: Any):
        self.path, self.loc, self.obj = path, loc, obj
        if not isinstance(obj, dict):
            raise self.error(f"expected a JSON object, got {type(obj).__name__}")

    def error(self, message: str, field: str | None = None) -> DataError:
        return DataError(self.path, message, field=field, **self.loc)

    def source(self, fmt: str) -> dict[str, Any]:
        return {"file": self.path, **self.loc, "format": fmt}

    def text(self, key: str, *, required: bool = True, nonempty: bool = False,
             where: dict | None = None, label: str | None = None) -> str:
        """The string at `key` of `where` (default: the row); "" when optional and absent.

        Raises:
            DataError: missing (when required), not a string, or empty (when nonempty).
        """
        obj = self.obj if where is None else where
        name = label or key
        if key not in obj or obj[key] is None:
            if required:
                raise self.error("missing", name)
            return ""
        value = obj[key]
        if not isinstance(value, str):
            raise self.error(f"expected a string, got {type(value).__name__}", name)
        if nonempty and not value.strip():
            raise self.error("empty", name)
        return value

    def task(self) -> str | None:
        """The row's task category: its "category" field, else its "task" field, else None."""
        return self.text("category", required=False) or self.text("task", required=False) or None

    def items(self, key: str) -> list[Any]:
        """The list at `key`; raises `DataError` when missing, not a list, or empty."""
        value = self.obj.get(key)
        if value is None:
            raise self.error("missing", key)
        if not isinstance(value, list):
            raise self.error(f"expected a list, got {type(value).__name__}", key)
        if not value:
            raise self.error("empty list", key)
        return value

    def record_id(self, fmt: str) -> str:
        """The row's own id if it has one, else one derived from file and location."""
        for key in ("id", "uid", "message_id"):
            if isinstance(self.obj.get(key), (str, int)):
                return str(self.obj[key])
        return derived_id(fmt, self.path, self.loc.get("line", self.loc.get("index")))
