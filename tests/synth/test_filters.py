"""Each filter and elimination check, with the reason it names; the ROUGE pool against brute force."""

from __future__ import annotations

import random

import pytest
from rouge_score import rouge_scorer

from instructune.synth.filters import (InstructionFilter, Reject, RougePool, blocklist_check, echoed_request_check,
                                       blocklist_pattern, copied_prompt_check, length_check,
                                       no_new_info_check, refusal_check, response_check,
                                       rouge_l_tokens, start_check, tokens)

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
WORDS = "write a short poem story about the sea cat dog list three five ideas for weekend trip city".split()


def test_rouge_l_matches_rouge_score():
    pairs = [("Write a poem about the sea.", "Write a short poem about the blue sea."),
             ("List three ideas.", "Name five cities."), ("a b c d", "a c d e"), ("", "x")]
    for a, b in pairs:
        assert rouge_l_tokens(tokens(a), tokens(b)) == pytest.approx(SCORER.score(b, a)["rougeL"].fmeasure, abs=1e-12)


def test_rouge_pool_equals_brute_force():
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(3, 9))) for _ in range(300)]
    pool = RougePool(0.7)
    pool.extend(texts[:200])
    hits = 0
    for cand in texts[200:]:
        scores = [SCORER.score(t, cand)["rougeL"].fmeasure for t in texts[:200]]
        best = max(scores)
        hit = pool.best_above(cand)
        if best > 0.7:
            hits += 1
            assert hit is not None and hit[0] == pytest.approx(best) and hit[1] in texts[:200]
        else:
            assert hit is None
    assert hits == 6  # the case is not vacuous


def test_rouge_pool_threshold_is_strict():
    pool = RougePool(0.5)
    pool.add("a b c d")
    assert pool.best_above("a b x y") is None  # exactly 0.5 is not above 0.5
    assert pool.best_above("a b c y") == (0.75, "a b c d")


def test_length_start_and_blocklist():
    assert length_check("Name it.", 3, 5) == Reject("too_short", "2 words < 3")
    assert length_check("one two three four five six", 3, 5) == Reject("too_long", "6 words > 5")
    assert length_check("Name a colour.", 3, 5) is None
    assert start_check("#tag the tweet") == Reject("bad_start", "#tag the t")
    assert start_check("¿Qué hora es?").reason == "bad_start"
    assert start_check("3 ways to cook rice") is None
    pat = blocklist_pattern(["draw", "go to", "image"])
    assert blocklist_check("Please Draw a cat.", pat) == Reject("blocklist", "draw")
    assert blocklist_check("Go  to the website and read.", pat) == Reject("blocklist", "go  to")
    assert blocklist_check("Describe the imagery in the poem.", pat) is None  # whole words only
    assert blocklist_check("anything", blocklist_pattern([])) is None


def test_instruction_filter_order_and_pool():
    f = InstructionFilter(0.7, ["image"], min_words=3, max_words=12)
    f.pool.add("Write a short poem about the sea.")
    assert f.check("Hi.").reason == "too_short"
    assert f.check("-- write a story about a cat").reason == "bad_start"
    assert f.check("Describe this image in detail please.").reason == "blocklist"
    r = f.check("Write a short poem about the blue sea.")
    assert r == Reject("rouge", "0.933 vs 'Write a short poem about the sea.'")
    assert f.check("List three ideas for a rainy weekend.") is None


def test_echoed_request():
    request = "Make this task harder with one change: add a limit.\n\nOriginal task: Write a poem about the sea."
    parent = "Write a poem about the sea."
    assert echoed_request_check("Write a poem about the sea in 8 lines.", request, parent) is None  # parent's words
    assert echoed_request_check("Make this task harder: a sea poem.", request, parent) == \
        Reject("copied_prompt", "make this task harder")
    assert echoed_request_check("Make this task short.", request, parent) is None  # 3 words only
    # runs are taken within lines: the end of an instruction and the start of its context are no run
    req = "Sort the mail harder with one change."
    assert echoed_request_check("Sort the mail\nharder with one", req, "x") is None
    assert echoed_request_check("Sort the mail harder with one", req, "x") == Reject("copied_prompt", "mail harder with one")


def test_copied_prompt_and_refusal():
    assert copied_prompt_check("#Rewritten Prompt#: write more") == Reject("copied_prompt", "#rewritten prompt#")
    assert copied_prompt_check("Make the given prompt harder.") == Reject("copied_prompt", "given prompt")
    assert copied_prompt_check("Name: *New Prompt* Email: *New Prompt*") == Reject("copied_prompt", "new prompt")
    assert copied_prompt_check("Original task: Write a poem.") == Reject("copied_prompt", "original task")
    assert copied_prompt_check("Write a poem. Harder task: a sonnet.") == Reject("copied_prompt", "harder task")
    assert copied_prompt_check("Write a poem.") is None
    assert refusal_check("I'm sorry, but I can't help with that.") == Reject("refusal", "i'm sorry")
    assert refusal_check("As an AI, I have no opinions.") == Reject("refusal", "as an ai")
    long_answer = "I cannot stress this enough: " + "water matters " * 50
    assert refusal_check(long_answer) is None  # a long answer that merely contains a phrase
    assert refusal_check("Paris is the capital.") is None


def test_no_new_info():
    parent = "Write a poem about the sea."
    assert no_new_info_check(parent, "Write a poem about the sea.", 0.95, 2) == Reject("no_new_info", "0 new words")
    assert no_new_info_check(parent, "Write a poem.", 0.95, 2) == Reject("no_new_info", "0 new words")
    assert no_new_info_check(parent, "Write a long poem about the sea.", 0.95, 2) == Reject("no_new_info", "1 new words")
    near = "Write a poem about the sea " + "and " * 1 + "waves tides"
    r = no_new_info_check("Write a poem about the sea and waves and tides and the moon", near, 0.7, 0)
    assert r.reason == "no_new_info" and r.detail.startswith("ROUGE-L")
    assert no_new_info_check(parent, "Write a poem about the sea in exactly eight rhyming lines.", 0.95, 2) is None


def test_response_checks():
    assert response_check("Yes.", 2) == Reject("response_too_short", "1 words < 2")
    assert response_check("It is the of and.", 2) == Reject("response_nonsense", "no content words")
    assert response_check("!!! ??? ...", 2) == Reject("response_nonsense", "no content words")
    assert response_check("sea " * 30, 2) == Reject("response_nonsense", "1 distinct of 30 tokens")
    assert response_check("The sea is salty because rivers carry dissolved minerals into it.", 2) is None
