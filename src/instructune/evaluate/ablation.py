"""Ablation bookkeeping: the arm × seed grid, which cells are done, and the summary with
intervals over seeds.

    grid = cells({"r8": ["lora.r=8"], "r16": ["lora.r=16"]}, seeds=[0, 1, 2])
    summary = summarize({"r8": {0: {...}, 1: {...}}, "r16": {...}}, baseline="r8")

A cell's metrics are a flat dict of numbers ("heldout.response_loss", "ifeval.prompt_strict",
"forgetting.relative_change", "params.trainable", "time.step_s", ...). Seeds are the unit of
replication: each arm's mean gets a Student-t interval over its seeds, and each arm's
difference from the baseline is paired by seed (same data order and init seed in both arms),
with a t interval over the per-seed differences. A difference whose interval holds 0 is
reported as no difference.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy import stats

DONE = "cell.json"


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
    """Every arm × seed, arm-major (all seeds of the baseline first)."""
    return [Cell(arm, seed, tuple(ov)) for arm, ov in arms.items() for seed in seeds]


def finished(cell_dir: Path) -> dict[str, Any] | None:
    """A done cell's marker ({"arm", "seed", "overrides", "config", "metrics"}), or None when it
    never finished (killed cells are redone). "config" is the flat resolved config the cell ran
    with (absent in markers written before cells were keyed by it)."""
    path = cell_dir / DONE
    if not path.exists():
        return None
    return json.loads(path.read_text())


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


def paired_difference(arm: dict[int, float], baseline: dict[int, float], confidence: float = 0.95
                      ) -> dict[str, Any] | None:
    """arm − baseline, paired by seed, with a t interval; None when no seed is shared."""
    shared = sorted(set(arm) & set(baseline))
    if not shared:
        return None
    iv = t_interval([arm[s] - baseline[s] for s in shared], confidence)
    significant = bool(iv["n"] >= 2 and (iv["lo"] > 0 or iv["hi"] < 0))
    return {"diff": iv["mean"], "lo": iv["lo"], "hi": iv["hi"], "n": iv["n"], "significant": significant}


def summarize(results: dict[str, dict[int, dict[str, float]]], baseline: str, confidence: float = 0.95
              ) -> dict[str, Any]:
    """Per arm and metric: mean and interval over seeds, and the paired difference from the baseline.

    Args:
        results: arm → seed → flat metrics of that cell.
        baseline: the baseline arm's name.
        confidence: interval level.
    Returns:
        {"baseline", "confidence", "arms": {arm: {"seeds": [...], "metrics": {m: interval},
         "vs_baseline": {m: difference}}}}
    """
    out: dict[str, Any] = {"baseline": baseline, "confidence": confidence, "arms": {}}
    base = results.get(baseline, {})
    for arm, by_seed in results.items():
        names = sorted({m for metrics in by_seed.values() for m in metrics})
        entry: dict[str, Any] = {"seeds": sorted(by_seed), "metrics": {}, "vs_baseline": {}}
        for m in names:
            values = {s: v[m] for s, v in by_seed.items() if _is_number(v.get(m))}
            if not values:
                continue
            entry["metrics"][m] = {**t_interval(list(values.values()), confidence), "values": values}
            if arm != baseline:
                diff = paired_difference(values, {s: v[m] for s, v in base.items() if _is_number(v.get(m))},
                                         confidence)
                if diff is not None:
                    entry["vs_baseline"][m] = diff
        out["arms"][arm] = entry
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
