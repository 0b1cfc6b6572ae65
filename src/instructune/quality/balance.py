"""Complexity balancing: keep easy records from dominating the accepted set.

Each complexity bin may hold at most `max_share` of the accepted records. A bin over its
share defers its lowest-quality accepted records (to `deferred.jsonl`: nothing is wrong with
them, so they do not crowd the review queue of records a scorer doubts; nothing is lost) until

    n_bin <= floor(max_share * n_others / (1 - max_share))      (i.e. n_bin / n_total <= max_share)

Shrinking one bin raises the others' shares, so bins are revisited until none is over. At most
`max_move` of the accepted set is moved in all, so a set that is nearly all easy keeps a core.

    moved = balance(bins, quality, accepted, max_share={"easy": 0.5}, max_move=0.5)
"""

from __future__ import annotations

import math
from collections import Counter


def balance(bins: list[str], quality: list[float], accepted: list[int], max_share: dict[str, float],
            max_move: float = 0.5) -> dict[int, str]:
    """Which accepted records to defer, and why.

    Args:
        bins: complexity bin of every record (indexed like `quality`).
        quality: overall quality of every record; the lowest go first (ties: the later record).
        accepted: indices of the accepted records.
        max_share: bin → the most of the accepted set it may hold, in (0, 1]; bins not listed
            (or at 1.0) are not capped.
        max_move: the most of the accepted set moved in all, in [0, 1].
    Returns:
        {record index: reason} for each moved record.
    """
    kept = {b: sorted((i for i in accepted if bins[i] == b), key=lambda i: (quality[i], -i))
            for b in set(bins[i] for i in accepted)}
    budget = math.floor(max_move * len(accepted))
    moved: dict[int, str] = {}
    changed = True
    while changed and budget > 0:
        changed = False
        for b, cap in max_share.items():
            if cap >= 1.0 or not kept.get(b):
                continue
            total = sum(len(v) for v in kept.values())
            others = total - len(kept[b])
            allowed = math.floor(cap * others / (1 - cap) + 1e-9) if cap > 0 else 0
            n = min(len(kept[b]) - allowed, budget)
            if n <= 0:
                continue
            share = len(kept[b]) / total
            why = (f"balance: bin '{b}' held {share:.0%} of the accepted records, over its max share "
                   f"{cap:.0%}; deferred its lowest-quality records (deferred.jsonl)")
            for i in kept[b][:n]:
                moved[i] = why
            kept[b] = kept[b][n:]
            budget -= n
            changed = True
    return moved


def bin_counts(bins: list[str], indices: list[int], order: list[str]) -> dict[str, int]:
    """{bin: count} over `indices`, in `order` (bins with no record included as 0)."""
    c = Counter(bins[i] for i in indices)
    return {b: c.get(b, 0) for b in order}
