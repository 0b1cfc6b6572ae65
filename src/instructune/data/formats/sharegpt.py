"""ShareGPT: `{"id", "conversations": [{"from", "value"}, ...]}` rows, a JSON array or JSONL.

`from` is "human" / "user", "gpt" / "assistant" (also "chatgpt" and "bing", which real
ShareGPT dumps carry) or "system". The last human turn and the reply after it become
instruction and response; earlier turns become history (each assistant turn in it is trained
too). The conversation must end with a reply.
"""

from __future__ import annotations

from instructune.data.formats._conversation import conversation_record
from instructune.data.formats._fields import Row
from instructune.data.record import Record, Turn

NAME = "sharegpt"
NEEDS = "a 'conversations' list of {from, value} turns"
ROLE_OF = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
           "chatgpt": "assistant", "bing": "assistant", "system": "system"}


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has a 'conversations' list" if "conversations" in keys else None


def to_records(row: Row) -> list[Record]:
    """One record per conversation."""
    turns, fields = [], []
    for i, t in enumerate(row.items("conversations")):
        where = f"conversations[{i}]"
        if not isinstance(t, dict):
            raise row.error(f"expected an object, got {type(t).__name__}", where)
        who = row.text("from", where=t, label=f"{where}.from")
        if who not in ROLE_OF:
            raise row.error(f"unknown speaker {who!r}; allowed: {', '.join(ROLE_OF)}", f"{where}.from")
        turns.append(Turn(ROLE_OF[who], row.text("value", where=t, label=f"{where}.value")))
        fields.append(f"{where}.value")
    return [conversation_record(row, turns, fields, "conversations", rid=row.record_id(NAME), fmt=NAME)]
