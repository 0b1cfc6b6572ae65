"""Turning a list of turns into a multi-turn `Record` (OpenAI messages, ShareGPT, OpenAssistant):
the last user turn and the assistant reply after it become instruction and response, earlier
turns become history, and a leading system turn becomes the system prompt. `read_turns` reads
a row's list of turn objects, validated turn by turn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructune.data.formats._fields import Row
from instructune.data.formats._turn_text import (TOOL_CALL, TOOL_CALL_ROLE, TOOL_RESULT, TOOL_RESULT_ROLE,
                                                 tool_calls_text, turn_text, with_tools)
from instructune.data.record import Record, Turn


def read_turns(row: Row, key: str, *, speaker: str, text: str, roles: Mapping[str, str],
               what: str = "role") -> tuple[list[Turn], list[str]]:
    """The turns of the list at `row[key]`, each an object naming its speaker and text.

    Args:
        row: the input row.
        key: the field holding the list ("messages", "conversations").
        speaker, text: each turn's fields for who speaks and what is said ("role"/"content").
        roles: speaker as written → canonical role ("user", "assistant", "system"), or
            "tool_call" / "tool_result" for tool turns (rendered as text, see `_turn_text`).
        what: what a speaker is called in errors ("role", "speaker").
    Returns:
        (turns, the field each turn's text came from, e.g. "messages[3].content").
    Raises:
        DataError: the list is missing or empty, a turn is not an object, a speaker is not
            one of `roles`, a field is missing or not text, a content part is not text, or
            an assistant turn is marked untrained (`loss_weight: 0`).
    """
    turns, fields = [], []
    for i, t in enumerate(row.items(key)):
        where = f"{key}[{i}]"
        if not isinstance(t, dict):
            raise row.error(f"expected an object, got {type(t).__name__}", where)
        who = row.text(speaker, where=t, label=f"{where}.{speaker}")
        if who not in roles:
            raise row.error(f"unknown {what} {who!r}; allowed: {', '.join(roles)}", f"{where}.{speaker}")
        turns.append(_turn(row, t, roles[who], text, where))
        fields.append(f"{where}.{text}")
    return turns, fields


def _turn(row: Row, t: dict, role: str, text: str, where: str) -> Turn:
    """One turn, its text read and tool turns rendered as text."""
    if role == "assistant" and t.get("loss_weight") == 0:
        # Every assistant turn is trained here; dropping the weight would train what the data
        # says not to.
        raise row.error("loss_weight 0 on an assistant turn: every assistant turn is trained; "
                        "drop the turn or the row", f"{where}.loss_weight")
    if role == "assistant" and t.get("tool_calls") is not None:
        calls = tool_calls_text(row, t["tool_calls"], f"{where}.tool_calls")
        said = turn_text(row, t, text, f"{where}.{text}") if t.get(text) else ""
        return Turn("assistant", f"{said}\n{calls}" if said.strip() else calls)
    content = turn_text(row, t, text, f"{where}.{text}")
    if role == TOOL_CALL_ROLE:
        return Turn("assistant", TOOL_CALL + content)
    if role == TOOL_RESULT_ROLE:
        return Turn("user", TOOL_RESULT + content)
    return Turn(role, content)


def conversation_record(row: Row, turns: list[Turn], fields: list[str], whole: str, *,
                        rid: str, fmt: str, meta: dict[str, Any] | None = None, tools: Any = None) -> Record:
    """A record from a conversation, validated.

    Args:
        row: the input row (for located errors).
        turns: the conversation, oldest first; roles "system", "user", "assistant".
        fields: for each turn, the field it came from (named in errors), e.g. "conversations[3]".
        whole: the field that holds the whole conversation (named when its shape is wrong).
        rid, fmt, meta: the record's id, format name (for `source`) and metadata.
        tools: the schemas of the tools the conversation may call (the row's `tools`), added
            to the system prompt; None when none.
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
    return Record(id=rid, instruction=turns[-2].content, response=turns[-1].content, system=with_tools(system, tools),
                  history=turns[:-2], source=row.source(fmt), meta=meta or {})
