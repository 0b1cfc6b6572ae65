"""A two-way bootstrap over seeds and evaluation items, for ablations.

    a = ItemGrid.stack([cell_a0, cell_a1, cell_a2])      # one arm, one figure: seeds × items
    b = ItemGrid.stack([cell_b0, cell_b1, cell_b2])      # the baseline, same seeds, same items
    r = two_way(a, b, seed=0, n_boot=2000)               # arm − baseline
    r.estimate, r.interval(0.95), r.se, r.p_value(), r.mde(0.05)

An ablation's figure varies with two things drawn at random: the training seed (init, data
order) and the evaluation items (which held-out records, prompts or documents were scored).
An interval over seeds alone misses the second: with three seeds that agree it has zero width,
although a different draw of prompts could move every seed's score the same way. Here each
resample draws S seeds with replacement from the S seeds and, independently, I items with
replacement from the I items (Davison & Hinkley's two-stage scheme, crossed rather than
nested, since every seed is scored on the same items), and recomputes the figure of every drawn
seed on the drawn items. A difference is paired twice: the arm and the baseline get the same
seeds (same init and data order) and the same items, so what makes an item hard for both cancels.

A figure is a ratio of sums over items, Σnum / Σden (`evaluate/item_scores.py`), seen through a
link: "ratio" (a mean, an accuracy, a token-weighted loss), "exp" (a perplexity) or "relative"
(perplexity relative to a reference model scored on the same items, exp(ratio − ref ratio) − 1).
Resampling items means resampling (num, den) pairs, so token weighting and prompt clustering
(instruction-level accuracy keeps a prompt's instructions together) survive the resample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

LINKS = ("ratio", "exp", "relative")
POWER = 0.8  # the power a minimum detectable effect is stated at
# Spreads below this share of the values' scale are rounding (sums of the same numbers in
# another order), not variation: an interval that narrow has zero width.
_WIDTH_RTOL = 1e-9
# Item resamples are drawn in blocks so that a (block, items) count matrix stays near 32 MB.
_BLOCK_CELLS = 4_000_000


def has_width(lo: float, hi: float) -> bool:
    """Whether an interval is wider than rounding (a zero-width interval is no test)."""
    return bool(hi - lo > _WIDTH_RTOL * max(1.0, abs(lo), abs(hi)))


@dataclass(frozen=True)
class ItemScores:
    """One cell's items for one figure: the figure is link(Σnum / Σden).

    Attributes:
        ids: item ids, in item order (what pairs cells).
        num, den: per-item sums, as long as `ids`.
        link: one of `LINKS`.
        ref_num, ref_den: the reference model's sums on the same items (link "relative").
    """

    ids: tuple[str, ...]
    num: tuple[float, ...]
    den: tuple[float, ...]
    link: str = "ratio"
    ref_num: tuple[float, ...] = ()
    ref_den: tuple[float, ...] = ()

    def value(self) -> float:
        """The figure on all items (what the cell reported)."""
        grid = ItemGrid.stack([self])
        return float(grid.values(np.ones((1, len(self.ids))))[0, 0])


@dataclass(frozen=True)
class ItemGrid:
    """One arm's items for one figure over its seeds.

    Attributes:
        ids: the items, shared by every seed.
        num, den: (S, I) per-seed, per-item sums.
        link: one of `LINKS`.
        ref_num, ref_den: (I,) the reference model's sums (link "relative"), else None.
    """

    ids: tuple[str, ...]
    num: np.ndarray
    den: np.ndarray
    link: str
    ref_num: np.ndarray | None = None
    ref_den: np.ndarray | None = None

    @staticmethod
    def stack(cells: Sequence[ItemScores]) -> ItemGrid:
        """Cells (one per seed, in seed order) as a grid.

        Raises:
            ValueError: no cells, or cells with other items, link or reference than the first.
        """
        if not cells:
            raise ValueError("no cells to stack")
        first = cells[0]
        if first.link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}; got {first.link!r}")
        for c in cells[1:]:
            if (c.ids, c.link, c.ref_num, c.ref_den) != (first.ids, first.link, first.ref_num, first.ref_den):
                raise ValueError("cells were scored on different items (or against another reference)")
        ref = first.link == "relative"
        return ItemGrid(first.ids, np.array([c.num for c in cells], dtype=np.float64),
                        np.array([c.den for c in cells], dtype=np.float64), first.link,
                        np.asarray(first.ref_num, dtype=np.float64) if ref else None,
                        np.asarray(first.ref_den, dtype=np.float64) if ref else None)

    @property
    def seeds(self) -> int:
        return self.num.shape[0]

    def values(self, counts: np.ndarray) -> np.ndarray:
        """(B, S) the figure of every seed on B item resamples.

        Args:
            counts: (B, I) how often each item was drawn in each resample (all ones: every item once).
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (counts @ self.num.T) / (counts @ self.den.T)  # (B, S)
            if self.link == "exp":
                return np.exp(ratio)
            if self.link == "relative":
                ref = (counts @ self.ref_num) / (counts @ self.ref_den)  # (B,)
                return np.expm1(ratio - ref[:, None])
        return ratio


