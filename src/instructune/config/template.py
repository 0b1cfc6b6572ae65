"""The `template` section: how records are laid out as tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class TemplateConfig:
    """How records are laid out as tokens.

    Attributes:
        name: "chat" (the model's own chat template), "inst" ([INST] tokens) or "alpaca".
        context_separator: text between instruction and context in the user turn.
        rationale_separator: text between a rationale and the final answer.
        train_rationale: take the loss on rationale tokens.
        train_answer: take the loss on answer tokens.
    """

    name: Literal["chat", "inst", "alpaca"] = "chat"
    context_separator: str = "\n\n"
    rationale_separator: str = "\nAnswer: "
    train_rationale: bool = True
    train_answer: bool = True
