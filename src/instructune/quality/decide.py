"""Thresholds → a decision per record: accept, flag for review, or reject, with every reason.

A scorer whose value is below its `reject_below` rejects the record; below its `flag_below`
it flags it; a record is rejected if any scorer rejects it, else flagged if any flags it, else
accepted. All failing scorers are kept as reasons, not only the decisive one.

Two optional rules on top, both off by default:
- `reject_above` {scorer: ceiling}: a value above its ceiling rejects the record (code
  "complexity:above_0.8"). For complexity: runaway Evol-Instruct prompts stack so many
  constraints that no model answers them well, and their responses are the ones most likely wrong.
- `review_domains`: a record the domain scorer tags with one of these domains is flagged for a
  human (code "domain:finance") even when every other scorer accepts it; a rejection still wins.

    verdicts = decide_all(scores, {"format": (0.25, 1.0), "coherence": (0.05, 0.2)},
                          review_domains=["finance", "law", "health"], reject_above={"complexity": 0.8})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from instructune.quality.score import Score
from instructune.quality.scorers import SCORERS
from instructune.quality.scorers.domain import domain_names

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


def check_rules(review_domains: Sequence[str] = (), reject_above: dict[str, float] | None = None) -> None:
    """Raise ValueError naming the option when `review_domains` or `reject_above` is out of range.

    Args:
        review_domains: each must be a domain of the domain scorer (finance, law, health).
        reject_above: each key a scorer name, each ceiling in [0, 1] (the range of every score).
    """
    if isinstance(review_domains, str):  # "finance" would otherwise read as letters
        raise ValueError(f"quality.review_domains: expected a list of domains, got the string {review_domains!r}")
    known = domain_names() if review_domains else []  # no file read when the rule is off
    for d in review_domains:
        if d not in known:
            raise ValueError(f"quality.review_domains: unknown domain {d!r}; expected any of {', '.join(known)}")
    for name, ceiling in (reject_above or {}).items():
        if name not in SCORERS:
            raise ValueError(f"quality.reject_above: unknown scorer {name!r}; expected one of {', '.join(SCORERS)}")
        if isinstance(ceiling, bool) or not isinstance(ceiling, (int, float)) or not 0.0 <= ceiling <= 1.0:
            raise ValueError(f"quality.reject_above.{name}: got {ceiling!r}; expected a value in [0, 1]")


def _escalate(v: Verdict, level: str) -> None:
    """Make `v` at least as severe as `level`."""
    if DECISIONS.index(level) > DECISIONS.index(v.decision):
        v.decision = level


def _floors(v: Verdict, scores: dict[str, Score], thresholds: dict[str, tuple[float, float]]) -> None:
    """Flag / reject for each score below its (reject_below, flag_below)."""
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
        _escalate(v, level)


def _ceilings(v: Verdict, scores: dict[str, Score], reject_above: dict[str, float]) -> None:
    """Reject for each score above its ceiling."""
    for name, ceiling in reject_above.items():
        if name in scores and scores[name].value > ceiling:
            s = scores[name]
            v.failed.append(f"{name} {s.value:.2f} > reject_above {ceiling:.2f}: {s.reason}")
            v.codes.append(f"{name}:above_{ceiling:g}")
            _escalate(v, "reject")


def _domain_review(v: Verdict, scores: dict[str, Score], review_domains: Sequence[str]) -> None:
    """Flag a record the domain scorer tagged with one of `review_domains`."""
    label = scores["domain"].extra.get("domain") if "domain" in scores else None
    if label in review_domains:
        v.failed.append(f"domain {label}: high-stakes, needs a human review ({scores['domain'].reason})")
        v.codes.append(f"domain:{label}")
        _escalate(v, "flag")


def _decide(scores: dict[str, Score], thresholds: dict[str, tuple[float, float]], review_domains: Sequence[str],
            reject_above: dict[str, float]) -> Verdict:
    v = Verdict()
    _floors(v, scores, thresholds)
    _ceilings(v, scores, reject_above)
    _domain_review(v, scores, review_domains)
    return v


def decide(scores: dict[str, Score], thresholds: dict[str, tuple[float, float]], review_domains: Sequence[str] = (),
           reject_above: dict[str, float] | None = None) -> Verdict:
    """The verdict for one record.

    Args:
        scores: scorer name → its `Score` for this record.
        thresholds: scorer name → (reject_below, flag_below); a scorer not listed decides nothing.
        review_domains: domains (of the "domain" score's `extra["domain"]`) sent to review; () = none.
        reject_above: scorer name → ceiling; a value above it rejects; None = no ceiling.
    Raises:
        ValueError: see `check_rules`.
    """
    check_rules(review_domains, reject_above)
    return _decide(scores, thresholds, review_domains, reject_above or {})


def decide_all(scores: dict[str, list[Score]], thresholds: dict[str, tuple[float, float]],
               review_domains: Sequence[str] = (), reject_above: dict[str, float] | None = None) -> list[Verdict]:
    """`decide` for every record; `scores` maps scorer name → one `Score` per record."""
    check_rules(review_domains, reject_above)
    n = len(next(iter(scores.values()), []))
    return [_decide({name: col[i] for name, col in scores.items()}, thresholds, review_domains, reject_above or {})
            for i in range(n)]


def quality_value(scores: dict[str, Score], skip: tuple[str, ...] = ("complexity", "domain", "ending")) -> float:
    """A record's overall quality: the mean of its scorer values; 1.0 if none. Complexity and
    domain are left out: they describe the record (how hard, what about), not how good it is;
    so is ending, a probability whose size says nothing past its threshold (a right label
    answer "Positive" gets 0.2, a closed sentence 1.0)."""
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
    if "domain" in scores:
        block["domain"] = scores["domain"].extra["domain"]
    return block
