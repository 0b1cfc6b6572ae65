"""Holm–Bonferroni against a hand computation."""

import pytest

from instructune.evaluate.holm import holm


def test_holm_matches_a_hand_computation():
    # sorted: a 0.01 (×4 = 0.04), d 0.02 (×3 = 0.06), c 0.03 (×2 = 0.06), b 0.04 (×1 = 0.04 → 0.06, the
    # running maximum keeps the order)
    got = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.02})
    assert got == {"a": (pytest.approx(0.04), 4), "d": (pytest.approx(0.06), 3),
                   "c": (pytest.approx(0.06), 2), "b": (pytest.approx(0.06), 1)}


def test_adjusted_p_values_are_capped_at_one_and_a_single_test_is_unchanged():
    assert holm({"x": 0.3, "y": 0.6}) == {"x": (pytest.approx(0.6), 2), "y": (pytest.approx(0.6), 1)}
    assert holm({"only": 0.03}) == {"only": (0.03, 1)}
    assert holm({"x": 0.7, "y": 0.9})["x"] == (1.0, 2)


def test_a_p_value_outside_0_1_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm({"x": 1.5})
