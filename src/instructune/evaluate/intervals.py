"""Confidence intervals for evaluation scores: Wilson for proportions, seeded bootstrap for means
and for paired differences between two systems scored on the same items.

    lo, hi = wilson(61, 100)                                 # (0.512, 0.700)
    format_ci(0.61, lo, hi, 100)                             # "0.610 [0.51, 0.70] (n=100)"
    paired_bootstrap(new_scores, old_scores, seed=0)         # {"diff", "lo", "hi", "n", "significant"}
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Bootstrap resamples are drawn in blocks of at most this many indices, so 2,000 resamples of
# 100,000 items never hold more than ~32 MB of indices at once.
_BLOCK_CELLS = 4_000_000


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (Newcombe 1998, method 3; no continuity correction).

    Args:
        successes: items that passed, 0 ≤ successes ≤ n.
        n: items in all; with n = 0 nothing is known and the interval is (0.0, 1.0).
        z: the normal quantile; 1.96 gives 95%.

    Returns:
        (lo, hi), clipped to [0, 1].

    Raises:
        ValueError: successes outside [0, n].
    """
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n]; got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _bootstrap_means(values: np.ndarray, seed: int, n_boot: int) -> np.ndarray:
    """(n_boot,) means of resamples (with replacement) of the 1-D `values`."""
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    rows = max(1, _BLOCK_CELLS // n)
    means = np.empty(n_boot)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))  # (rows, n)
        means[start:stop] = values[idx].mean(axis=1)
    return means


def _as_values(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers; got shape {arr.shape}")
    return arr


def mean_ci_bootstrap(values: Sequence[float] | np.ndarray, seed: int, n_boot: int = 2000,
                      level: float = 0.95) -> dict[str, float]:
    """Mean with a percentile bootstrap interval.

    Args:
        values: per-item scores (e.g. 0/1 verdicts or ROUGE-L values).
        seed: seed of the resampling; the same seed gives the same interval.
        n_boot: number of resamples.
        level: coverage of the interval.

    Returns:
        {"mean", "lo", "hi", "n"}.
    """
    arr = _as_values(values, "values")
    means = _bootstrap_means(arr, seed, n_boot)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return {"mean": float(arr.mean()), "lo": float(lo), "hi": float(hi), "n": int(arr.shape[0])}


def paired_bootstrap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, seed: int,
                     n_boot: int = 2000, level: float = 0.95) -> dict[str, float | int | bool]:
    """Difference of means of `a` and `b` scored on the same items, with a paired bootstrap
    percentile interval (items are resampled together, so item difficulty cancels).

    Args:
        a: per-item scores of one system.
        b: per-item scores of the other, item i of `b` being item i of `a`.
        seed: seed of the resampling.
        n_boot: number of resamples.
        level: coverage of the interval.

    Returns:
        {"diff": mean(a) - mean(b), "lo", "hi", "n", "significant"}; significant is True only when
        the interval excludes 0.

    Raises:
        ValueError: `a` and `b` differ in length, or are empty.
    """
    x, y = _as_values(a, "a"), _as_values(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"paired scores must have the same length; got {x.shape[0]} and {y.shape[0]}")
    ci = mean_ci_bootstrap(x - y, seed, n_boot, level)
    return {"diff": ci["mean"], "lo": ci["lo"], "hi": ci["hi"], "n": ci["n"],
            "significant": bool(ci["lo"] > 0 or ci["hi"] < 0)}


def format_ci(value: float, lo: float, hi: float, n: int) -> str:
    """One line for a report: "0.612 [0.55, 0.67] (n=120)".

    Args:
        value: the point estimate.
        lo: lower bound.
        hi: upper bound.
        n: items behind the estimate.

    Returns:
        The value to 3 decimals, the bounds to 2.
    """
    return f"{value:.3f} [{lo:.2f}, {hi:.2f}] (n={n})"
