"""`DataError`: a problem in an input file, located by file, line (or array index) and field."""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data.

    Args:
        path: the file the problem is in.
        message: what is wrong.
        line: 1-based line number (JSONL / TSV), or None.
        index: 0-based position in a JSON array, or None.
        field: the offending field, or None when the whole row is at fault.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 index: int | None = None, field: str | None = None):
        self.path, self.message, self.line, self.index, self.field = path, message, line, index, field
        super().__init__(str(self))

    @property
    def where(self) -> str:
        """`file:line`, `file[index]` or `file`."""
        if self.line is not None:
            return f"{self.path}:{self.line}"
        if self.index is not None:
            return f"{self.path}[{self.index}]"
        return self.path

    def __str__(self) -> str:
        field = f" field '{self.field}':" if self.field else ""
        return f"{self.where}:{field} {self.message}"
