"""Wilson and bootstrap intervals against hand-checkable and textbook values."""

from __future__ import annotations

import numpy as np
import pytest

from instructune.evaluate import intervals
from instructune.evaluate.intervals import format_ci, mean_ci_bootstrap, paired_bootstrap, wilson


def test_wilson_all_or_nothing():
    # 0/10: hi = (z²/n) / (1 + z²/n) = 0.38416 / 1.38416; 10/10 mirrors it.
    assert wilson(0, 10) == pytest.approx((0.0, 0.38416 / 1.38416))
    assert wilson(10, 10) == pytest.approx((1 - 0.38416 / 1.38416, 1.0))


@pytest.mark.parametrize("successes, n, lo, hi", [
    # Newcombe (1998), Stat Med 17:857, Table I, method 3 (Wilson score, no continuity correction).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_textbook_values(successes, n, lo, hi):
    assert wilson(successes, n) == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_edges():
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes must be in"):
        wilson(11, 10)
    narrow, wide = wilson(50, 100, z=1.0), wilson(50, 100, z=2.576)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]


def test_bootstrap_of_two_points():
    # Resample means of [0, 1] are 0, 0.5, 1 with probability 1/4, 1/2, 1/4: the 2.5% and 97.5%
    # percentiles are 0 and 1.
    ci = mean_ci_bootstrap([0.0, 1.0], seed=0, n_boot=4000)
    assert ci == {"mean": 0.5, "lo": 0.0, "hi": 1.0, "n": 2}


def test_bootstrap_is_seeded():
    values = np.random.default_rng(1).random(50)
    assert mean_ci_bootstrap(values, seed=3) == mean_ci_bootstrap(values, seed=3)
    assert mean_ci_bootstrap(values, seed=3) != mean_ci_bootstrap(values, seed=4)


def test_bootstrap_blocks_do_not_change_the_result(monkeypatch):
    values = np.random.default_rng(2).random(37)
    whole = mean_ci_bootstrap(values, seed=5, n_boot=500)
    monkeypatch.setattr(intervals, "_BLOCK_CELLS", 37 * 7)  # 7 resamples per block
    assert mean_ci_bootstrap(values, seed=5, n_boot=500) == whole


def test_paired_constant_difference_is_exact():
    got = paired_bootstrap([1, 1, 0, 1], [0, 0, -1, 0], seed=0)
    assert got == {"diff": 1.0, "lo": 1.0, "hi": 1.0, "n": 4, "significant": True}


def test_paired_identical_systems_are_not_significant():
    a = [1, 0, 1, 1, 0, 0, 1, 0]
    got = paired_bootstrap(a, a, seed=0)
    assert got == {"diff": 0.0, "lo": 0.0, "hi": 0.0, "n": 8, "significant": False}


def test_paired_noisy_small_difference_is_not_significant():
    a = [1, 0, 1, 0, 1, 0, 1, 0, 1, 1]
    b = [0, 1, 1, 0, 1, 0, 1, 0, 1, 0]  # one more win for a than for b: diff 0.1
    got = paired_bootstrap(a, b, seed=0)
    assert got["diff"] == pytest.approx(0.1)
    assert got["lo"] < 0 < got["hi"] and not got["significant"]


def test_paired_needs_equal_lengths():
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([1, 0], [1], seed=0)
    with pytest.raises(ValueError, match="non-empty"):
        paired_bootstrap([], [], seed=0)


def test_format_ci():
    assert format_ci(0.6123, 0.5512, 0.6688, 120) == "0.612 [0.55, 0.67] (n=120)"
