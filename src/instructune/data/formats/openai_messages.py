"""OpenAI chat `{"messages": [{"role", "content"}, ...]}` JSONL.

The last user message becomes the instruction and the assistant message after it the
response; earlier turns become history (every assistant turn in it is trained too). A
leading system message becomes the record's system prompt. The conversation must end with
an assistant message.
"""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.record import ROLES, Record, Turn

NAME = "openai"


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has a 'messages' list" if "messages" in keys else None


def to_records(row: Row) -> list[Record]:
    """One record per conversation."""
    messages = row.items("messages")
    turns: list[Turn] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise row.error(f"expected an object, got {type(m).__name__}", where)
        role = row.text("role", where=m, label=f"{where}.role")
        if role not in ROLES:
            raise row.error(f"unknown role {role!r}; allowed: {', '.join(ROLES)}", f"{where}.role")
        turns.append(Turn(role, row.text("content", where=m, label=f"{where}.content")))
    system = turns.pop(0).content if turns[0].role == "system" else None
    if len(turns) < 2 or turns[-1].role != "assistant" or turns[-2].role != "user":
        raise row.error("a conversation must end with a user message and then an assistant reply",
                        "messages")
    if not turns[-1].content.strip():
        raise row.error("empty response", f"messages[{len(messages) - 1}].content")
    for i, t in enumerate(turns):
        if t.role == "system":
            raise row.error("a system message is only allowed first", f"messages[{i}].role")
    return [Record(
        id=row.record_id(NAME),
        instruction=turns[-2].content,
        response=turns[-1].content,
        system=system,
        history=turns[:-2],
        source=row.source(NAME),
    )]
