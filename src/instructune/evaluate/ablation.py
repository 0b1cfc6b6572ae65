"""Ablation bookkeeping: the arm × seed grid, which cells are done, and the summary with
intervals over seeds and evaluation items.

    grid = cells({"r8": ["lora.r=8"], "r16": ["lora.r=16"]}, seeds=[0, 1, 2])
    summary = summarize({"r8": {0: {...}, 1: {...}}, "r16": {...}}, baseline="r8",
                        items={"r8": {0: cell_items(tuned, base), ...}, ...})

A cell's metrics are a flat dict of numbers ("heldout.response_loss", "ifeval.prompt_strict",
"forgetting.relative_change", "params.trainable", "time.step_s", ...). Two things drawn at
random move an evaluated figure: the seed (init, data order) and the evaluation items. Where
every cell kept its per-item scores (eval_items.json), each arm's mean and each arm's difference
from the baseline get a two-way bootstrap interval (`evaluate/two_way_bootstrap.py`: seeds and
items resampled at once, the difference paired by seed and by item). Figures without items
(parameter counts, step time, training loss; cells made before eval_items.json) keep the
Student-t interval over seeds, and each interval says which it is ("method").

Every difference also has a p-value and the minimum detectable effect at 80% power (MDE: the
smallest true difference the test would find four times in five; "n.s." then reads "nothing
larger than the MDE"). The headline figures of all arms (`HEADLINE`, or the config's
`ablation.headline`) form one family whose p-values get Holm's adjustment (`evaluate/holm.py`),
kept beside the unadjusted ones. A zero-width interval (no spread to estimate) is never
significant.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy import stats

from instructune.config.ablation import HEADLINE
from instructune.evaluate.holm import holm
from instructune.evaluate.two_way_bootstrap import POWER, ItemGrid, ItemScores, has_width, two_way

DONE = "cell.json"
SEED_T = "t over seeds"
TWO_WAY = "bootstrap over seeds x items"


@dataclass(frozen=True)
class Cell:
    """One training + evaluation run: an arm at a seed."""

    arm: str
    seed: int
    overrides: tuple[str, ...]

    def dir(self, root: str | Path) -> Path:
        """Where the cell's run dir lives: ROOT/cells/ARM/seed-K."""
        return Path(root) / "cells" / self.arm / f"seed-{self.seed}"


def cells(arms: dict[str, list[str]], seeds: list[int]) -> list[Cell]:
    """Every arm × seed, seed-major (every arm at the first seed, then the next seed): an ablation
    stopped part-way, or read with `--summary-only`, then holds whole seeds that compare every
    arm, not all seeds of the first arms and none of the last."""
    return [Cell(arm, seed, tuple(ov)) for seed in seeds for arm, ov in arms.items()]


def finished(cell_dir: Path) -> dict[str, Any] | None:
    """A done cell's marker ({"arm", "seed", "overrides", "config", "metrics"}), or None when it
    never finished (killed cells are redone). "config" is the flat resolved config the cell ran
    with (absent in markers written before cells were keyed by it)."""
    path = cell_dir / DONE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def _scores(e: dict[str, list], link: str = "ratio", ref: dict[str, list] | None = None) -> ItemScores:
    return ItemScores(tuple(e["ids"]), tuple(e["num"]), tuple(e["den"]), link,
                      tuple(ref["num"]) if ref else (), tuple(ref["den"]) if ref else ())


def cell_items(tuned: dict[str, dict[str, list]], base: dict[str, dict[str, list]] | None = None
               ) -> dict[str, ItemScores]:
    """A cell's per-item scores under the flat metric names of its cell.json.

    Args:
        tuned: the tuned model's entries of eval_items.json (`evaluate/item_scores.py`).
        base: the base model's entries (for forgetting.relative_change), or None.
    Returns:
        metric → ItemScores: "<set>.response_loss" / ".rouge_l" / ".exact_match", "<set>.perplexity"
        (exp of the loss), "ifeval.<level>", "forgetting.perplexity" and, with a base scored on the
        same documents, "forgetting.relative_change".
    """
    out: dict[str, ItemScores] = {}
    for key, e in tuned.items():
        if key.startswith("sets."):
            name = key[len("sets."):]
            out[name] = _scores(e)
            if name.endswith(".response_loss"):
                out[name.replace(".response_loss", ".perplexity")] = _scores(e, "exp")
        elif key.startswith("ifeval."):
            out[key] = _scores(e)
        elif key == "forgetting":
            out["forgetting.perplexity"] = _scores(e, "exp")
            ref = (base or {}).get("forgetting")
            if ref and ref["ids"] == e["ids"] and ref["den"] == e["den"]:
                out["forgetting.relative_change"] = _scores(e, "relative", ref)
    return out


