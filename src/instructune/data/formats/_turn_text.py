"""The text of one conversation turn, as chat datasets write it in the wild.

A turn's text is a string, or (OpenAI's multimodal shape, LLaMA-Factory's v1 shape) a list of
parts `{"type": "text", "text" | "value": ...}` whose text parts are joined with a newline. A
part of another type (an image, audio) cannot be rendered as text, so it is an error naming
the part's field (`messages[1].content[0].type`); `--on-error skip` leaves that row out and
counts it under "non-text part".

Tool use is kept as plain text inside the conversation, so that a model learns when and how
calls are made, with the same templates as every other turn:

    an assistant's call      Tool call: {"name": "search", "arguments": {"q": "rice"}}
    what the tool answered   Tool result: {"recipes": [...]}

A call is an assistant turn; a result is a user turn (what the model reads, never what it is
trained to write). The schemas of the tools offered (`tools` of the row) go at the end of the
system prompt, after `Tools you can call (JSON schemas):`.
"""

from __future__ import annotations

import json
from typing import Any

from instructune.data.formats._fields import Row

TOOL_CALL = "Tool call: "
TOOL_RESULT = "Tool result: "
TOOLS_HEADER = "Tools you can call (JSON schemas):"
TOOL_CALL_ROLE, TOOL_RESULT_ROLE = "tool_call", "tool_result"  # speaker kinds before rendering


def _compact(value: Any) -> str:
    """`value` as written in the turn: a string as is, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parts_text(row: Row, parts: list[Any], label: str) -> str:
    """The text of a list of content parts, text parts joined with a newline.

    Raises:
        DataError: a part that is not an object, not of type "text", or without a string text.
    """
    texts = []
    for j, part in enumerate(parts):
        where = f"{label}[{j}]"
        if not isinstance(part, dict):
            raise row.error(f"expected a content part object, got {type(part).__name__}", where)
        kind = part.get("type", "text")
        if kind != "text":
            raise row.error(f"non-text part (type {kind!r}): only text parts can be trained on", f"{where}.type")
        key = "text" if "text" in part else "value"
        texts.append(row.text(key, where=part, label=f"{where}.{key}"))
    return "\n".join(texts)


def turn_text(row: Row, turn: dict, key: str, label: str) -> str:
    """The text at `turn[key]`: a string, or a list of content parts (`parts_text`)."""
    value = turn.get(key)
    if isinstance(value, list):
        return parts_text(row, value, label)
    return row.text(key, where=turn, label=label)


def tool_calls_text(row: Row, calls: Any, label: str) -> str:
    """OpenAI's `tool_calls` of an assistant turn, one `Tool call:` line each."""
    if not isinstance(calls, list) or not calls:
        raise row.error("expected a non-empty list of tool calls", label)
    lines = []
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise row.error("a tool call needs a 'function' with a 'name'", f"{label}[{j}].function")
        args = fn.get("arguments", {})
        if isinstance(args, str):  # OpenAI sends arguments as a JSON string; keep its object
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                pass
        lines.append(TOOL_CALL + _compact({"name": fn["name"], "arguments": args}))
    return "\n".join(lines)


def with_tools(system: str | None, tools: Any) -> str | None:
    """The system prompt with the offered tools' schemas appended (unchanged when none)."""
    if tools in (None, "", [], "[]"):
        return system
    block = f"{TOOLS_HEADER}\n{_compact(tools)}"
    return f"{system}\n\n{block}" if system else block
