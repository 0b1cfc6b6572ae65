"""OpenAI chat `{"messages": [{"role", "content"}, ...]}` JSONL.

The last user message becomes the instruction and the assistant message after it the
response; earlier turns become history (every assistant turn in it is trained too). A
leading system message becomes the record's system prompt. The conversation must end with
an assistant message.

`content` may be a list of parts (text parts are joined; see `_turn_text`). Tool use is kept
as text: an assistant message's `tool_calls` become `Tool call: {...}` lines, a `tool` (or
legacy `function`) message a user turn `Tool result: ...`, and the row's `tools` go at the
end of the system prompt.
"""

from __future__ import annotations

from instructune.data.formats._conversation import conversation_record, read_turns
from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.formats._turn_text import TOOL_RESULT_ROLE
from instructune.data.record import ROLES, Record

NAME = "openai"
# The canonical roles as written, and what a tool answered (rendered as a user turn).
_ROLES = {**{r: r for r in ROLES}, "tool": TOOL_RESULT_ROLE, "function": TOOL_RESULT_ROLE}


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has a 'messages' list" if "messages" in keys else None


def to_records(row: Row) -> list[Record]:
    """One record per conversation."""
    turns, fields = read_turns(row, "messages", speaker="role", text="content", roles=_ROLES)
    return [conversation_record(row, turns, fields, "messages", rid=row.record_id(NAME), fmt=NAME,
                                tools=row.obj.get("tools"))]


# Before `sharegpt` (70): a row with both lists is read as OpenAI messages.
FORMAT = Format(NAME, priority=60, detect=detect, to_records=to_records, needs="a 'messages' list",
                reads=frozenset(("messages", "tools")))
