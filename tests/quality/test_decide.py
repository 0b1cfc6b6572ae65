"""Thresholds → accept / flag / reject with every reason."""

from __future__ import annotations

from instructune.quality.decide import decide, decide_all, quality_block, quality_value
from instructune.quality.score import Score

THRESHOLDS = {"coherence": (0.05, 0.2), "format": (0.25, 1.0), "complexity": (0.0, 0.0)}


def test_accept_when_nothing_fails():
    v = decide({"coherence": Score(0.5, "c"), "format": Score(1.0, "ok")}, THRESHOLDS)
    assert (v.decision, v.failed, v.codes) == ("accept", [], [])


def test_flag_keeps_every_reason():
    v = decide({"coherence": Score(0.1, "cosine 0.10"), "format": Score(0.5, "asks for 3 items", ("item_count",))},
               THRESHOLDS)
    assert v.decision == "flag"
    assert v.failed == ["coherence 0.10 < flag 0.20: cosine 0.10", "format 0.50 < flag 1.00: asks for 3 items"]
    assert v.codes == ["coherence:low", "format:item_count"]


def test_reject_wins_over_flag():
    v = decide({"coherence": Score(0.1, "c"), "format": Score(0.2, "loop", ("repetition",))}, THRESHOLDS)
    assert v.decision == "reject"
    assert v.codes == ["coherence:low", "format:repetition"]
    assert v.failed[1] == "format 0.20 < reject 0.25: loop"


def test_boundaries_and_unlisted_scorers():
    assert decide({"coherence": Score(0.2, "c")}, THRESHOLDS).decision == "accept"  # not below 0.2
    assert decide({"coherence": Score(0.05, "c")}, THRESHOLDS).decision == "flag"
    assert decide({"other": Score(0.0, "x")}, THRESHOLDS).decision == "accept"
    assert decide({"complexity": Score(0.0, "x")}, THRESHOLDS).decision == "accept"


def test_decide_all_and_block():
    scores = {"coherence": [Score(0.9, "a"), Score(0.01, "b")],
              "complexity": [Score(0.3, "c", extra={"bin": "medium"}), Score(0.1, "d", extra={"bin": "easy"})]}
    verdicts = decide_all(scores, THRESHOLDS)
    assert [v.decision for v in verdicts] == ["accept", "reject"]
    block = quality_block({n: col[1] for n, col in scores.items()}, verdicts[1])
    assert block == {"decision": "reject", "failed": ["coherence 0.01 < reject 0.05: b"], "codes": ["coherence:low"],
                     "scores": {"coherence": 0.01, "complexity": 0.1}, "reasons": {"coherence": "b", "complexity": "d"},
                     "complexity_bin": "easy"}


def test_quality_value_leaves_complexity_out():
    assert quality_value({"coherence": Score(0.4, ""), "format": Score(1.0, ""), "complexity": Score(0.0, "")}) == 0.7
    assert quality_value({}) == 1.0
