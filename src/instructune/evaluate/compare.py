"""Base against tuned on the same items: paired bootstrap intervals of every difference.

Each suite keeps its per-item values (per record, per prompt, per instruction, per document)
so that the two models are compared item by item: what makes one item hard for both cancels,
and the interval only reflects how the difference depends on which items were drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instructune.evaluate.forgetting import forgetting_report
from instructune.evaluate.intervals import paired_bootstrap


def paired_weighted_bootstrap(num_a: list[float], num_b: list[float], den: list[int], seed: int,
                              n_boot: int = 2000, level: float = 0.95) -> dict[str, Any]:
    """Difference of two token-weighted means Σnum/Σden over the same items (e.g. response
    loss: per-record summed NLL over per-record trained tokens), items resampled together.

    Returns:
        {"diff", "lo", "hi", "n", "significant"} as `intervals.paired_bootstrap`.
    """
    a, b, d = (np.asarray(x, dtype=np.float64) for x in (num_a, num_b, den))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(n_boot, len(d)))  # (n_boot, n)
    dd = d[idx].sum(1)
    diffs = (a[idx].sum(1) - b[idx].sum(1)) / np.maximum(dd, 1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(diffs, [tail, 100 - tail])
    diff = (a.sum() - b.sum()) / max(d.sum(), 1)
    return {"diff": float(diff), "lo": float(lo), "hi": float(hi), "n": int(len(d)),
            "significant": bool(lo > 0 or hi < 0)}


def compare(base: dict[str, Any], tuned: dict[str, Any], seed: int = 0, n_boot: int = 2000,
            level: float = 0.95) -> dict[str, dict[str, Any]]:
    """tuned − base for every figure both models have per-item values of.

    Args:
        base, tuned: the `items` dicts `recipes/evaluate.py` keeps per model:
            {"sets.<name>.response_loss": (row_nll, row_tokens), "sets.<name>.rouge_l": [per record],
             "sets.<name>.exact_match": [...], "ifeval.<level>": [0/1 per prompt or instruction],
             "forgetting": `forgetting.corpus_perplexity`'s result}.
    Returns:
        key → {"diff", "lo", "hi", "n", "significant"}; "forgetting.relative_change" holds the
        relative perplexity change tuned/base − 1 with its interval.
    """
    out: dict[str, dict[str, Any]] = {}
    for key in base.keys() & tuned.keys():
        a, b = tuned[key], base[key]
        if key.endswith("response_loss"):
            if a[1] != b[1]:  # the same records with the same tokenization on both sides
                continue
            out[key] = paired_weighted_bootstrap(a[0], b[0], a[1], seed, n_boot, level)
        elif key == "forgetting":
            rep = forgetting_report(b, a, level, n_boot, seed)
            out["forgetting.relative_change"] = {
                "diff": rep["relative_change"], "lo": rep["low"], "hi": rep["high"], "n": rep["documents"],
                "significant": bool(rep["low"] > 0 or rep["high"] < 0)}
        elif len(a) == len(b) and len(a) > 0:
            out[key] = paired_bootstrap(a, b, seed, n_boot, level)
    return dict(sorted(out.items()))
