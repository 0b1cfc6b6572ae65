"""Self-Refine with the scripted generator: early stops, keeping the best, the history in meta,
batched requests and their counts; the prompts and reply parsing; a tiny-model smoke run."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from instructune.data.record import Record
from instructune.synth.refine import MAX_ROUNDS, refine_records
from instructune.synth.refine_prompts import (NO_ISSUES, copies_feedback, critique_prompt, parse_revision,
                                              revise_prompt, says_nothing_to_fix)

sys.path.insert(0, str(Path(__file__).parent))
from scripted_generator import ScriptedGenerator  # noqa: E402

CRITIQUE, REVISE = "Review the response.", "Write an improved response"


def current(prompt: str) -> str:
    """The response a refine prompt shows."""
    return re.search(r"Response: (.*?)\n\n(?:Review|Feedback)", prompt, re.S).group(1)


def scripted(chain: dict[str, str], fine: set[str] = frozenset()) -> ScriptedGenerator:
    """Critiques: NO ISSUES for responses in `fine`, else a problem; revisions follow `chain`."""
    return ScriptedGenerator([
        (CRITIQUE, lambda p: NO_ISSUES if current(p) in fine else f"Too short: {current(p)}"),
        (REVISE, lambda p: f"Improved response: {chain[current(p)]}"),
    ])


def by_text(values: dict[str, float], calls: list[list[str]] | None = None):
    """A score_fn reading each response's score from `values` (and logging what it was given)."""
    def score_fn(records: list[Record]) -> list[float]:
        if calls is not None:
            calls.append([r.response for r in records])
        return [values[r.response] for r in records]
    return score_fn


def rec(rid: str, response: str, context: str = "") -> Record:
    return Record(id=rid, instruction=f"Task {rid}.", response=response, context=context, meta={"keep": rid})


def test_stops_early_when_the_critique_finds_nothing():
    gen = scripted({"a0": "a1", "a1": "a2"}, fine={"b0"})
    out, stats = refine_records([rec("a", "a0"), rec("b", "b0")], gen, rounds=3,
                                score_fn=by_text({"a0": 0.2, "a1": 0.5, "a2": 0.4, "b0": 0.9}), max_new_tokens=16)
    b = out[1].meta["refine"]
    assert out[1].response == "b0" and b["stopped"] == "no_issues" and b["requests"] == 1
    assert b["rounds"] == [{"round": 1, "critique": NO_ISSUES, "revision": None, "score": None, "kept": False}]
    assert not any(p.startswith("Here is a task, a response") and "b0" in p for p in gen.prompts)  # never revised
    assert sum("Response: b0" in p for p in gen.prompts) == 1 and stats.stopped == {"no_gain": 1, "no_issues": 1}


def test_keeps_the_best_and_stops_when_the_score_stops_improving():
    calls: list[list[str]] = []
    gen = scripted({"a0": "a1", "a1": "a2", "b0": "b1", "b1": "b2", "b2": "b3"})
    scores = {"a0": 0.4, "a1": 0.6, "a2": 0.55, "b0": 0.1, "b1": 0.2, "b2": 0.3, "b3": 0.4}
    records = [rec("a", "a0", context="ctx"), rec("b", "b0")]
    out, stats = refine_records(records, gen, rounds=3, score_fn=by_text(scores, calls))
    a, b = out[0].meta["refine"], out[1].meta["refine"]
    assert out[0].response == "a1" and a["stopped"] == "no_gain" and a["score"] == 0.6 and a["draft_score"] == 0.4
    assert [(h["revision"], h["score"], h["kept"]) for h in a["rounds"]] == [("a1", 0.6, True), ("a2", 0.55, False)]
    assert a["rounds"][0]["critique"] == "Too short: a0" and a["draft"] == "a0"
    assert out[1].response == "b3" and b["stopped"] == "rounds" and len(b["rounds"]) == 3
    assert out[0].meta["keep"] == "a" and out[0].context == "ctx"  # the rest of the record is kept
    assert records[0].response == "a0" and "refine" not in records[0].meta  # inputs untouched
    # score_fn always sees the whole set, this round's revisions in place.
    assert calls == [["a0", "b0"], ["a1", "b1"], ["a2", "b2"], ["a1", "b3"]]
    assert (stats.improved, stats.stopped) == (2, {"no_gain": 1, "rounds": 1})
    assert (stats.mean_score_before, stats.mean_score_after) == (pytest.approx(0.25), pytest.approx(0.5))


