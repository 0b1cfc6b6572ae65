"""Checking an augmented record against its own constraints with the eval's strict checkers.

    failed = failures(instruction, response, [("punctuation:no_comma", {})])   # [] when it complies
"""

from __future__ import annotations

from instructune.evaluate.ifeval.check import check
from instructune.evaluate.ifeval.prompt import make_prompt


def checker_kwargs(kwargs: dict) -> dict:
    """The checker's arguments: rewrite options (keys starting with "_") left out."""
    return {k: v for k, v in kwargs.items() if not k.startswith("_")}


def failures(instruction: str, response: str, constraints: list[tuple[str, dict]]) -> list[str]:
    """The ids of `constraints` that `response` does not follow, strictly (IFEval's strict
    verdict: no loose variants), in order."""
    prompt = make_prompt("augmented", instruction, [c for c, _ in constraints],
                         [checker_kwargs(k) for _, k in constraints])
    verdict = check(prompt, response)
    return [c for c, ok in zip(verdict.instruction_id_list, verdict.follow_instruction_list) if not ok]
