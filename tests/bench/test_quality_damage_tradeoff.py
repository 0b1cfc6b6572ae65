"""bench/quality_damage.py's trade-off sweep: at the default settings it gives the decision the
benchmark reports, and a looser digit margin catches what the default lets through."""

from __future__ import annotations

from instructune.quality.score import Score
from bench_script import load_bench


def _bench():
    return load_bench("quality_damage")


def test_the_sweep_at_the_defaults_is_the_decision():
    qd = _bench()
    label = ["clean", "clean", "contradiction", "contradiction", "truncated"]
    plaus = [Score(1.0, "", extra={"gaps": {"another digit": 2.0}}), Score(1.0, ""),
             Score(0.5, "", extra={"gaps": {"another digit": 7.7}}),
             Score(1.0, "", extra={"gaps": {"another digit": 4.0}}),
             Score(1.0, "")]
    ending = [Score(1.0, ""), Score(0.0004, ""), Score(1.0, ""), Score(1.0, ""), Score(0.0002, "")]
    blocks = [{"decision": "accept", "codes": []}, {"decision": "flag", "codes": ["ending:low"]},
              {"decision": "flag", "codes": ["plausibility:low"]}, {"decision": "accept", "codes": []},
              {"decision": "flag", "codes": ["ending:low", "coherence:low"]}]
    t = qd.tradeoff({"ending": ending, "plausibility": plaus}, blocks, label)
    default = t["plausibility.digit_margin"]["7.0"]
    assert (default["contradiction"]["k"], default["clean"]["k"]) == (1, 1)  # as decided: record 2; record 1 by ending
    loose = t["plausibility.digit_margin"]["3.0"]
    assert (loose["contradiction"]["k"], loose["clean"]["k"]) == (2, 1)  # gap 4.0 > 3
    assert t["plausibility.digit_margin"]["1.0"]["clean"]["k"] == 2  # and the clean gap of 2.0
    assert t["plausibility.digit_margin"]["None"]["contradiction"]["k"] == 0
    assert t["ending.flag_below"]["0.001"]["clean"]["k"] == 1 and t["ending.flag_below"]["0.0"]["clean"]["k"] == 0
    assert t["ending.flag_below"]["0.0"]["truncated"]["k"] == 1  # still flagged by coherence