def test_requests_are_batched_per_round_and_counted():
    gen = scripted({"a0": "a1", "b0": "b1", "c0": "c1", "a1": "a2"}, fine={"c0", "b1"})
    scores = {"a0": 0.1, "a1": 0.2, "a2": 0.3, "b0": 0.5, "b1": 0.6, "c0": 0.9}
    out, stats = refine_records([rec("a", "a0"), rec("b", "b0"), rec("c", "c0")], gen, rounds=2,
                                score_fn=by_text(scores))
    # round 1: 3 critiques (c fine), 2 revisions; round 2: 2 critiques (b1 fine), 1 revision.
    assert (stats.critique_requests, stats.revision_requests, stats.requests, stats.rounds_run) == (5, 3, 8, 2)
    assert gen.calls == 4 and gen.stats.requests == stats.requests  # one chat call per stage per round
    assert [o.meta["refine"]["requests"] for o in out] == [4, 3, 1]
    assert stats.to_dict()["requests"] == 8 and stats.stopped == {"rounds": 1, "no_issues": 2}


def test_an_empty_revision_stops_the_record():
    gen = ScriptedGenerator([(CRITIQUE, "Wrong."), (REVISE, "Improved response:   ")])
    out, stats = refine_records([rec("a", "a0")], gen, rounds=2, score_fn=lambda rs: [0.5] * len(rs))
    assert out[0].response == "a0" and out[0].meta["refine"]["stopped"] == "empty_revision"
    assert out[0].meta["refine"]["rounds"][0]["revision"] == "" and stats.requests == 2


def test_a_copied_back_revision_stops_the_record():
    gen = ScriptedGenerator([(CRITIQUE, "Wrong."), (REVISE, "Improved response: a0 \n")])
    out, stats = refine_records([rec("a", "a0")], gen, rounds=2, score_fn=lambda rs: [0.5] * len(rs))
    h = out[0].meta["refine"]
    assert h["stopped"] == "unchanged" and h["rounds"][0]["revision"] == "a0" and h["rounds"][0]["score"] is None
    assert stats.requests == 2 and stats.improved == 0


def test_a_revision_that_pastes_the_critique_in_stops_the_record():
    critique = "The task is to extract all the dates mentioned in the text, separated by commas."
    gen = ScriptedGenerator([(CRITIQUE, critique), (REVISE, f"Improved response: 3 March 2021.\n\n{critique}")])
    out, _ = refine_records([rec("a", "a0")], gen, rounds=1, score_fn=lambda rs: [len(r.response) for r in rs])
    assert out[0].response == "a0" and out[0].meta["refine"]["stopped"] == "copied_feedback"


def test_copies_feedback():
    critique = "The list misses the third fruit, which the task asks for, so add one more fruit."
    assert copies_feedback("Apple, pear. The list misses the third fruit, which the task asks for.", critique, "x")
    assert not copies_feedback("Apple, pear and plum.", critique, "Apple, pear.")
    # Words the response already had are not a copy of the critique.
    quoted = "the list misses the third fruit which the task asks for"
    assert not copies_feedback(f"Note: {quoted}. Plum.", critique, f"Note: {quoted}.")
    # A fix the critique quotes may be taken over word for word.
    fix = "Water boils at 100 degrees Celsius at sea level, not 101."
    assert not copies_feedback(fix, f'Wrong number. Say "{fix}" instead.', "Water boils at 101 degrees.")
    assert copies_feedback(fix, f"Wrong number. Say {fix}", "Water boils at 101 degrees.")


def test_min_gain_and_zero_rounds():
    gen = scripted({"a0": "a1"})
    out, _ = refine_records([rec("a", "a0")], gen, rounds=1, score_fn=by_text({"a0": 0.5, "a1": 0.55}), min_gain=0.1)
    assert out[0].response == "a0" and out[0].meta["refine"]["stopped"] == "no_gain"
    out, _ = refine_records([rec("a", "a0")], gen, rounds=1, score_fn=by_text({"a0": 0.5, "a1": 0.505}))
    assert out[0].response == "a0"  # the default min_gain (0.01) ignores a gain of 0.005
    out, stats = refine_records([rec("a", "a0")], gen, rounds=0, score_fn=by_text({"a0": 0.5}))
    assert out[0].meta["refine"]["rounds"] == [] and stats.requests == 0 and stats.rounds_run == 0


