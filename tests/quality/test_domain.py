"""The domain scorer: keywords, the embedding margin, calibration, and precision/recall floors on
the hand-labelled set (tests/quality/fixtures/domains_labelled.jsonl, held out from domains.yaml)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from quality_records import FIXTURES, rec

from instructune.data.record import Record
from instructune.quality.decide import decide
from instructune.quality.score import ScoringSet
from instructune.quality.scorers import domain

REVIEW = ["finance", "law", "health"]
# The scorer's figures at the default min_confidence (bench/domain_scorer.py prints them), each
# floor one record below: a change that loses a correct tag fails here.
FLOORS = {  # domain: (precision, recall)
    "finance": (0.92, 0.86),   # measured 13/14, 13/15
    "law": (0.86, 0.93),       # measured 15/17, 15/15
    "health": (0.93, 0.93),    # measured 15/16, 15/15
    "needs review": (0.95, 0.97),  # measured 45/47, 45/45
}


def test_keyword_pattern_matches_whole_words_stars_and_phrases():
    p = domain.keyword_pattern(["invest*", "tax return", "401(k)", "lease", "IRA"])
    assert domain.keyword_hits("Investing before my TAX\n RETURN; my 401(k) and my IRA.", p) == [
        "investing", "tax return", "401(k)", "ira"]
    assert domain.keyword_hits("Please release the lease; Mirage; a tax.", p) == ["lease"]
    assert domain.keyword_hits("anything", domain.keyword_pattern([])) == []


def test_shipped_domains_and_calibration():
    groups, cal = domain.load_domains()
    assert [g.name for g in groups] == ["finance", "law", "health", "other"]
    assert domain.domain_names() == REVIEW
    assert all(len(g.anchors) >= 5 for g in groups) and groups[-1].pattern is None
    assert cal.margin > 0 and cal.keywords > 0 and cal.bias < 0  # no evidence → below one half


def test_group_similarity_skips_left_out_anchors_and_margin_is_against_the_best_other():
    sims = np.array([[0.9, 0.5, -np.inf, 0.1, 0.3, 0.2]])  # anchors of groups 0,0,0,1,2,2
    group_of = np.array([0, 0, 0, 1, 2, 2])
    g = domain.group_similarity(sims, group_of, 3)
    np.testing.assert_allclose(g, [[0.7, 0.1, 0.25]])  # top-2 of group 0 is (0.9, 0.5); -inf skipped
    np.testing.assert_allclose(domain.margins(g), [[0.7 - 0.25, 0.1 - 0.7]])


def test_probabilities_grow_with_both_kinds_of_evidence():
    cal = domain.Calibration(bias=-2.0, margin=20.0, keywords=3.0)
    p = domain.probabilities(np.array([0.0, 0.1, 0.0, 0.0]), np.array([0, 0, 1, 9]), cal)
    assert p[0] == pytest.approx(1 / (1 + np.exp(2.0)))
    assert p[1] > p[0] and p[2] > p[0]
    assert p[3] == pytest.approx(domain.probabilities(np.array([0.0]), np.array([3]), cal)[0])  # capped


def test_min_confidence_range(embedder):
    data = ScoringSet([rec("a", "Name a colour.", "Blue.")], embedder=embedder)
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"domain min_confidence: got .*expected a value in \(0, 1\)"):
            domain.score(data, min_confidence=bad)


@pytest.fixture(scope="module")
def labelled(embedder):
    rows = [json.loads(line) for line in (FIXTURES / "domains_labelled.jsonl").read_text().splitlines()]
    records = [Record.from_dict(r) for r in rows]
    return records, [r["domain"] for r in rows], domain.score(ScoringSet(records, embedder=embedder))


def test_labelled_set_is_spread_over_the_domains(labelled):
    _, labels, _ = labelled
    assert {d: labels.count(d) for d in ("finance", "law", "health", "none")} == {
        "finance": 15, "law": 15, "health": 15, "none": 25}


def _prf(gold: list[bool], pred: list[bool]) -> tuple[float, float]:
    tp = sum(g and p for g, p in zip(gold, pred))
    return tp / max(sum(pred), 1), tp / max(sum(gold), 1)


def test_precision_and_recall_floors(labelled):
    records, labels, scores = labelled
    pred = [s.extra["domain"] for s in scores]
    got = {d: _prf([x == d for x in labels], [x == d for x in pred]) for d in REVIEW}
    flagged = [decide({"domain": s}, {}, review_domains=REVIEW).decision == "flag" for s in scores]
    got["needs review"] = _prf([x in REVIEW for x in labels], flagged)
    for name, (p_floor, r_floor) in FLOORS.items():
        assert got[name][0] >= p_floor and got[name][1] >= r_floor, (name, got[name])


def test_near_misses_stay_ordinary(labelled):
    records, _, scores = labelled
    by_text = {r.instruction: s for r, s in zip(records, scores)}
    for text in ("Continue the story in two sentences.",  # the bank of a river
                 "Write a pun-filled menu line for a heart-healthy kale salad.",
                 "In contract bridge, what does it mean to be vulnerable?",
                 "Explain how to make a bank shot in basketball."):
        s = by_text[text]
        assert s.extra["domain"] == "none" and s.codes == () and s.reason.startswith("no high-stakes domain"), text


def test_score_carries_label_probabilities_and_keywords(labelled):
    records, _, scores = labelled
    s = scores[[r.id for r in records].index("dom-health-03")]  # paracetamol and ibuprofen
    assert s.extra["domain"] == "health" and s.codes == ("health",)
    assert s.value == s.extra["confidence"] == s.extra["p"]["health"] >= 0.9
    assert set(s.extra["p"]) == set(REVIEW) and "ibuprofen" in s.extra["keywords"]["health"]
    assert s.reason.startswith("domain health (confidence") and "ibuprofen" in s.reason


def test_needs_an_embedder():
    with pytest.raises(ValueError, match="needs a sentence embedder"):
        domain.score(ScoringSet([rec("a", "Name a colour.", "Blue.")]))
