"""The canonical record: the one data unit every stage reads and writes
(docs/architecture.md §2).

Every input format is converted to a `Record`. It keeps apart what later stages need apart:
the instruction (the directive), the context it works on, the response (the target), an
optional rationale, the task category, earlier turns of a conversation, and provenance.

On disk a record is one JSON object per line (`records.jsonl`); `Record.to_dict` /
`Record.from_dict` are the only (de)serialisers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant")


@dataclass
class Turn:
    """One earlier message of a conversation.

    Attributes:
        role: "system", "user" or "assistant".
        content: the message text.
    """

    role: str
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class Record:
    """An instruction example.

    The *last* exchange of a conversation lives in `instruction` / `context` / `response`;
    earlier exchanges live in `history` (alternating user / assistant turns, every assistant
    turn of which is trained as well). A single-turn record has an empty history.

    Attributes:
        id: unique id within a dataset.
        instruction: the directive ("Summarize the following article.").
        response: the target answer (for chain-of-thought records, the final answer only).
        context: the content the directive works on; "" when none.
        rationale: chain-of-thought steps that lead to the response; "" when none.
        task: task category (e.g. "summarization", "closed_qa"); None when unknown.
        system: a system prompt; None to use the template's default.
        history: earlier turns, oldest first.
        source: provenance, e.g. {"file": "...", "line": 3, "format": "alpaca"}.
        meta: free metadata carried through every stage.
    """

    id: str
    instruction: str
    response: str
    context: str = ""
    rationale: str = ""
    task: str | None = None
    system: str | None = None
    history: list[Turn] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_multi_turn(self) -> bool:
        return any(t.role == "assistant" for t in self.history)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; inverse of `from_dict`."""
        return {
            "id": self.id,
            "instruction": self.instruction,
            "context": self.context,
            "response": self.response,
            "rationale": self.rationale,
            "task": self.task,
            "system": self.system,
            "history": [t.to_dict() for t in self.history],
            "source": self.source,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Record":
        """Build a record from `to_dict` output. Raises KeyError/TypeError on bad shapes;
        readers that face user files validate first and raise `DataError` instead."""
        return cls(
            id=str(d["id"]),
            instruction=d["instruction"],
            response=d["response"],
            context=d.get("context") or "",
            rationale=d.get("rationale") or "",
            task=d.get("task"),
            system=d.get("system"),
            history=[Turn(t["role"], t["content"]) for t in d.get("history") or []],
            source=dict(d.get("source") or {}),
            meta=dict(d.get("meta") or {}),
        )