def test_score_fn_must_score_every_record():
    with pytest.raises(ValueError, match="score_fn returned 1 scores for 2 records"):
        refine_records([rec("a", "a0"), rec("b", "b0")], scripted({}), rounds=1, score_fn=lambda rs: [0.5])


@pytest.mark.parametrize("kwargs, message", [
    ({"rounds": -1}, rf"refine.rounds: got -1; expected an integer in \[0, {MAX_ROUNDS}\]"),
    ({"rounds": MAX_ROUNDS + 1}, r"refine.rounds: got 11"),
    ({"rounds": 1.5}, r"refine.rounds: got 1.5"),
    ({"max_new_tokens": 0}, r"refine.max_new_tokens: got 0; expected an integer >= 1"),
    ({"temperature": 2.5}, r"refine.temperature: got 2.5; expected a value in \[0, 2\]"),
    ({"min_gain": -0.1}, r"refine.min_gain: got -0.1; expected a value in \[0, 1\]"),
    ({"min_gain": True}, r"refine.min_gain: got True"),
    ({"seed": -1}, r"refine.seed: got -1; expected an integer >= 0"),
])
def test_options_are_range_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        refine_records([rec("a", "a0")], scripted({}), **{"rounds": 1, "score_fn": lambda rs: [0.5], **kwargs})


def test_prompts_show_the_task_input_response_and_feedback():
    c = critique_prompt("Summarize.", "Long text.", "Short.")
    assert "Task: Summarize.\n\nInput: Long text.\n\nResponse: Short.\n\n" in c and c.endswith(NO_ISSUES)
    assert "Input:" not in critique_prompt("Name a colour.", "", "Blue.")
    r = revise_prompt("Summarize.", "", "Short.", "  Misses the point.\n")
    assert "Response: Short.\n\nFeedback: Misses the point.\n\n" in r and r.endswith('"Improved response:".')


@pytest.mark.parametrize("critique, nothing", [
    ("NO ISSUES", True), ("No issues.", True), ("**No issues found.**", True), ("None.", True),
    ("Nothing to fix here.", True), ("The response is correct and complete.", True),
    ("No problems with grammar, but the answer is wrong.", False),
    ("No issues. However, the list has only two items.", True),  # the first sentence decides
    ("The answer misses the third fruit.", False), ("", False), ("No, the sum is 41.", False),
])
def test_says_nothing_to_fix(critique, nothing):
    assert says_nothing_to_fix(critique) is nothing


@pytest.mark.parametrize("reply, text", [
    ("Improved response: Paris.", "Paris."), ("**Improved Response:**\nParis is the capital.", "Paris is the capital."),
    ("Here is the revised response: 42", "42"), ("Paris.", "Paris."), ("Improved response:", ""),
    ("Lisbon, Madrid.\n\nThe improved response:\n\nLisbon, Madrid.", "Lisbon, Madrid."),
    ("A response: the improved response: x", "A response: the improved response: x"),  # only at a line start
    ("Sure.\nImproved response: Paris.", "Paris."),  # a preamble is dropped
    ("Improved response: Paris.\n\nImproved response: Paris.", "Paris."),  # a repeat is cut
    ("Paris.\n\nFeedback: The task is correct.", "Paris."), ("Paris.\nTask: Name a city.", "Paris."),
])
def test_parse_revision(reply, text):
    assert parse_revision(reply) == text


def test_tiny_model_smoke(tiny_model):
    from instructune.synth.backends import LocalGenerator

    gen = LocalGenerator.load(tiny_model, batch_size=2)
    records = [rec("a", "Blue."), rec("b", "Four.")]
    out, stats = refine_records(records, gen, rounds=1, score_fn=lambda rs: [len(r.response) / 100 for r in rs],
                                max_new_tokens=6)
    assert stats.critique_requests == 2 and gen.stats.requests == stats.requests <= 4
    assert all(o.meta["refine"]["rounds"] and o.meta["refine"]["draft"] == r.response for o, r in zip(out, records))
