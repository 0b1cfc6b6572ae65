"""The damage transforms of the quality benchmark: exact, seeded outputs on tiny records."""

from __future__ import annotations

import pytest

from instructune.data.record import Record
from instructune.quality.damage import DAMAGES, FOREIGN, REFUSALS, damage_all, make_damage, task_kind

RECORDS = [
    Record(id="a", instruction="What is the name of this city?",
           context="Paris is big. It has a river. The river is the Seine.",
           response="The city is Paris, which has 2 rivers and many old bridges over the water."),
    Record(id="b", instruction="List three colors.", response="- red\n- green\n- blue"),
    Record(id="c", instruction="Write a tweet about rain.", response="Rain again! Perfect day for tea."),
    Record(id="d", instruction="Tom has 3 apples and buys 4. How many?", response="7", rationale="3 + 4 = 7."),
    Record(id="e", instruction="Is the sky green?", response="The sky is not green."),
]


def responses(damage: str, seed: int = 0) -> dict[str, str]:
    return {cid: r.response for cid, r in make_damage(RECORDS, damage, seed=seed)}


def test_task_kinds():
    assert [task_kind(r) for r in RECORDS] == ["other", "lists", "creative", "arithmetic", "other"]
    # A P3 prompt carries a whole review: a word of it ("title") is not a creative ask.
    review = Record(id="p", instruction="Title: Great stockings! Review: I wear them daily. Is this review positive?",
                    response="Yes")
    assert task_kind(review) == "other"


def test_shuffled_takes_a_response_of_the_same_kind():
    assert responses("shuffled") == {"a": "The sky is not green.",
                                     "e": "The city is Paris, which has 2 rivers and many old bridges over the water."}


def test_off_task_takes_a_response_of_another_kind_with_its_rationale():
    out = dict(make_damage(RECORDS, "off_task", seed=0))
    assert out["a"].response == "7" and out["a"].rationale == "3 + 4 = 7."
    assert out["b"].response == "Rain again! Perfect day for tea."
    kinds = {r.id: task_kind(r) for r in RECORDS}
    assert all(kinds[r.meta["damage"]["detail"].split()[-1]] != kinds[cid] for cid, r in out.items())


def test_truncated_cuts_long_responses_mid_sentence_only():
    assert responses("truncated") == {"a": "The city is Paris"}


def test_context_copy_copies_a_sentence_of_the_context():
    assert responses("context_copy") == {"a": "Paris is big."}
    items = Record(id="n", instruction="What is the name of this city.", context="23, 12, 17, 23, 23", response="Rome")
    assert make_damage([items], "context_copy", seed=0)[0][1].response in {"23", "12", "17"}


def test_repetition_loops_a_phrase_or_a_sentence():
    out = responses("repetition")
    assert out["d"] == "7 7 7 7 7 7 7 7 7 7 7 7"
    assert out["e"] == " ".join(["The sky is not green."] * 12)
    assert out["c"] == " ".join(["Rain again! Perfect day"] * 9)  # the phrase, then 8 loops


def test_wrong_language_refusal_and_contradiction():
    assert responses("wrong_language")["a"] == FOREIGN[1]
    assert set(responses("refusal").values()) <= set(REFUSALS)
    assert responses("contradiction") == {
        "a": "The city is Paris, which has 4 rivers and many old bridges over the water.",
        "d": "11", "e": "The sky is green."}


def test_damaged_records_say_what_was_done():
    _, r = make_damage(RECORDS, "context_copy", seed=0)[0]
    assert r.id == "a~context_copy" and r.instruction == RECORDS[0].instruction and r.context == RECORDS[0].context
    assert r.meta["damage"] == {"kind": "context_copy", "detail": "copied 'Paris is big.' from the context",
                                "clean_id": "a"}


def test_seeded_and_independent_of_order():
    again = damage_all(list(reversed(RECORDS)), seed=0)
    first = damage_all(RECORDS, seed=0)
    for d in DAMAGES:
        assert {c: r.response for c, r in first[d]} == {c: r.response for c, r in again[d]}
    assert responses("refusal", seed=1) != responses("refusal", seed=0)


def test_unknown_damage():
    with pytest.raises(ValueError, match="unknown damage 'typo'; expected one of shuffled"):
        make_damage(RECORDS, "typo")
