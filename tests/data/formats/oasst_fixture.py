"""Three small OpenAssistant trees (written for these tests) in the export's shapes.

Tree t1 (en):                         Tree t2 (de):       Tree t3 (en):
  p1 "What is 2+2?"                     q1 "Hallo?"         r1 "Hi"
  ├── a1 "4"            rank 1          └── b1 rank 0       └── s1 deleted
  ├── a2 "Four."        rank 0
  │   ├── p2 "And 3+3?"
  │   │   ├── a3 "6"    rank 0
  │   │   └── a4 "Six"  rank 1, deleted
  │   └── p3 "Thanks!"  (nobody answered)
  └── a5 "Five."        rank 2, review_result false
"""

from __future__ import annotations

import copy


def msg(mid, role, text, replies=(), rank=None, lang="en", deleted=False, review=True):
    return {"message_id": mid, "text": text, "role": role, "lang": lang, "review_count": 3,
            "review_result": review, "deleted": deleted, "rank": rank, "synthetic": False,
            "replies": list(replies)}


T1 = msg("p1", "prompter", "What is 2+2?", [
    msg("a1", "assistant", "4", rank=1),
    msg("a2", "assistant", "Four.", [
        msg("p2", "prompter", "And 3+3?", [
            msg("a3", "assistant", "6", rank=0),
            msg("a4", "assistant", "Six", rank=1, deleted=True),
        ]),
        msg("p3", "prompter", "Thanks!"),
    ], rank=0),
    msg("a5", "assistant", "Five.", rank=2, review=False),
])
T2 = msg("q1", "prompter", "Hallo?", [msg("b1", "assistant", "Hallo! Wie geht's?", rank=0, lang="de")],
         lang="de")
T3 = msg("r1", "prompter", "Hi", [msg("s1", "assistant", "Hello", rank=0, deleted=True)])
TREES = [("t1", T1), ("t2", T2), ("t3", T3)]


def tree_rows() -> list[dict]:
    """The message-tree export: one tree a line."""
    return [{"message_tree_id": tid, "tree_state": "ready_for_export", "prompt": copy.deepcopy(root)}
            for tid, root in TREES]


def nested_message_rows() -> list[dict]:
    """Flat-message rows as in the sample export: a root message a line, replies nested."""
    return [{**copy.deepcopy(root), "parent_id": None, "message_tree_id": tid} for tid, root in TREES]


def flat_message_rows() -> list[dict]:
    """The flat message list: one message a line with `parent_id`, no nesting."""
    rows = []

    def walk(m, parent, tid):
        rows.append({**{k: copy.deepcopy(v) for k, v in m.items() if k != "replies"}, "parent_id": parent,
                     "message_tree_id": tid})
        for r in m["replies"]:
            walk(r, m["message_id"], tid)

    for tid, root in TREES:
        walk(root, None, tid)
    return rows