@dataclass(frozen=True)
class Resampled:
    """A bootstrap estimate with its resampled values.

    Attributes:
        estimate: the figure (or difference) on the seeds and items as measured.
        draws: (n_boot,) its value on each resample.
        seeds, items: how many of each were resampled.
    """

    estimate: float
    draws: np.ndarray
    seeds: int
    items: int

    @property
    def se(self) -> float:
        """Bootstrap standard error: the standard deviation of the draws."""
        return float(np.std(self.draws, ddof=1)) if len(self.draws) > 1 else 0.0

    @property
    def degenerate(self) -> bool:
        """Every resample gave the same value (up to rounding): no spread, so no interval and no test."""
        return not has_width(float(self.draws.min()), float(self.draws.max()))

    def interval(self, level: float) -> tuple[float, float]:
        """Percentile interval of coverage `level`."""
        tail = (1 - level) / 2
        lo, hi = np.quantile(self.draws, [tail, 1 - tail])
        return float(lo), float(hi)

    def p_value(self) -> float:
        """Two-sided bootstrap p-value of "no difference": twice the share of resampled values on
        the far side of 0 from the estimate (0 itself counted as far), with the +1 correction
        that counts the observed sample as one of the resamples:
        p = min(1, 2 (1 + #{far}) / (B + 1)). It inverts the percentile interval: the level-(1−α)
        interval excludes 0 about when p < α. 1.0 when the estimate is 0 or the draws are
        degenerate (every resample the same: nothing to test against)."""
        if self.degenerate or self.estimate == 0:
            return 1.0
        far = int(np.sum(self.draws <= 0)) if self.estimate > 0 else int(np.sum(self.draws >= 0))
        return min(1.0, 2 * (1 + far) / (len(self.draws) + 1))

    def mde(self, alpha: float, power: float = POWER) -> float:
        """Minimum detectable effect: the true difference a two-sided level-`alpha` test finds
        with probability `power`, (z_{1−α/2} + z_power) · se (normal approximation)."""
        return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * self.se)


def _counts(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    """(rows, n) multinomial draw counts: n draws with replacement from n, per row."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=rows).astype(np.float64)


def two_way(arm: ItemGrid, base: ItemGrid | None = None, seed: int = 0, n_boot: int = 2000) -> Resampled:
    """The mean over seeds of the arm's figure, minus the baseline's (paired by seed and item)
    when `base` is given, resampled over seeds and items at once.

    Args:
        arm: (S, I) grid of the arm.
        base: (S, I) grid of the baseline, seed s and item i being the arm's; None: the arm's
            mean alone.
        seed: seed of the resampling (the same seed gives the same draws).
        n_boot: resamples.
    Returns:
        `Resampled` with estimate = mean_s [f_arm(s) − f_base(s)] on every item and seed.
    Raises:
        ValueError: `base` has other items or another number of seeds.
    """
    if base is not None and (base.ids != arm.ids or base.seeds != arm.seeds):
        raise ValueError("arm and baseline must share their seeds and items to be paired")
    rng = np.random.default_rng(seed)
    n_seeds, n_items = arm.seeds, len(arm.ids)

    def per_seed(counts: np.ndarray) -> np.ndarray:  # (B, S)
        return arm.values(counts) - (base.values(counts) if base is not None else 0.0)

    estimate = float(per_seed(np.ones((1, n_items))).mean())
    seed_w = _counts(rng, n_seeds, n_boot) / n_seeds  # (B, S): weights of the drawn seeds
    draws = np.empty(n_boot)
    rows = max(1, _BLOCK_CELLS // n_items)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        draws[start:stop] = (per_seed(_counts(rng, n_items, stop - start)) * seed_w[start:stop]).sum(axis=1)
    if not np.all(np.isfinite(draws)):  # a resample with no tokens (den 0): the interval is unknown
        raise ValueError("a resample gave a non-finite figure (items with zero weight)")
    return Resampled(estimate, draws, n_seeds, n_items)


def z_mde(se: float, alpha: float, power: float = POWER) -> float:
    """(z_{1−α/2} + z_power) · se: the minimum detectable effect of a normal test."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se) if math.isfinite(se) else math.nan
