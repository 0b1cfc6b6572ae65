"""Thresholds → a decision per record: accept, flag for review, or reject, with every reason.

A scorer whose value is below its `reject_below` rejects the record; below its `flag_below`
it flags it; a record is rejected if any scorer rejects it, else flagged if any flags it, else
accepted. All failing scorers are kept as reasons, not only the decisive one.

    verdicts = decide_all(scores, {"format": (0.25, 1.0), "coherence": (0.05, 0.2)})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from instructune.quality.score import Score

DECISIONS = ("accept", "flag", "reject")


@dataclass
class Verdict:
    """The decision on one record.

    Attributes:
        decision: "accept", "flag" or "reject".
        failed: one line per failing scorer ("format 0.50 < flag 1.00: asks for ...").
        codes: what failed, for counting: "scorer:code" per code the scorer gave, or
            "scorer:low" when it gave none ("coherence:low", "format:word_limit").
    """

    decision: str = "accept"
    failed: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)


def decide(scores: dict[str, Score], thresholds: dict[str, tuple[float, float]]) -> Verdict:
    """The verdict for one record.

    Args:
        scores: scorer name → its `Score` for this record.
        thresholds: scorer name → (reject_below, flag_below); a scorer not listed decides nothing.
    """
    v = Verdict()
    for name, s in scores.items():
        reject_below, flag_below = thresholds.get(name, (0.0, 0.0))
        if s.value < reject_below:
            level, limit = "reject", reject_below
        elif s.value < flag_below:
            level, limit = "flag", flag_below
        else:
            continue
        v.failed.append(f"{name} {s.value:.2f} < {level} {limit:.2f}: {s.reason}")
        v.codes.extend(f"{name}:{c}" for c in (s.codes or ("low",)))
        if DECISIONS.index(level) > DECISIONS.index(v.decision):
            v.decision = level
    return v


def decide_all(scores: dict[str, list[Score]], thresholds: dict[str, tuple[float, float]]) -> list[Verdict]:
    """`decide` for every record; `scores` maps scorer name → one `Score` per record."""
    n = len(next(iter(scores.values()), []))
    return [decide({name: col[i] for name, col in scores.items()}, thresholds) for i in range(n)]


def quality_value(scores: dict[str, Score], skip: tuple[str, ...] = ("complexity",)) -> float:
    """A record's overall quality: the mean of its scorer values (complexity left out); 1.0 if none."""
    vals = [s.value for name, s in scores.items() if name not in skip]
    return sum(vals) / len(vals) if vals else 1.0


def quality_block(scores: dict[str, Score], verdict: Verdict) -> dict[str, Any]:
    """The `meta.quality` block written with each record."""
    block: dict[str, Any] = {
        "decision": verdict.decision,
        "failed": verdict.failed,
        "codes": verdict.codes,
        "scores": {name: s.value for name, s in scores.items()},
        "reasons": {name: s.reason for name, s in scores.items()},
    }
    if "complexity" in scores:
        block["complexity_bin"] = scores["complexity"].extra["bin"]
    return block
