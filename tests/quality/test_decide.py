"""Thresholds → accept / flag / reject with every reason."""

from __future__ import annotations

import pytest

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


# ---------------------------------------------------------------- review_domains and reject_above

FINANCE = Score(0.93, "domain finance (confidence 0.93)", ("finance",), {"domain": "finance"})
ORDINARY = Score(0.8, "no high-stakes domain", (), {"domain": "none"})
REVIEW = ["finance", "law", "health"]


def test_review_domains_flag_an_otherwise_accepted_record():
    v = decide({"coherence": Score(0.9, "c"), "domain": FINANCE}, THRESHOLDS, review_domains=REVIEW)
    assert v.decision == "flag" and v.codes == ["domain:finance"]
    assert v.failed == ["domain finance: high-stakes, needs a human review (domain finance (confidence 0.93))"]


def test_review_domains_leave_other_records_and_other_runs_alone():
    assert decide({"domain": ORDINARY}, THRESHOLDS, review_domains=REVIEW).decision == "accept"
    assert decide({"domain": FINANCE}, THRESHOLDS, review_domains=["law"]).decision == "accept"
    assert decide({"domain": FINANCE}, THRESHOLDS).decision == "accept"  # off by default
    assert decide({"coherence": Score(0.9, "c")}, THRESHOLDS, review_domains=REVIEW).decision == "accept"  # not run


def test_a_rejection_still_wins_over_domain_review():
    v = decide({"format": Score(0.0, "empty", ("empty",)), "domain": FINANCE}, THRESHOLDS, review_domains=REVIEW)
    assert v.decision == "reject" and v.codes == ["format:empty", "domain:finance"]


def test_reject_above_is_a_ceiling():
    hard = {"complexity": Score(0.9, "5 constraint(s) → 0.90 (hard)")}
    v = decide(hard, THRESHOLDS, reject_above={"complexity": 0.8})
    assert v.decision == "reject" and v.codes == ["complexity:above_0.8"]
    assert v.failed == ["complexity 0.90 > reject_above 0.80: 5 constraint(s) → 0.90 (hard)"]
    assert decide(hard, THRESHOLDS, reject_above={"complexity": 0.9}).decision == "accept"  # not above
    assert decide(hard, THRESHOLDS).decision == "accept"  # no ceiling by default
    assert decide({"coherence": Score(0.9, "c")}, THRESHOLDS, reject_above={"complexity": 0.5}).decision == "accept"


def test_decide_all_passes_the_rules_on():
    scores = {"complexity": [Score(0.2, "a"), Score(0.95, "b")], "domain": [FINANCE, ORDINARY]}
    got = decide_all(scores, THRESHOLDS, review_domains=REVIEW, reject_above={"complexity": 0.8})
    assert [(v.decision, v.codes) for v in got] == [("flag", ["domain:finance"]), ("reject", ["complexity:above_0.8"])]


@pytest.mark.parametrize("kwargs, message", [
    ({"review_domains": ["finance", "sports"]}, r"quality.review_domains: unknown domain 'sports'; expected any of "
                                                r"finance, law, health"),
    ({"review_domains": "finance"}, r"quality.review_domains: expected a list of domains"),
    ({"reject_above": {"complexty": 0.8}}, r"quality.reject_above: unknown scorer 'complexty'"),
    ({"reject_above": {"complexity": 1.2}}, r"quality.reject_above.complexity: got 1.2; expected a value in \[0, 1\]"),
    ({"reject_above": {"complexity": -0.1}}, r"quality.reject_above.complexity: got -0.1"),
    ({"reject_above": {"complexity": True}}, r"quality.reject_above.complexity: got True"),
])
def test_rule_options_are_range_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        decide({}, THRESHOLDS, **kwargs)
    with pytest.raises(ValueError, match=message):
        decide_all({"coherence": [Score(0.5, "c")]}, THRESHOLDS, **kwargs)


def test_domain_is_in_the_block_but_not_in_the_quality_value():
    assert quality_value({"coherence": Score(0.4, ""), "domain": Score(0.9, "", extra={"domain": "law"})}) == 0.4
    block = quality_block({"domain": FINANCE}, decide({"domain": FINANCE}, {}, review_domains=REVIEW))
    assert block["domain"] == "finance" and block["codes"] == ["domain:finance"] and block["decision"] == "flag"


def test_reject_rates_need_labels_for_the_false_reject_rate():
    from instructune.data.record import Record
    from instructune.recipes.quality import reject_rates

    recs = [Record(id=str(i), instruction="i", response="r", meta=m)
            for i, m in enumerate([{"label": "clean"}, {"label": "clean"}, {"label": "damaged"}, {}])]
    blocks = [{"decision": d} for d in ("reject", "accept", "reject", "flag")]
    assert reject_rates(recs, blocks) == {"share": 0.5, "labelled_clean": 2, "false_reject_rate": 0.5}
    assert reject_rates(recs[3:], blocks[3:]) == {"share": 0.0, "labelled_clean": 0, "false_reject_rate": None}
