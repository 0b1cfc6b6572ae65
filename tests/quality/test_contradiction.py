"""The contradiction heuristics: numbers against the context, negation flips, antonym swaps."""

from __future__ import annotations

from quality_records import rec

from instructune.quality.score import ScoringSet
from instructune.quality.scorers.contradiction import findings, number_conflicts, score

BRIDGE = "The new bridge over the river is 450 metres long. It took three years to build."


def test_number_against_context():
    assert number_conflicts("The bridge is 540 metres long.", BRIDGE) == [
        "response says 540 metres, the context says 450 metres"]


def test_numbers_that_agree_in_digits_or_words():
    assert number_conflicts("It is 450 metres long and took 3 years.", BRIDGE) == []


def test_new_units_are_not_conflicts():
    assert number_conflicts("About 2 kilometres from the centre.", BRIDGE) == []


def test_negation_flip_against_context():
    got = findings("The museum is not open on Mondays.", "The museum is open on Mondays and Tuesdays.")
    assert [code for code, _ in got] == ["context_negation"]


def test_antonym_swap_against_context():
    got = findings("Sales fell 6 percent this quarter after new stores opened.",
                   "Sales rose 6% this quarter after new stores opened.")
    assert [code for code, _ in got] == ["context_antonym"]


def test_self_contradiction():
    got = findings("The museum is open on Mondays. Tickets cost ten euros. The museum is not open on Mondays.", "")
    assert got == [("self_negation", "the response contradicts itself (negation): 'The museum is open on "
                                     "Mondays.' vs 'The museum is not open on Mondays.'")]


def test_asked_for_a_negation_is_not_a_contradiction():
    assert findings("The museum is not open on Mondays.", "The museum is open on Mondays.",
                    "Negate the sentence.") == []


def test_scores_halve_per_finding():
    data = ScoringSet([
        rec("ok", "How long is the bridge?", "It is 450 metres long.", BRIDGE),
        rec("one", "How long is the bridge?", "It is 540 metres long.", BRIDGE),
        rec("two", "How long is it and how long did it take?", "It is 540 metres long and took 5 years.", BRIDGE),
    ])
    got = [(s.value, s.codes) for s in score(data)]
    assert got == [(1.0, ()), (0.5, ("context_number",)), (0.25, ("context_number",))]


def test_a_number_computed_from_the_context_is_no_conflict():
    # Issue 19: a correct triangle perimeter was flagged against the sides it adds up.
    sides = "A triangle has sides of 3 cm, 4 cm and 5 cm."
    assert number_conflicts("The perimeter is 12 cm.", sides) == []
    assert number_conflicts("The longest side is 17 cm.", sides) == ["response says 17 cm, the context says 3 cm, 4 cm, 5 cm"]


def test_a_worked_solution_and_its_answer():
    steps = "Natalia sold 48 / 2 = 24 clips in May. Altogether she sold 48 + 24 = 72 clips."
    assert findings("72", "", "How many clips?", steps) == []
    assert findings("74", "", "How many clips?", steps) == [
        ("rationale_answer", "the answer says 74, a number the rationale never reaches")]
    assert findings("72", "", "", "She sold 48 + 24 = 73 clips.") == [
        ("rationale_answer", "the answer says 72, a number the rationale never reaches"),
        ("arithmetic", "the rationale says '48 + 24 = 73', but it is 72")]
    assert findings("12", "", "", "5 + 3 + 4 = 12") == []  # a chain is not "3 + 4 = 12"
