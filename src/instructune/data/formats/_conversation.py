"""Turning a list of turns into a multi-turn `Record` (OpenAI messages, ShareGPT, OpenAssistant):
the last user turn and the assistant reply after it become instruction and response, earlier
turns become history, and a leading system turn becomes the system prompt. `read_turns` reads
a row's list of turn objects, validated turn by turn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructune.data.formats._fields import Row
from instructune.data.record import Record, Turn


def read_turns(row: Row, key: str, *, speaker: str, text: str, roles: Mapping[str, str],
               what: str = "role") -> tuple[list[Turn], list[str]]:
    """The turns of the list at `row[key]`, each an object naming its speaker and text.

    Args:
        row: the input row.
        key: the field holding the list ("messages", "conversations").
        speaker, text: each turn's fields for who speaks and what is said ("role"/"content").
        roles: speaker as written → canonical role ("user", "assistant", "system").
        what: what a speaker is called in errors ("role", "speaker").
    Returns:
        (turns, the field each turn's text came from, e.g. "messages[3].content").
    Raises:
        DataError: the list is missing or empty, a turn is not an object, a speaker is not
            one of `roles`, or a field is missing or not a string.
    """
    turns, fields = [], []
    for i, t in enumerate(row.items(key)):
        where = f"{key}[{i}]"
        if not isinstance(t, dict):
            raise row.error(f"expected an object, got {type(t).__name__}", where)
        who = row.text(speaker, where=t, label=f"{where}.{speaker}")
        if who not in roles:
            raise row.error(f"unknown {what} {who!r}; allowed: {', '.join(roles)}", f"{where}.{speaker}")
        turns.append(Turn(roles[who], row.text(text, where=t, label=f"{where}.{text}")))
        fields.append(f"{where}.{text}")
    return turns, fields


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
