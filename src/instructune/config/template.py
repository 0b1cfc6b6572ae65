"""The `template` section: how records are laid out as tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class TemplateConfig:
    """How records are laid out as tokens.

    Attributes:
        name: "chat" (the model's own chat template), "inst" ([INST] tokens; Mistral's
            format), "alpaca", or a family's own turn format for a base model whose tokenizer
            has no chat template: "llama3" (header tokens, <|eot_id|>), "gemma"
            (<start_of_turn> user / model), "phi3" (<|user|> ... <|end|>); their marker tokens
            are added to the vocabulary when missing.
        context_separator: text between instruction and context in the user turn.
        rationale_separator: text between a rationale and the final answer.
        train_rationale: take the loss on rationale tokens.
        train_answer: take the loss on answer tokens.
    """

    name: Literal["chat", "inst", "alpaca", "llama3", "gemma", "phi3"] = "chat"
    context_separator: str = "\n\n"
    rationale_separator: str = "\nAnswer: "
    train_rationale: bool = True
    train_answer: bool = True
