"""Generation metrics with hand-computed golden values."""

from __future__ import annotations

import pytest

from instructune.evaluate.metrics import exact_match, final_answer, normalize, rouge_l


def test_rouge_l_golden():
    # LCS("the cat sat on the mat", "the cat is on the mat") = "the cat on the mat" (5 words)
    assert rouge_l("the cat is on the mat", "the cat sat on the mat") == pytest.approx(5 / 6)
    assert rouge_l("", "anything") == 0.0
    assert rouge_l("Same words", "same words!") == 1.0
    # Per-character on Chinese: LCS 6 of 6 and 7 characters -> F1 12/13 (rouge-score: 0.0).
    assert rouge_l("这是一个测试", "这是另一个测试") == pytest.approx(12 / 13)
    assert rouge_l("Größe", "größe") == 1.0


def test_exact_match_normalises():
    assert normalize("The  Answer, is: 42!") == "answer is 42"
    assert exact_match("Positive.", "positive") == 1.0
    assert exact_match("positive review", "positive") == 0.0


def test_final_answer_after_separator():
    assert final_answer("3 + 4 = 7.\nAnswer: 7", "\nAnswer: ") == "7"
    assert final_answer("no separator here", "\nAnswer: ") == "no separator here"
