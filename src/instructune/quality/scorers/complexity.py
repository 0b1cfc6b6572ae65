"""Complexity: how demanding is a record? (Not a quality: higher means harder, not better.)

Three counts, each capped and scaled to [0, 1], then weighted:
- constraints (weight 0.4, cap 4): constraints the instruction states (`quality.constraints`:
  word limits, item counts, JSON, ...) plus distinct cue phrases that add a requirement
  ("must", "without", "only", "at least", "avoid", "step by step", "in the style of", ...);
- reasoning steps (weight 0.35, cap 5): sentences of the rationale, step markers in the response
  ("first", "then", "therefore", "because", ...), equations ("=") in the response, quantities
  the instruction asks to combine (numbers in it beyond the first), "why / explain" asks;
- length (weight 0.25): log(1 + words of prompt and response) / log(1 + 300), capped at 1.

Score in [0, 1]. The bin is the first of `bins` whose upper edge (`edges`) the score is below,
so with edges [0.25, 0.5] and bins [easy, medium, hard]: < 0.25 easy, < 0.5 medium, else hard.
"""

from __future__ import annotations

import bisect
import math
import re

from instructune.data.record import Record
from instructune.quality._text import numbers, sentences, words
from instructune.quality.constraints import parse_constraints
from instructune.quality.score import Score, ScoringSet, prompt_text

WEIGHTS = {"constraints": 0.4, "steps": 0.35, "length": 0.25}
CAPS = {"constraints": 4, "steps": 5}
LENGTH_SCALE = 300  # words at which the length term reaches 1
_CUES = re.compile(
    r"\b(?:must|should|without|only|exactly|at least|at most|do not|don't|never|avoid|ensure|make sure|"
    r"includ(?:e|ing)|in the style of|step[- ]by[- ]step|justify|compare|contrast|for each|each of|both|"
    r"then|also|while|unless|except)\b", re.I)
_STEP_MARKERS = re.compile(
    r"\b(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|then|next|finally|therefore|thus|hence|so|because|since)\b", re.I)
_ASKS_WHY = re.compile(r"\b(?:why|explain|reason|prove|derive|show that)\b", re.I)


def counts(r: Record) -> dict[str, int]:
    """{"constraints": n, "steps": n, "words": n} for record `r`."""
    stated = len(parse_constraints(r.instruction))
    cues = len({m.group(0).lower() for m in _CUES.finditer(r.instruction)})
    steps = (len(sentences(r.rationale)) + len(_STEP_MARKERS.findall(r.response)) + r.response.count("=")
             + max(len(numbers(r.instruction)) - 1, 0) + bool(_ASKS_WHY.search(r.instruction)))
    return {"constraints": stated + cues, "steps": steps,
            "words": len(words(prompt_text(r))) + len(words(r.rationale)) + len(words(r.response))}


def complexity(c: dict[str, int]) -> float:
    """The weighted score in [0, 1] from `counts`."""
    length = min(math.log1p(c["words"]) / math.log1p(LENGTH_SCALE), 1.0)
    return (WEIGHTS["constraints"] * min(c["constraints"], CAPS["constraints"]) / CAPS["constraints"]
            + WEIGHTS["steps"] * min(c["steps"], CAPS["steps"]) / CAPS["steps"]
            + WEIGHTS["length"] * length)


def bin_of(value: float, edges: list[float], bins: list[str]) -> str:
    """The bin `value` falls in: bins[i] for edges[i-1] <= value < edges[i]."""
    return bins[bisect.bisect_right(edges, value)]


def score(data: ScoringSet, edges: tuple[float, ...] = (0.25, 0.5),
          bins: tuple[str, ...] = ("easy", "medium", "hard")) -> list[Score]:
    """Complexity of every record, in [0, 1], with its bin in `Score.extra["bin"]`."""
    if len(bins) != len(edges) + 1:
        raise ValueError(f"{len(bins)} bins need {len(bins) - 1} edges, got {len(edges)}")
    out = []
    for r in data.records:
        c = counts(r)
        value = round(complexity(c), 6)
        b = bin_of(value, list(edges), list(bins))
        out.append(Score(value, f"{c['constraints']} constraint(s), {c['steps']} reasoning step(s), "
                                f"{c['words']} words → {value:.2f} ({b})", (), {"bin": b, **c}))
    return out
