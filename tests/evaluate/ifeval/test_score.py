"""Accuracies on a tiny hand-made set whose values are known."""

from __future__ import annotations

import pytest

from instructune.evaluate.ifeval import format_summary, make_prompt, score
from instructune.evaluate.intervals import wilson

PROMPTS = [
    make_prompt(1, "Greet me briefly without commas.", ["punctuation:no_comma", "length_constraints:number_words"],
                [{}, {"num_words": 5, "relation": "less than"}]),
    make_prompt(2, "Say hello and end with Bye.", ["startend:end_checker"], [{"end_phrase": "Bye."}]),
    make_prompt(3, "Title a note.", ["detectable_format:title", "punctuation:no_comma"], [{}, {}]),
    make_prompt(4, "Nobody answered this one.", ["punctuation:no_comma"], [{}]),
]
RESPONSES = {
    "Greet me briefly without commas.": "Hi there, friend",        # comma: fails; 3 words: passes
    "Say hello and end with Bye.": "Hello. Bye.\nSent from my phone",  # passes only loose (last line)
    "Title a note.": "<<Note>> no commas at all",                  # passes both
    "A prompt that is not in the set.": "ignored",
}


@pytest.fixture(scope="module")
def scored():
    return score(PROMPTS, RESPONSES)


def test_verdicts_in_prompt_order_without_the_missing_one(scored):
    verdicts, _ = scored
    assert [v.key for v in verdicts] == [1, 2, 3]
    assert [v.follow_instruction_list for v in verdicts] == [(False, True), (False,), (True, True)]
    assert [v.follow_instruction_list_loose for v in verdicts] == [(False, True), (True,), (True, True)]


def test_the_four_accuracies(scored):
    _, s = scored
    got = {k: (s[k]["successes"], s[k]["n"]) for k in
           ("prompt_level_strict", "prompt_level_loose", "instruction_level_strict", "instruction_level_loose")}
    assert got == {"prompt_level_strict": (1, 3), "prompt_level_loose": (2, 3),
                   "instruction_level_strict": (3, 5), "instruction_level_loose": (4, 5)}
    assert s["prompt_level_strict"]["accuracy"] == pytest.approx(1 / 3)
    assert (s["prompt_level_strict"]["lo"], s["prompt_level_strict"]["hi"]) == wilson(1, 3)
    assert s["instruction_level_loose"]["accuracy"] == pytest.approx(0.8)


def test_missing_and_unmatched_are_counted_not_scored(scored):
    _, s = scored
    assert s["prompts"] == 4 and s["scored"] == 3
    assert s["missing_responses"] == {"count": 1, "keys": [4]}
    assert s["unmatched_responses"] == 1


def test_per_instruction_and_per_group(scored):
    _, s = scored
    per = {iid: (e["strict"]["successes"], e["loose"]["successes"], e["strict"]["n"])
           for iid, e in s["per_instruction"].items()}
    assert per == {"length_constraints:number_words": (1, 1, 1), "detectable_format:title": (1, 1, 1),
                   "startend:end_checker": (0, 1, 1), "punctuation:no_comma": (1, 1, 2)}
    assert list(s["per_instruction"]) == ["length_constraints:number_words", "detectable_format:title",
                                          "startend:end_checker", "punctuation:no_comma"]  # registry order
    groups = {g: (e["strict"]["successes"], e["strict"]["n"]) for g, e in s["per_group"].items()}
    assert groups == {"length_constraints": (1, 1), "detectable_format": (1, 1), "startend": (0, 1),
                      "punctuation": (1, 2)}


def test_nothing_scored_gives_no_accuracy():
    verdicts, s = score(PROMPTS[:1], {})
    assert verdicts == [] and s["prompt_level_strict"]["accuracy"] is None
    assert s["missing_responses"]["count"] == 1
    assert "n/a (n=0)" in format_summary(s)


def test_format_summary(scored):
    text = format_summary(scored[1])
    assert "IFEval: 4 prompts, 3 scored, 1 without a response (not scored), 1 responses to unknown prompts" in text
    assert "prompt-level strict       0.333 [0.06, 0.79] (n=3)" in text
    assert "startend:end_checker" in text and "0.000 / 1.000 (n=1)" in text
    assert "startend:end_checker" not in format_summary(scored[1], per_instruction=False)


def test_worker_processes_give_the_same_verdicts_in_order():
    from instructune.evaluate.ifeval import load_prompts
    from instructune.evaluate.ifeval.check import CHUNK

    shipped = load_prompts()
    replies = ["Le marché est plein de couleurs.", "MY ANSWER IS YES.", "*a* and *b*\n\n***\nP.S. fine",
               '"the end."', "Sure:\nEl mercado está lleno de colores y de voces.\nThanks!"]
    responses = {p.prompt: replies[i % len(replies)] + f" {i}" for i, p in enumerate(shipped)}
    assert len(responses) >= 2 * CHUNK  # enough for the workers to be used
    alone, summary = score(shipped, responses)
    spread, summary2 = score(shipped, responses, workers=2)
    assert spread == alone and summary2 == summary
