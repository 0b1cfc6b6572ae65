"""OpenAssistant message trees → conversations, shared by the tree export (`oasst_tree`) and
the flat message list (`oasst_messages`).

A tree alternates `prompter` and `assistant` messages. Filters drop a message and every
reply under it (deleted, failed review, other language). Then each tree gives either its
best-ranked path (at every branch the reply with the lowest `rank`; unranked replies come
after ranked ones, ties in file order) or every path, as `ReaderConfig.oasst_paths` says.
A path ends at an assistant message: prompter messages nobody answered are dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from instructune.config import ReaderConfig
from instructune.data.formats._conversation import conversation_record
from instructune.data.formats._fields import Row
from instructune.data.record import Record, Turn

ROLE_OF = {"prompter": "user", "assistant": "assistant"}


@dataclass
class Message:
    """One message of a tree.

    Attributes:
        obj: the message as read (a dict with `message_id`, `text`, `role`, ...).
        row: the input row it is in (for located errors).
        at: its field path within the row ("" for a whole row, "prompt.replies[1]").
        order: position in the file, to break rank ties.
        replies: the kept replies, in file order.
    """

    obj: dict[str, Any]
    row: Row
    at: str
    order: int
    replies: list["Message"] = field(default_factory=list)

    def label(self, key: str) -> str:
        return f"{self.at}.{key}" if self.at else key

    def error(self, message: str, key: str):
        return self.row.error(message, self.label(key))

    @property
    def role(self) -> str:
        return self.obj["role"]

    @property
    def rank(self) -> int | None:
        return self.obj.get("rank")


def check_flags(m: Message) -> None:
    """Validate the fields the filters read (`deleted`, `review_result`, `lang`)."""
    if not isinstance(m.obj, dict):
        raise m.row.error(f"expected an object, got {type(m.obj).__name__}", m.at or None)
    for key in ("deleted", "review_result"):
        if m.obj.get(key) is not None and not isinstance(m.obj[key], bool):
            raise m.error(f"expected true, false or null, got {m.obj[key]!r}", key)
    if m.obj.get("lang") is not None and not isinstance(m.obj["lang"], str):
        raise m.error(f"expected a string, got {type(m.obj['lang']).__name__}", "lang")


def check_content(m: Message) -> None:
    """Validate the fields a conversation is built from (`role`, `text`, `rank`)."""
    role = m.row.text("role", where=m.obj, label=m.label("role"))
    if role not in ROLE_OF:
        raise m.error(f"unknown role {role!r}; allowed: {', '.join(ROLE_OF)}", "role")
    m.row.text("text", where=m.obj, label=m.label("text"))
    if m.rank is not None and (not isinstance(m.rank, int) or isinstance(m.rank, bool)):
        raise m.error(f"expected an integer or null, got {m.rank!r}", "rank")


def skip_reason(obj: dict[str, Any], opts: ReaderConfig) -> str | None:
    """Why a message is left out ("deleted", "unreviewed", "language"), or None to keep it."""
    if obj.get("deleted") is True and not opts.keep_deleted:
        return "deleted"
    if obj.get("review_result") is False and not opts.keep_unreviewed:
        return "unreviewed"
    if opts.languages and obj.get("lang") not in opts.languages:
        return "language"
    return None


def prune(m: Message, opts: ReaderConfig, skipped: Counter, parent_role: str | None = None,
          ) -> Message | None:
    """`m` with filtered replies (and everything under them) removed, checked on the way
    down; None when `m` itself is filtered. Counts each filtered message (not its replies)
    in `skipped` by reason."""
    check_flags(m)
    reason = skip_reason(m.obj, opts)
    if reason:
        skipped[reason] += 1
        return None
    check_content(m)
    if m.role == parent_role:
        raise m.error(f"a {parent_role} message must be answered by the other role, got {m.role!r}", "role")
    m.replies = [r for r in (prune(r, opts, skipped, m.role) for r in m.replies) if r is not None]
    return m


def _answerable(m: Message) -> bool:
    """A reply that can continue a path: an assistant message, or a prompter message that
    has an assistant reply."""
    return m.role == "assistant" or bool(m.replies)


def _rank_key(m: Message) -> tuple[bool, int, int]:
    return (m.rank is None, m.rank or 0, m.order)


def best_path(root: Message) -> list[Message]:
    """Root → the lowest-ranked answerable reply at every branch; [] when nothing answers."""
    path = [root]
    while nexts := [r for r in path[-1].replies if _answerable(r)]:
        path.append(min(nexts, key=_rank_key))
    return path if path[-1].role == "assistant" else []


def all_paths(root: Message) -> Iterator[list[Message]]:
    """Every root → assistant path that cannot be continued, depth first in file order."""
    stack = [[root]]
    while stack:
        path = stack.pop()
        nexts = [r for r in path[-1].replies if _answerable(r)]
        if not nexts and path[-1].role == "assistant":
            yield path
        stack.extend(path + [r] for r in reversed(nexts))


def path_record(path: list[Message], fmt: str, tree_id: str | None) -> Record:
    """The conversation along `path` as a record (id: the last message's id)."""
    root, last = path[0], path[-1]
    turns = [Turn(ROLE_OF[m.role], m.obj["text"]) for m in path]
    meta = {"lang": root.obj.get("lang"), "message_tree_id": tree_id or root.obj.get("message_id")}
    rid = last.obj.get("message_id")
    if not isinstance(rid, str) or not rid:
        raise last.error("missing (needed as the record id)", "message_id")
    # Checked here rather than in conversation_record: the two messages may sit on different
    # lines of a flat message file, and the error must name the right one.
    if not last.obj["text"].strip():
        raise last.error("empty response", "text")
    if not path[-2].obj["text"].strip():
        raise path[-2].error("empty instruction", "text")
    return conversation_record(last.row, turns, [m.label("text") for m in path], root.label("replies"),
                               rid=rid, fmt=fmt, meta=meta)


def tree_records(root: Message, opts: ReaderConfig, fmt: str, tree_id: str | None = None,
                 ) -> tuple[list[Record], Counter]:
    """The records of one tree and the count of filtered messages by reason.

    Raises:
        DataError: a bad message (role, text, rank, ...) or a root that is not a prompter.
    """
    skipped: Counter = Counter()
    root = prune(root, opts, skipped)
    if root is None:
        return [], skipped
    if root.role != "prompter":
        raise root.error(f"a tree must start with a prompter message, got {root.role!r}", "role")
    paths = [best_path(root)] if opts.oasst_paths == "best" else list(all_paths(root))
    records = [path_record(p, fmt, tree_id) for p in paths if p]
    if not records:
        skipped["no assistant reply"] += 1
    return records, skipped
