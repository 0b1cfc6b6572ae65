"""instructune's own canonical record JSONL (`Record.to_dict` per line), as written by
`instructune ingest` and shipped in the starter set."""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import ROLES, Record, Turn

NAME = "records"
KEYS = {"id", "instruction", "response"}


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has 'id', 'instruction' and 'response'" if KEYS <= keys and "output" not in keys else None


def to_records(row: Row) -> list[Record]:
    """One record per row, validated field by field."""
    history = []
    for i, t in enumerate(row.obj.get("history") or []):
        where = f"history[{i}]"
        if not isinstance(t, dict):
            raise row.error("expected an object", where)
        role = row.text("role", where=t, label=f"{where}.role")
        if role not in ROLES:
            raise row.error(f"unknown role {role!r}; allowed: {', '.join(ROLES)}", f"{where}.role")
        history.append(Turn(role, row.text("content", where=t, label=f"{where}.content")))
    for key in ("source", "meta"):
        if not isinstance(row.obj.get(key) or {}, dict):
            raise row.error("expected an object", key)
    return [Record(
        id=row.text("id", nonempty=True),
        instruction=row.text("instruction", nonempty=True),
        context=row.text("context", required=False),
        response=row.text("response", nonempty=True),
        rationale=row.text("rationale", required=False),
        task=row.text("task", required=False) or None,
        system=row.text("system", required=False) or None,
        history=history,
        source=dict(row.obj.get("source") or row.source(NAME)),
        meta=dict(row.obj.get("meta") or {}),
    )]


# After `dolly` (30), whose rows may carry an 'id'; 'output' keeps it apart from `alpaca`.
FORMAT = Format(NAME, priority=40, detect=detect, to_records=to_records,
                needs="'id', 'instruction' and 'response' (and no 'output')",
                reads=frozenset(("instruction", "context", "response", "rationale", "task", "system", "history",
                                 "source", "meta")))
