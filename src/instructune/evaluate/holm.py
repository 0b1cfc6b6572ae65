"""Holm–Bonferroni: p-values adjusted for a family of tests, with the family-wise error rate
held at α (Holm 1979, "A simple sequentially rejective multiple test procedure").

    holm({"a": 0.01, "b": 0.04, "c": 0.03})
    # {"a": (0.03, 3), "c": (0.06, 2), "b": (0.06, 1)}: (adjusted p, the multiplier at its rank)

Sorted ascending, the j-th smallest of m p-values (j from 1) is multiplied by m − j + 1; the
adjusted p-value is the running maximum of these products (so the order of the p-values is
kept), capped at 1. A hypothesis is rejected at family-wise level α when its adjusted p ≤ α.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def holm(pvalues: Mapping[K, float]) -> dict[K, tuple[float, int]]:
    """Holm-adjusted p-values.

    Args:
        pvalues: test → unadjusted p in [0, 1] (ties are ordered by the test's text, so the result
            does not depend on the mapping's order).
    Returns:
        test → (adjusted p, m − j + 1: the multiplier of its rank j, the factor its level α is
        divided by at that step).
    Raises:
        ValueError: a p-value outside [0, 1].
    """
    bad = {k: p for k, p in pvalues.items() if not 0 <= p <= 1}
    if bad:
        raise ValueError(f"p-values must lie in [0, 1]; got {bad}")
    m = len(pvalues)
    order = sorted(pvalues, key=lambda k: (pvalues[k], str(k)))
    out: dict[K, tuple[float, int]] = {}
    running = 0.0
    for j, key in enumerate(order):
        multiplier = m - j
        running = max(running, min(1.0, multiplier * pvalues[key]))
        out[key] = (running, multiplier)
    return out
