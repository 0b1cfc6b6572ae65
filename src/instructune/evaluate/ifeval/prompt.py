"""`Prompt`: one verifiable prompt, its instruction ids and their validated arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from instructune.evaluate.ifeval.errors import InstructionError
from instructune.evaluate.ifeval.registry import instruction, resolve_kwargs


@dataclass(frozen=True)
class Prompt:
    """A prompt of an IFEval-style set (build it with `make_prompt`, which validates).

    Attributes:
        key: the prompt's id in its file (IFEval uses integers).
        prompt: the text sent to the model; responses are matched to prompts by this text.
        instruction_id_list: the instruction ids, e.g. ("punctuation:no_comma",).
        kwargs: validated arguments, one dict per instruction id.
    """

    key: int | str
    prompt: str
    instruction_id_list: tuple[str, ...]
    kwargs: tuple[dict[str, Any], ...]


def make_prompt(key: int | str, prompt: str, instruction_id_list: Sequence[str],
                kwargs: Sequence[Mapping[str, Any] | None] | None = None) -> Prompt:
    """A validated `Prompt`.

    Args:
        key: the prompt's id.
        prompt: its text.
        instruction_id_list: one or more instruction ids (see `INSTRUCTIONS`).
        kwargs: one argument object per id (None or {} for an instruction without arguments);
            None when no instruction takes arguments. Null values are dropped.

    Returns:
        The prompt.

    Raises:
        InstructionError: no ids, a list length mismatch, an unknown id, or bad arguments; its
            `field` says where ("instruction_id_list[2]", "kwargs[1].num_words").
    """
    ids = list(instruction_id_list)
    if not ids:
        raise InstructionError("empty list", "instruction_id_list")
    raw = list(kwargs) if kwargs is not None else [None] * len(ids)
    if len(raw) != len(ids):
        raise InstructionError(f"has {len(raw)} entries for {len(ids)} instruction ids", "kwargs")
    resolved = []
    for i, (instruction_id, args) in enumerate(zip(ids, raw)):
        try:
            instruction(instruction_id)
        except InstructionError as e:
            raise e.under(f"instruction_id_list[{i}]") from None
        try:
            resolved.append(resolve_kwargs(instruction_id, args))
        except InstructionError as e:
            raise e.under(f"kwargs[{i}]") from None
    return Prompt(key, prompt, tuple(ids), tuple(resolved))
