"""`check`: the strict and loose verdicts of one response on one prompt; `check_all` for many."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from instructune.evaluate.ifeval.loose import loose_variants
from instructune.evaluate.ifeval.prompt import Prompt
from instructune.evaluate.ifeval.registry import INSTRUCTIONS


@dataclass(frozen=True)
class Verdict:
    """Which instructions of a prompt one response follows.

    Attributes:
        key, prompt, instruction_id_list: from the `Prompt`.
        response: the response checked.
        follow_instruction_list: strict verdict per instruction, in order.
        follow_instruction_list_loose: loose verdict per instruction (see `loose_variants`).
    """

    key: int | str
    prompt: str
    response: str
    instruction_id_list: tuple[str, ...]
    follow_instruction_list: tuple[bool, ...]
    follow_instruction_list_loose: tuple[bool, ...]

    @property
    def follow_all_instructions(self) -> bool:
        """Strict prompt-level verdict."""
        return all(self.follow_instruction_list)

    @property
    def follow_all_instructions_loose(self) -> bool:
        """Loose prompt-level verdict."""
        return all(self.follow_instruction_list_loose)

    def to_row(self) -> dict[str, Any]:
        """One line of the verdicts file, with IFEval's field names (plus the loose ones)."""
        return {
            "key": self.key,
            "prompt": self.prompt,
            "response": self.response,
            "instruction_id_list": list(self.instruction_id_list),
            "follow_all_instructions": self.follow_all_instructions,
            "follow_instruction_list": list(self.follow_instruction_list),
            "follow_all_instructions_loose": self.follow_all_instructions_loose,
            "follow_instruction_list_loose": list(self.follow_instruction_list_loose),
        }


def check(prompt: Prompt, response: str) -> Verdict:
    """Check `response` against every instruction of `prompt`, strictly and loosely.

    As in IFEval, an empty (whitespace-only) response or variant follows nothing.

    Args:
        prompt: a validated prompt.
        response: the model's response to `prompt.prompt`.

    Returns:
        The verdict.
    """
    strict, loose = [], []
    variants: list[str] | None = None
    for instruction_id, kwargs in zip(prompt.instruction_id_list, prompt.kwargs):
        follows = INSTRUCTIONS[instruction_id].check
        ok = bool(response.strip()) and follows(response, **kwargs)
        if not ok and variants is None:
            # Only a strict failure needs the variants; equal ones are tried once.
            variants = [v for v in dict.fromkeys(loose_variants(response)[1:]) if v.strip() and v != response]
        strict.append(ok)
        loose.append(ok or any(follows(v, **kwargs) for v in variants or ()))
    return Verdict(prompt.key, prompt.prompt, response, prompt.instruction_id_list, tuple(strict), tuple(loose))


CHUNK = 64  # pairs a worker process takes at a time


def _check_pair(pair: tuple[Prompt, str]) -> Verdict:
    return check(*pair)


def check_all(pairs: Sequence[tuple[Prompt, str]], workers: int = 1) -> list[Verdict]:
    """`check` on every (prompt, response), in order.

    Language detection (langdetect, pure Python) is most of the cost of checking, so a large set
    can be spread over processes: the verdicts are the same, since each is a function of its
    prompt and response alone.

    Args:
        pairs: (prompt, response) pairs.
        workers: processes to check in; 1 (or fewer than 2 × `CHUNK` pairs): this process.
            Workers are spawned, so each imports the checks and loads langdetect's profiles once
            (about a second).

    Returns:
        One verdict per pair, in order.
    """
    if workers <= 1 or len(pairs) < 2 * CHUNK:
        return [check(p, r) for p, r in pairs]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_check_pair, pairs, chunksize=CHUNK))
