"""ShareGPT: `{"id", "conversations": [{"from", "value"}, ...]}` rows, a JSON array or JSONL.

`from` is "human" / "user", "gpt" / "assistant" (also "chatgpt" and "bing", which real
ShareGPT dumps carry) or "system"; LLaMA-Factory's tool turns "function_call" (the assistant
calls a tool) and "observation" (what the tool answered) are kept as text (`_turn_text`:
`Tool call: ...` as an assistant turn, `Tool result: ...` as a user turn), and the row's
`tools` go at the end of the system prompt. A dataset with its own role tags (LLaMA-Factory's
`tags`) names them in `data.reader.role_tags` / `--role-tags doctor=assistant,patient=user`,
added to these. The last human turn and the reply after it become instruction and response;
earlier turns become history (each assistant turn in it is trained too). The conversation
must end with a reply.
"""

from __future__ import annotations

from instructune.config import ReaderConfig
from instructune.data.formats._conversation import conversation_record, read_turns
from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.formats._turn_text import TOOL_CALL_ROLE, TOOL_RESULT_ROLE
from instructune.data.record import Record

NAME = "sharegpt"
ROLE_OF = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
           "chatgpt": "assistant", "bing": "assistant", "system": "system",
           "function_call": TOOL_CALL_ROLE, "observation": TOOL_RESULT_ROLE}
# What `role_tags` may map a dataset's tag to (its LLaMA-Factory names).
TAG_ROLES = {"user": "user", "assistant": "assistant", "system": "system",
             "function_call": TOOL_CALL_ROLE, "observation": TOOL_RESULT_ROLE}


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has a 'conversations' list" if "conversations" in keys else None


def roles_with(tags: dict[str, str]) -> dict[str, str]:
    """The speaker table with a dataset's own tags (tag → user/assistant/system/function_call/
    observation) added; its tags win over the built-in ones."""
    return {**ROLE_OF, **{tag: TAG_ROLES[role] for tag, role in tags.items()}}


def to_records(row: Row, opts: ReaderConfig) -> list[Record]:
    """One record per conversation."""
    roles = roles_with(opts.role_tags) if opts.role_tags else ROLE_OF
    turns, fields = read_turns(row, "conversations", speaker="from", text="value", roles=roles, what="speaker")
    return [conversation_record(row, turns, fields, "conversations", rid=row.record_id(NAME), fmt=NAME,
                                tools=row.obj.get("tools"))]


# After `openai_messages` (60): a row with both lists is read as OpenAI messages.
FORMAT = Format(NAME, priority=70, detect=detect, to_records=to_records, takes_options=True,
                needs="a 'conversations' list of {from, value} turns",
                reads=frozenset(("conversations", "tools")))
