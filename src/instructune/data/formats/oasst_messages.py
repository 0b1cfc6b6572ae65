"""OpenAssistant flat message list: one message a row, `{"message_id", "parent_id", "text",
"role", "lang", "rank", "deleted", "review_result", ...}`; a message may also carry its
replies nested in `replies` (as the sample exports do). Both are read.

Messages are grouped by `parent_id` over the whole file (so the whole file is held in
memory), then every root message (`parent_id` null) becomes conversations exactly as in
`oasst_tree`. A message id seen twice (nested and as its own row) is read once, the first
time. A reply whose parent is not in the file is an error.
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

NAME = "oasst_messages"


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    if {"message_id", "role", "text"} <= keys and "prompt" not in keys:
        return "has 'message_id', 'role', 'text'" + (" and 'parent_id'" if "parent_id" in keys else "")
    return None


class _Messages:
    """Every message of a file by id, with its parent id, in file order."""

    def __init__(self):
        self.by_id: dict[str, Message] = {}
        self.parent: dict[str, str | None] = {}

    def add(self, m: Message, parent: str | None) -> None:
        """Register `m` and (recursively) its nested replies."""
        if not isinstance(m.obj, dict):
            raise m.row.error(f"expected an object, got {type(m.obj).__name__}", m.at or None)
        mid = m.row.text("message_id", where=m.obj, label=m.label("message_id"), nonempty=True)
        own_parent = m.obj.get("parent_id")
        if own_parent is not None and not isinstance(own_parent, str):
            raise m.error(f"expected a string or null, got {type(own_parent).__name__}", "parent_id")
        if mid in self.by_id:
            return
        self.by_id[mid] = m
        self.parent[mid] = parent if parent is not None else own_parent
        replies = m.obj.get("replies") or []
        if not isinstance(replies, list):
            raise m.error(f"expected a list, got {type(replies).__name__}", "replies")
        for i, r in enumerate(replies):
            self.add(Message(r, m.row, m.label(f"replies[{i}]"), len(self.by_id)), mid)

    def link(self) -> Iterator[DataError]:
        """Attach every message to its parent; yields an error per message whose parent is missing."""
        for mid, m in self.by_id.items():
            pid = self.parent[mid]
            if pid is None:
                continue
            if pid not in self.by_id:
                yield m.error(f"parent message {pid!r} is not in the file", "parent_id")
            else:
                self.by_id[pid].replies.append(m)


def iter_file(path: str, opts: ReaderConfig) -> Iterator[Outcome]:
    """One `Outcome` per bad row, then one per tree (in the file order of its root)."""
    msgs, raws = _Messages(), {}
    for raw in iter_raw_rows(path):
        out = Outcome(path, raw.loc, raw.text)
        if raw.error:
            yield out.reject(raw.error)
            continue
        raws[raw.loc.get("line", raw.loc.get("index"))] = raw.text
        try:
            row = Row(path, raw.loc, raw.value)
            msgs.add(Message(row.obj, row, "", len(msgs.by_id)), None)
        except DataError as e:
            yield out.reject(e)
    for e in msgs.link():
        yield Outcome(path, {}, raws[e.line if e.line is not None else e.index]).reject(e)
    for mid, root in list(msgs.by_id.items()):
        if msgs.parent[mid] is not None:
            continue
        out = Outcome(path, root.row.loc, raws[_pos(root.row.loc)], own_ids=True)
        try:
            records, skipped = tree_records(root, opts, NAME, root.obj.get("message_tree_id"))
        except DataError as e:
            yield Outcome(path, {}, raws[e.line if e.line is not None else e.index]).reject(e)
            continue
        out.records, out.skipped = records, dict(skipped)
        yield out


def _pos(loc: dict[str, int]) -> int:
    return loc.get("line", loc.get("index"))


# Specific keys (message_id, role, text), tried right after the tree export.
FORMAT = Format(NAME, priority=20, detect=detect, iter_file=iter_file,
                needs="'message_id', 'role' and 'text' (one message a row)")
