"""ShareGPT: `{"id", "conversations": [{"from", "value"}, ...]}` rows, a JSON array or JSONL.

`from` is "human" / "user", "gpt" / "assistant" (also "chatgpt" and "bing", which real
ShareGPT dumps carry) or "system". The last human turn and the reply after it become
instruction and response; earlier turns become history (each assistant turn in it is trained
too). The conversation must end with a reply.
"""

from __future__ import annotations

from instructune.data.formats._conversation import conversation_record, read_turns
from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "sharegpt"
ROLE_OF = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
           "chatgpt": "assistant", "bing": "assistant", "system": "system"}


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has a 'conversations' list" if "conversations" in keys else None


def to_records(row: Row) -> list[Record]:
    """One record per conversation."""
    turns, fields = read_turns(row, "conversations", speaker="from", text="value", roles=ROLE_OF, what="speaker")
    return [conversation_record(row, turns, fields, "conversations", rid=row.record_id(NAME), fmt=NAME)]


# After `openai_messages` (60): a row with both lists is read as OpenAI messages.
FORMAT = Format(NAME, priority=70, detect=detect, to_records=to_records,
                needs="a 'conversations' list of {from, value} turns",
                reads=frozenset(("conversations",)))
