"""Turning a list of turns into a multi-turn `Record` (ShareGPT, OpenAssistant): the last
user turn and the assistant reply after it become instruction and response, earlier turns
become history, and a leading system turn becomes the system prompt."""

from __future__ import annotations

from typing import Any

from instructune.data.formats._fields import Row
from instructune.data.record import Record, Turn


def conversation_record(row: Row, turns: list[Turn], fields: list[str], whole: str, *,
                        rid: str, fmt: str, meta: dict[str, Any] | None = None) -> Record:
    """A record from a conversation, validated.

    Args:
        row: the input row (for located errors).
        turns: the conversation, oldest first; roles "system", "user", "assistant".
        fields: for each turn, the field it came from (named in errors), e.g. "conversations[3]".
        whole: the field that holds the whole conversation (named when its shape is wrong).
        rid, fmt, meta: the record's id, format name (for `source`) and metadata.
    Raises:
        DataError: a system turn not first, no user → assistant ending, an empty response.
    """
    system = None
    if turns and turns[0].role == "system":
        system, turns, fields = turns[0].content, turns[1:], fields[1:]
    for t, f in zip(turns, fields):
        if t.role == "system":
            raise row.error("a system turn is only allowed first", f)
    if len(turns) < 2 or turns[-1].role != "assistant" or turns[-2].role != "user":
        raise row.error("a conversation must end with a user turn and then an assistant reply", whole)
    if not turns[-1].content.strip():
        raise row.error("empty response", fields[-1])
    if not turns[-2].content.strip():
        raise row.error("empty instruction", fields[-2])
    return Record(id=rid, instruction=turns[-2].content, response=turns[-1].content, system=system,
                  history=turns[:-2], source=row.source(fmt), meta=meta or {})
