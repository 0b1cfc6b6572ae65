"""Scoring a set: verdicts for every prompt with a response, and IFEval's four accuracies.

- prompt-level: share of prompts whose response follows *all* their instructions;
- instruction-level: share of all (prompt, instruction) pairs followed;
each strict and loose, with a 95% Wilson interval; also per instruction id and per group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from instructune.evaluate.ifeval.check import Verdict, check_all
from instructune.evaluate.ifeval.prompt import Prompt
from instructune.evaluate.ifeval.registry import GROUPS, INSTRUCTIONS
from instructune.evaluate.intervals import wilson

# How many keys of prompts without a response the summary lists (the count is always complete).
_MAX_LISTED_KEYS = 50


def accuracy(successes: int, n: int) -> dict[str, Any]:
    """{"accuracy", "successes", "n", "lo", "hi"}: accuracy is None when n is 0; lo/hi are the
    95% Wilson interval."""
    lo, hi = wilson(successes, n)
    return {"accuracy": successes / n if n else None, "successes": successes, "n": n, "lo": lo, "hi": hi}


def _by(pairs: Iterable[tuple[str, bool, bool]], order: Sequence[str]) -> dict[str, dict[str, Any]]:
    """(name, strict, loose) pairs → {name: {"strict": accuracy, "loose": accuracy}} in `order`."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # n, strict passes, loose passes
    for name, strict, loose in pairs:
        c = counts[name]
        c[0] += 1
        c[1] += strict
        c[2] += loose
    return {name: {"strict": accuracy(counts[name][1], counts[name][0]),
                   "loose": accuracy(counts[name][2], counts[name][0])}
            for name in order if name in counts}


def summarize(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """The four accuracies and the per-instruction / per-group ones.

    Args:
        verdicts: one per scored prompt.

    Returns:
        {"scored", "prompt_level_strict", "prompt_level_loose", "instruction_level_strict",
        "instruction_level_loose", "per_instruction", "per_group"}; each accuracy as in `accuracy`.
    """
    pairs = [(iid, s, lo) for v in verdicts for iid, s, lo in
             zip(v.instruction_id_list, v.follow_instruction_list, v.follow_instruction_list_loose)]
    return {
        "scored": len(verdicts),
        "prompt_level_strict": accuracy(sum(v.follow_all_instructions for v in verdicts), len(verdicts)),
        "prompt_level_loose": accuracy(sum(v.follow_all_instructions_loose for v in verdicts), len(verdicts)),
        "instruction_level_strict": accuracy(sum(s for _, s, _ in pairs), len(pairs)),
        "instruction_level_loose": accuracy(sum(lo for _, _, lo in pairs), len(pairs)),
        "per_instruction": _by(pairs, list(INSTRUCTIONS)),
        "per_group": _by(((INSTRUCTIONS[iid].group, s, lo) for iid, s, lo in pairs), GROUPS),
    }


def score(prompts: Sequence[Prompt], responses: Mapping[str, str],
          workers: int = 1) -> tuple[list[Verdict], dict[str, Any]]:
    """Check every prompt that has a response and summarise.

    Args:
        prompts: the prompt set (e.g. `load_prompts()`).
        responses: prompt text → response (e.g. `load_responses(path)`).
        workers: processes to check in (`check_all`); 1 checks in this one.

    Returns:
        (verdicts in prompt order, summary). The summary is `summarize`'s plus "prompts" (in the
        set), "missing_responses" ({"count", "keys"}: prompts without a response, left out of every
        accuracy; at most 50 keys listed) and "unmatched_responses" (responses to prompts not in
        the set, ignored).
    """
    missing = [p.key for p in prompts if p.prompt not in responses]
    verdicts = check_all([(p, responses[p.prompt]) for p in prompts if p.prompt in responses], workers)
    known = {p.prompt for p in prompts}
    summary = {
        "prompts": len(prompts),
        "missing_responses": {"count": len(missing), "keys": missing[:_MAX_LISTED_KEYS]},
        "unmatched_responses": sum(1 for text in responses if text not in known),
        **summarize(verdicts),
    }
    return verdicts, summary
