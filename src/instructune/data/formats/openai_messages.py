"""OpenAI chat `{"messages": [{"role", "content"}, ...]}` JSONL.

The last user message becomes the instruction and the assistant message after it the
response; earlier turns become history (every assistant turn in it is trained too). A
leading system message becomes the record's system prompt. The conversation must end with
an assistant message.
"""

from __future__ import annotations

from instructune.data.formats._conversation import conversation_record
from instructune.data.formats._fields import Row
from instructune.data.record import ROLES, Record, Turn

NAME = "openai"


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has a 'messages' list" if "messages" in keys else None


def to_records(row: Row) -> list[Record]:
    """One record per conversation."""
    turns, fields = [], []
    for i, m in enumerate(row.items("messages")):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise row.error(f"expected an object, got {type(m).__name__}", where)
        role = row.text("role", where=m, label=f"{where}.role")
        if role not in ROLES:
            raise row.error(f"unknown role {role!r}; allowed: {', '.join(ROLES)}", f"{where}.role")
        turns.append(Turn(role, row.text("content", where=m, label=f"{where}.content")))
        fields.append(f"{where}.content")
    return [conversation_record(row, turns, fields, "messages", rid=row.record_id(NAME), fmt=NAME)]