def t_interval(values: list[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean of `values` with a Student-t interval (n - 1 degrees of freedom).

    Returns:
        {"mean", "lo", "hi", "n", "sd"}; with one value lo = hi = mean (no spread to estimate).
    """
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "lo": mean, "hi": mean, "n": n, "sd": 0.0}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n, "sd": sd}


@dataclass(frozen=True)
class Test:
    """One arm − baseline difference: its JSON fields and how to restate it at another level.

    Attributes:
        fields: {"diff", "lo", "hi", "n", "method", "significant", "p", "se", "mde", ...}.
        at: level → (lo, hi), the interval at that coverage.
        mde_at: α → the minimum detectable effect at two-sided level α (None: no spread known).
    """

    fields: dict[str, Any]
    at: Callable[[float], tuple[float, float]]
    mde_at: Callable[[float], float | None]


def excludes_zero(lo: float, hi: float) -> bool:
    """Significant: the interval has width (more than rounding) and does not hold 0."""
    return has_width(lo, hi) and (lo > 0 or hi < 0)


def seed_t_test(diffs: list[float], confidence: float) -> Test:
    """The paired t test over per-seed differences (the whole story when no items were kept)."""
    iv = t_interval(diffs, confidence)
    n, se = iv["n"], iv["sd"] / math.sqrt(iv["n"])

    def at(level: float) -> tuple[float, float]:
        lv = t_interval(diffs, level)
        return lv["lo"], lv["hi"]

    def mde_at(alpha: float) -> float | None:
        if n < 2:
            return None
        return float((stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(POWER, n - 1)) * se)

    p = float(2 * stats.t.sf(abs(iv["mean"]) / se, n - 1)) if n >= 2 and has_width(iv["lo"], iv["hi"]) else 1.0
    fields = {"diff": iv["mean"], "lo": iv["lo"], "hi": iv["hi"], "n": n, "method": SEED_T,
              "significant": n >= 2 and excludes_zero(iv["lo"], iv["hi"]), "p": p, "se": se,
              "mde": mde_at(1 - confidence)}
    return Test(fields, at, mde_at)


def paired_difference(arm: dict[int, float], baseline: dict[int, float], confidence: float = 0.95
                      ) -> dict[str, Any] | None:
    """arm − baseline, paired by seed, with a t interval; None when no seed is shared."""
    shared = sorted(set(arm) & set(baseline))
    if not shared:
        return None
    return seed_t_test([arm[s] - baseline[s] for s in shared], confidence).fields


def bootstrap_test(a: ItemGrid, b: ItemGrid, diffs: list[float], confidence: float, seed: int,
                   n_boot: int) -> Test:
    """arm − baseline resampled over seeds and items; the seed-only t interval kept beside it.
    "df" is the interval's Satterthwaite degrees of freedom (None: the items carry all the spread)."""
    r = two_way(a, b, seed, n_boot)
    lo, hi = r.interval(confidence)
    t = t_interval(diffs, confidence)
    fields = {"diff": r.estimate, "lo": lo, "hi": hi, "n": r.seeds, "n_items": r.items, "method": TWO_WAY,
              "significant": excludes_zero(lo, hi), "p": r.p_value(), "se": r.se,
              "df": r.df if math.isfinite(r.df) else None, "mde": r.mde(1 - confidence),
              "seed_t": {"lo": t["lo"], "hi": t["hi"]}}
    return Test(fields, r.interval, r.mde)


def grid_of(items: dict[int, dict[str, ItemScores]] | None, seeds: list[int], metric: str) -> ItemGrid | None:
    """The metric's seeds × items grid over `seeds`, or None when a cell lacks its items or
    the cells were scored on different items."""
    if items is None or not all(metric in items.get(s, {}) for s in seeds):
        return None
    try:
        return ItemGrid.stack([items[s][metric] for s in seeds])
    except ValueError:
        return None


def difference_test(arm_values: dict[int, float], base_values: dict[int, float], metric: str,
            arm_items: dict | None, base_items: dict | None, confidence: float, seed: int, n_boot: int
            ) -> Test | None:
    """The difference's test: two-way bootstrap when both arms kept paired items, else t."""
    shared = sorted(set(arm_values) & set(base_values))
    if not shared:
        return None
    diffs = [arm_values[s] - base_values[s] for s in shared]
    a, b = grid_of(arm_items, shared, metric), grid_of(base_items, shared, metric)
    if a is not None and b is not None and a.ids == b.ids and a.link == b.link:
        return bootstrap_test(a, b, diffs, confidence, seed, n_boot)
    return seed_t_test(diffs, confidence)


# Metrics that are shares or per-item scores in [0, 1] (exact match, ROUGE-L, IF accuracies).
UNIT_SUFFIXES = (".exact_match", ".rouge_l")


def unit_ranged(metric: str) -> bool:
    """Whether `metric`'s values, and so its mean, cannot leave [0, 1]."""
    return metric.startswith("ifeval.") or metric.endswith(UNIT_SUFFIXES)


def arm_interval(values: dict[int, float], grid: ItemGrid | None, confidence: float, seed: int,
                 n_boot: int, metric: str = "") -> dict[str, Any]:
    """An arm's mean: over seeds and items when its items were kept, else over seeds. A metric in
    [0, 1] keeps its interval there: a t quantile with few seeds' degrees of freedom can reach
    past the range (an exact-match share of 0.13 ± 0.15), where no model can score."""
    iv = {**t_interval(list(values.values()), confidence), "values": values, "method": SEED_T}
    if grid is not None:
        r = two_way(grid, None, seed, n_boot)
        lo, hi = r.interval(confidence)
        # The items' sums give the cells' figures again up to rounding: keep the mean inside.
        iv["lo"], iv["hi"] = min(lo, iv["mean"]), max(hi, iv["mean"])
        iv.update(method=TWO_WAY, n_items=r.items)
    if unit_ranged(metric):
        iv["lo"], iv["hi"] = max(iv["lo"], 0.0), min(iv["hi"], 1.0)
    return iv


def adjust(tests: dict[tuple[str, str], Test], confidence: float) -> None:
    """Holm across `tests` (the headline family): each test's fields get a "holm" entry with the
    adjusted p, the interval and MDE at the level of its Holm step, and its significance."""
    alpha = 1 - confidence
    adjusted = holm({k: t.fields["p"] for k, t in tests.items()})
    for key, (p, multiplier) in adjusted.items():
        t = tests[key]
        level = 1 - alpha / multiplier
        lo, hi = t.at(level)
        t.fields["holm"] = {"p": p, "multiplier": multiplier, "level": level, "lo": lo, "hi": hi,
                            "significant": bool(p <= alpha and has_width(lo, hi)), "mde": t.mde_at(alpha / multiplier)}


def summarize(results: dict[str, dict[int, dict[str, float]]], baseline: str, confidence: float = 0.95,
              items: dict[str, dict[int, dict[str, ItemScores]]] | None = None, seed: int = 0,
              n_boot: int = 2000, headline: tuple[str, ...] | list[str] = HEADLINE) -> dict[str, Any]:
    """Per arm and metric: mean and interval, and the paired difference from the baseline.

    Args:
        results: arm → seed → flat metrics of that cell.
        baseline: the baseline arm's name.
        confidence: interval level (α = 1 − confidence for the tests and the MDE).
        items: arm → seed → metric → per-item scores (`cell_items`); None or a missing cell:
            that figure gets the t interval over seeds.
        seed, n_boot: the bootstrap's seed and resamples.
        headline: the metrics whose differences form the Holm family (with every non-baseline arm).
    Returns:
        {"baseline", "confidence", "power", "resamples", "holm": {"alpha", "metrics", "family"},
         "arms": {arm: {"seeds": [...], "metrics": {m: interval}, "vs_baseline": {m: difference}}}}
        (difference fields: see `seed_t_test`, `bootstrap_test`, `adjust`).
    """
    items = items or {}
    out: dict[str, Any] = {"baseline": baseline, "confidence": confidence, "power": POWER, "resamples": n_boot,
                           "arms": {}}
    base = results.get(baseline, {})
    tests: dict[tuple[str, str], Test] = {}
    for arm, by_seed in results.items():
        names = sorted({m for metrics in by_seed.values() for m in metrics})
        entry: dict[str, Any] = {"seeds": sorted(by_seed), "metrics": {}, "vs_baseline": {}}
        for m in names:
            values = {s: v[m] for s, v in by_seed.items() if _is_number(v.get(m))}
            if not values:
                continue
            entry["metrics"][m] = arm_interval(values, grid_of(items.get(arm), sorted(values), m),
                                               confidence, seed, n_boot, m)
            if arm != baseline:
                base_values = {s: v[m] for s, v in base.items() if _is_number(v.get(m))}
                test = difference_test(values, base_values, m, items.get(arm), items.get(baseline),
                                       confidence, seed, n_boot)
                if test is not None:
                    entry["vs_baseline"][m] = test.fields
                    if m in headline:
                        tests[(arm, m)] = test
        out["arms"][arm] = entry
    adjust(tests, confidence)
    out["holm"] = {"alpha": round(1 - confidence, 12), "metrics": list(headline),
                   "family": [f"{a}: {m}" for a, m in tests]}
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
