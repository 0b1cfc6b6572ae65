"""Mixing several inputs into one split: caps per input and weighted shares, drawn
deterministically.

Two ways to mix, as FLAN mixes its tasks:

- examples-proportional (no weights): each input gives all its records, or `max_records` of
  them when it has more (the cap keeps one large input from drowning the others);
- weighted: the plan keeps the size the capped inputs add up to, and gives each input
  `weight / sum(weights)` of it; an input with fewer records than its share is repeated
  (whole passes, then a draw for the rest), one with more is drawn from. A cap still holds:
  an input never gives more than `max_records`, so where a cap binds the realised shares
  differ from the planned ones (both are reported).

Draws use `random.Random(f"{seed}:{i}:{path}")` per input: string seeds hash the same in
every process (no PYTHONHASHSEED), so N processes reading the same config get the same
records, and a record keeps its input's order. A draw depends only on how many records an
input holds (`pick`), so a capped or weighted input is counted in one streamed pass and only
its chosen records are kept in a second (`inputs.load_mixture`).
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

from instructune.data.record import Record


@dataclass
class SourcePlan:
    """One input of a mixture: what it holds, what the plan asks of it and what it gave.

    Attributes:
        path: the input.
        read: records read from it.
        max_records: its cap (0: none).
        weight: its weight, or None (examples-proportional).
        planned: records the plan asks of it (its share of the total, within its cap).
        planned_share: its share of the split by the plan (weight share, or capped size / total).
        taken: records it gave the split.
    """

    path: str
    read: int
    max_records: int
    weight: float | None
    planned: int
    planned_share: float
    taken: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to `weights` that add up to `total` (Hamilton's method)."""
    exact = [total * w / sum(weights) for w in weights]
    out = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (out[i] - exact[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def plan(paths: list[str], sizes: list[int], caps: list[int], weights: list[float | None]) -> list[SourcePlan]:
    """How many records each input gives (see the module doc)."""
    capped = [min(n, c) if c else n for n, c in zip(sizes, caps)]
    total = sum(capped)
    if all(w is None for w in weights):
        counts = capped
        shares = [c / total if total else 0.0 for c in capped]
    else:
        shares = [w / sum(weights) for w in weights]
        counts = [min(k, c) if c else k for k, c in zip(largest_remainder(total, weights), caps)]
    return [SourcePlan(p, n, c, w, k, s) for p, n, c, w, k, s in zip(paths, sizes, caps, weights, counts, shares)]


def source_rng(seed: int, i: int, path: str) -> random.Random:
    """The draw's generator for input `i` (see the module doc: the same in every process)."""
    return random.Random(f"{seed}:{i}:{path}")


def pick(size: int, n: int, rng: random.Random) -> tuple[int, list[int]]:
    """A draw of `n` from `size` records as (whole passes over all of them, sorted indices of
    the rest): it needs only the count, so a reader can keep just the chosen records."""
    if size <= 0 or n <= 0:
        return 0, []
    passes, rest = divmod(n, size)
    return passes, sorted(rng.sample(range(size), rest))


def draw(records: list[Record], n: int, rng: random.Random) -> list[Record]:
    """`n` of `records`, in their order: a seeded subset, or whole passes plus a subset."""
    passes, keep = pick(len(records), n, rng)
    return records * passes + [records[i] for i in keep]


def format_mixture(plans: list[SourcePlan]) -> list[str]:
    """A table of the mixture: per input, records read, cap, weight, planned and realised."""
    total = sum(p.taken for p in plans) or 1
    width = max(len(p.path) for p in plans)
    lines = [f"  {'input':<{width}}  {'read':>7}  {'cap':>6}  {'weight':>6}  {'planned':>13}  {'realised':>13}"]
    for p in plans:
        cap = str(p.max_records) if p.max_records else "-"
        weight = f"{p.weight:g}" if p.weight is not None else "-"
        lines.append(f"  {p.path:<{width}}  {p.read:>7}  {cap:>6}  {weight:>6}  "
                     f"{p.planned:>6} {p.planned_share:>6.1%}  {p.taken:>6} {p.taken / total:>6.1%}")
    return lines
