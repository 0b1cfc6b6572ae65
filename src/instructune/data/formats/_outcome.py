"""`Outcome`: what one input unit (a JSON row, a TSV line, an OpenAssistant tree) became —
its records, or the error that rejects it whole — with where it came from and its raw text,
so that `ingest --on-error skip` can write a reject file and go on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from instructune.data.errors import DataError
from instructune.data.record import Record


@dataclass
class Outcome:
    """One input unit, read.

    Attributes:
        path: the file it is in.
        loc: `{"line": n}` or `{"index": i}` (of the unit, or of the bad part when `error`).
        raw: the unit's text as in the file (for the reject file).
        records: the records it gives (none when rejected, or when filters left nothing).
        error: why the unit is rejected, or None.
        skipped: parts left out on purpose, by reason (e.g. {"deleted": 2} OpenAssistant
            messages); these are not errors.
        own_ids: the record ids come from the data (so a repeat is the data's fault and is
            checked), rather than from the file position.
        value: the parsed row (a JSON value, or a TSV line's {column: text}) when the unit is
            one row, so that checks can name the input's own field; None otherwise.
        unread: top-level fields of the row that its format does not read (reported by
            `ingest`, so a field is never dropped silently).
    """

    path: str
    loc: dict[str, int]
    raw: str
    records: list[Record] = field(default_factory=list)
    error: DataError | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    own_ids: bool = False
    value: Any = None
    unread: list[str] = field(default_factory=list)

    def reject(self, error: DataError) -> "Outcome":
        """This unit rejected by `error` (located where the error says)."""
        loc = {"line": error.line} if error.line is not None else (
            {"index": error.index} if error.index is not None else self.loc)
        return Outcome(self.path, loc, self.raw, error=error, skipped=self.skipped)


def reason_of(error: DataError) -> str:
    """A short, countable reason for an error ("missing", "invalid JSON", "duplicate id").

    Messages start with the reason and put details after ':', ',' or '(' — e.g.
    "expected a string, got int" counts as "expected a string".
    """
    head = error.message
    for sep in (":", ",", "(", ";"):
        head = head.split(sep, 1)[0]
    return head.strip()
