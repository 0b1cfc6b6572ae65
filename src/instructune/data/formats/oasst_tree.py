"""OpenAssistant message-tree export: one tree a line, `{"message_tree_id", "tree_state",
"prompt": {message, "replies": [message, ...]}}`, each message with `message_id`, `text`,
`role` (prompter | assistant), `lang`, `rank`, `deleted`, `review_result`, nested `replies`.

Each tree becomes conversations (records with history): its best-ranked path or every path,
filtered by language, deleted and review state, as `ReaderConfig` says (see `_oasst`).
Records keep `lang` and `message_tree_id` in `meta`; a record's id is its last message's id.
"""

from __future__ import annotations

from collections.abc import Iterator

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.formats._oasst import Message, tree_records
from instructune.data.formats._outcome import Outcome
from instructune.data.rows import iter_raw_rows

NAME = "oasst_tree"


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has 'message_tree_id' and 'prompt'" if {"message_tree_id", "prompt"} <= keys else None


def build(m: Message, counter: list[int]) -> Message:
    """Attach `m`'s nested `replies` (recursively) as `Message`s."""
    replies = m.obj.get("replies") or [] if isinstance(m.obj, dict) else []
    if not isinstance(replies, list):
        raise m.error(f"expected a list, got {type(replies).__name__}", "replies")
    for i, r in enumerate(replies):
        counter[0] += 1
        m.replies.append(build(Message(r, m.row, m.label(f"replies[{i}]"), counter[0]), counter))
    return m


def read_tree(row: Row, opts: ReaderConfig) -> Outcome:
    """The records of one tree row (rejected as a whole on its first bad message)."""
    tree_id = row.obj.get("message_tree_id")
    if not isinstance(tree_id, str):
        raise row.error("expected a string", "message_tree_id")
    if not isinstance(row.obj.get("prompt"), dict):
        raise row.error("expected a message object", "prompt")
    root = build(Message(row.obj["prompt"], row, "prompt", 0), [0])
    records, skipped = tree_records(root, opts, NAME, tree_id)
    return Outcome(row.path, row.loc, "", records, skipped=dict(skipped), own_ids=True)


def iter_file(path: str, opts: ReaderConfig) -> Iterator[Outcome]:
    """One `Outcome` per tree (line)."""
    for raw in iter_raw_rows(path):
        out = Outcome(path, raw.loc, raw.text)
        if raw.error:
            yield out.reject(raw.error)
            continue
        try:
            read = read_tree(Row(path, raw.loc, raw.value), opts)
        except DataError as e:
            yield out.reject(e)
            continue
        read.raw = raw.text
        yield read


# The most specific keys of all the formats, so tried first.
FORMAT = Format(NAME, priority=10, detect=detect, iter_file=iter_file,
                needs="'message_tree_id' and a 'prompt' message tree")
