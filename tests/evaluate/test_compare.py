"""Paired base-vs-tuned comparison (evaluate/compare.py)."""

import pytest

from instructune.evaluate.compare import compare, paired_weighted_bootstrap


def test_weighted_difference_is_the_difference_of_token_weighted_means():
    a, b, tokens = [2.0, 8.0], [4.0, 12.0], [2, 8]
    d = paired_weighted_bootstrap(a, b, tokens, seed=0, n_boot=500)
    assert d["diff"] == pytest.approx((10 - 16) / 10) and d["n"] == 2
    assert d["lo"] <= d["diff"] <= d["hi"] and d["significant"]  # every record improved


def test_identical_models_differ_by_nothing():
    same = {"sets.heldout.response_loss": ([1.0, 2.0, 3.0], [1, 2, 3]), "sets.heldout.rouge_l": [0.1, 0.5, 0.9]}
    out = compare(same, same, n_boot=300)
    assert set(out) == {"sets.heldout.response_loss", "sets.heldout.rouge_l"}
    assert all(v["diff"] == 0 and not v["significant"] for v in out.values())


def test_items_of_different_length_or_tokenization_are_not_paired():
    base = {"sets.x.response_loss": ([1.0], [3]), "ifeval.prompt_level_strict": [1.0, 0.0]}
    tuned = {"sets.x.response_loss": ([1.0], [4]), "ifeval.prompt_level_strict": [1.0]}
    assert compare(base, tuned, n_boot=200) == {}
