"""A two-way bootstrap over seeds and evaluation items, for ablations.

    a = ItemGrid.stack([cell_a0, cell_a1, cell_a2])      # one arm, one figure: seeds × items
    b = ItemGrid.stack([cell_b0, cell_b1, cell_b2])      # the baseline, same seeds, same items
    r = two_way(a, b, seed=0, n_boot=2000)               # arm − baseline
    r.estimate, r.interval(0.95), r.se, r.p_value(), r.mde(0.05)

An ablation's figure varies with two things drawn at random: the training seed (init, data
order) and the evaluation items (which held-out records, prompts or documents were scored).
An interval over seeds alone misses the second: with three seeds that agree it has zero width,
although a different draw of prompts could move every seed's score the same way. Here each
resample draws seeds with replacement from the S seeds and, independently, I items with
replacement from the I items (crossed, since every seed is scored on the same items), and
recomputes the figure of every drawn seed on the drawn items. A difference is paired twice: the
arm and the baseline get the same seeds (same init and data order) and the same items, so what
makes an item hard for both cancels. Resampling the two crossed factors independently is Owen's
pigeonhole bootstrap (A. B. Owen, "The pigeonhole bootstrap", Annals of Applied Statistics,
2007); the degrees of freedom below are Satterthwaite's (Biometrics Bulletin, 1946).

Few seeds need two corrections, or the seed part of the interval is too narrow:
- a resample draws S − 1 seeds, not S (S ≥ 2): the variance of a mean of S draws from S values
  is (S − 1)/S of the unbiased s²/S, and of S − 1 draws it is exactly s²/S;
- the interval is estimate ± t_ν · se, se the standard deviation of the resampled values, with
  Satterthwaite's degrees of freedom ν = se⁴ / ((s²/S)² / (S − 1)), s² the variance of the
  per-seed values on all items: ν = S − 1 when the seeds carry all the spread (the interval is
  then the t interval over seeds), ν → ∞ when the items carry it (a normal interval from the
  item bootstrap's se). The p-value and the MDE use the same t_ν (see `Resampled`).

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
        seed_var: s² / S, the variance of the seed mean from the per-seed values on all items
            (0 with one seed): the part of se² that only S − 1 degrees of freedom estimate.
    """

    estimate: float
    draws: np.ndarray
    seeds: int
    items: int
    seed_var: float = 0.0

    @property
    def se(self) -> float:
        """Bootstrap standard error: the standard deviation of the draws."""
        return float(np.std(self.draws, ddof=1)) if len(self.draws) > 1 else 0.0

    @property
    def df(self) -> float:
        """Satterthwaite's degrees of freedom of se² (inf when the seeds add no spread)."""
        if self.seeds < 2 or self.seed_var <= 0 or self.se == 0:
            return math.inf
        return max(float(self.seeds - 1), self.se ** 4 / (self.seed_var ** 2 / (self.seeds - 1)))

    def _q(self, prob: float) -> float:
        return float(stats.norm.ppf(prob) if math.isinf(self.df) else stats.t.ppf(prob, self.df))

    @property
    def degenerate(self) -> bool:
        """Every resample gave the same value (up to rounding): no spread, so no interval and no test."""
        return not has_width(float(self.draws.min()), float(self.draws.max()))

    def interval(self, level: float) -> tuple[float, float]:
        """estimate ± t_ν((1 + level) / 2) · se."""
        if self.degenerate:
            return self.estimate, self.estimate
        half = self._q((1 + level) / 2) * self.se
        return self.estimate - half, self.estimate + half

    def p_value(self) -> float:
        """Two-sided p-value of "no difference" from the bootstrap standard error:
        2 · P(T_ν > |estimate| / se), T_ν Student's t with Satterthwaite's ν (the test the
        interval inverts: the level-(1 − α) interval excludes 0 exactly when p < α). 1.0 when the
        draws are degenerate (every resample the same: nothing to test against)."""
        if self.degenerate:
            return 1.0
        z = abs(self.estimate) / self.se
        return float(2 * (stats.norm.sf(z) if math.isinf(self.df) else stats.t.sf(z, self.df)))

    def mde(self, alpha: float, power: float = POWER) -> float:
        """Minimum detectable effect: the true difference a two-sided level-`alpha` test finds
        with probability `power`, (t_ν(1 − α/2) + t_ν(power)) · se ((z_{0.975} + z_{0.8}) · se
        = 2.80 se when the items carry the spread)."""
        return (self._q(1 - alpha / 2) + self._q(power)) * self.se


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
        `Resampled` with estimate = mean_s [f_arm(s) − f_base(s)] on every item and seed, and
        seed_var = the variance of that mean over seeds, s² / S.
    Raises:
        ValueError: `base` has other items or another number of seeds.
    """
    if base is not None and (base.ids != arm.ids or base.seeds != arm.seeds):
        raise ValueError("arm and baseline must share their seeds and items to be paired")
    rng = np.random.default_rng(seed)
    n_seeds, n_items = arm.seeds, len(arm.ids)

    def per_seed(counts: np.ndarray) -> np.ndarray:  # (B, S)
        return arm.values(counts) - (base.values(counts) if base is not None else 0.0)

    measured = per_seed(np.ones((1, n_items)))[0]  # (S,) each seed's figure on every item
    estimate = float(measured.mean())
    seed_var = float(np.var(measured, ddof=1) / n_seeds) if n_seeds > 1 else 0.0
    drawn = max(1, n_seeds - 1)  # S − 1 draws: an unbiased seed variance (module docstring)
    seed_w = rng.multinomial(drawn, np.full(n_seeds, 1.0 / n_seeds), size=n_boot) / drawn  # (B, S) weights
    draws = np.empty(n_boot)
    rows = max(1, _BLOCK_CELLS // n_items)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        draws[start:stop] = (per_seed(_counts(rng, n_items, stop - start)) * seed_w[start:stop]).sum(axis=1)
    if not np.all(np.isfinite(draws)):  # a resample with no tokens (den 0): the interval is unknown
        raise ValueError("a resample gave a non-finite figure (items with zero weight)")
    return Resampled(estimate, draws, n_seeds, n_items, seed_var)
