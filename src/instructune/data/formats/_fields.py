"""Field checks shared by the format readers; each failure is a `DataError` that names
the file, the line or array index, and the field."""

from __future__ import annotations

from typing import Any

from instructune.data.errors import DataError


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
        pos = self.loc.get("line", self.loc.get("index"))
        return f"{fmt}-{pos}"
