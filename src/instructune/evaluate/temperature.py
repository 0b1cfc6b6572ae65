"""What the temperature head buys: does it rank tasks, and does sampling at its prediction beat
any fixed temperature?

    report = temperature_report(fwd, tokenizer, records, render, ...)

Two figures on held-out records (the `temperature` suite of `instructune eval`):
- ranking: the Spearman correlation between the predicted temperature and the record's
  target (`addons.temperature_head.targets` by task category), with a bootstrap interval over
  records;
- a mixed set of factual (target <= `low`) and creative (target >= `high`) records,
  generated once at the predicted temperature ("auto") and once at each fixed temperature,
  scored by ROUGE-L against the reference; every fixed temperature is compared with "auto"
  by a paired bootstrap over records (same records, same seed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from instructune.data.record import Record
from instructune.evaluate.intervals import mean_ci_bootstrap, paired_bootstrap
from instructune.evaluate.metrics import rouge_l
from instructune.generation.auto_temperature import predict_temperatures, temperature_head
from instructune.generation.batched import generate_text
from instructune.generation.params import GenParams
from instructune.model.forward import InstructForward

FIXED = (0.0, 0.3, 0.7, 1.0)


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank."""
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):
        tied = x == v
        r[tied] = r[tied].mean()
    return r


def spearman(a, b) -> float:
    """Spearman's rank correlation of two equal-length sequences (NaN when one is constant)."""
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def spearman_interval(a, b, seed: int, n_boot: int, level: float) -> dict[str, float]:
    """Spearman's rho with a percentile bootstrap interval over the paired items."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    boots = [spearman(a[i], b[i]) for i in (rng.integers(0, len(a), len(a)) for _ in range(n_boot))]
    boots = np.asarray([x for x in boots if not np.isnan(x)])
    tail = (1 - level) / 2
    lo, hi = (np.quantile(boots, [tail, 1 - tail]) if len(boots) else (float("nan"), float("nan")))
    out = {"rho": spearman(a, b), "lo": float(lo), "hi": float(hi), "n": len(a)}
    # A rank correlation with a constant side is undefined (NaN, written as null): say which side.
    constant = [name for name, x in (("predicted", a), ("target", b)) if len(x) and np.ptp(x) == 0]
    return {**out, "undefined": f"every {' and every '.join(constant)} temperature is the same"} if constant else out


def temperature_report(fwd: InstructForward, tokenizer, records: list[Record],
                       render: Callable[[Record], tuple[list[int], list[int]]], max_new_tokens: int = 64,
                       batch_size: int = 8, seed: int = 0, n_boot: int = 2000, level: float = 0.95,
                       low: float = 0.3, high: float = 0.7, fixed: tuple[float, ...] = FIXED) -> dict:
    """The ranking and the mixed-set figures (see the module docstring).

    Args:
        fwd: a model with the temperature head attached.
        records: held-out records with task categories.
        render: record → (prompt ids, segment ids).
        low, high: target temperatures at or below / at or above which a record is factual /
            creative in the mixed set.
    Returns:
        {"spearman": {...}, "predicted": {category: mean predicted}, "mixed": {"n_factual",
         "n_creative", "rouge_l": {setting: mean CI}, "auto_minus_fixed": {setting: paired diff}}}
    """
    head = temperature_head(fwd)
    rendered = [render(r) for r in records]
    prompts, segments = [p for p, _ in rendered], [s for _, s in rendered]
    pad = tokenizer.pad_token_id
    predicted = predict_temperatures(fwd, prompts, segments, pad).tolist()
    targets = head.target([r.task for r in records]).tolist()
    by_task: dict[str, list[float]] = {}
    for r, t in zip(records, predicted):
        by_task.setdefault(r.task or "", []).append(t)
    out = {"spearman": spearman_interval(predicted, targets, seed, n_boot, level),
           "predicted": {k: float(np.mean(v)) for k, v in sorted(by_task.items())}}
    mixed = [i for i, t in enumerate(targets) if t <= low or t >= high]
    if not mixed:
        return out
    settings: dict[str, list[float]] = {}
    for setting in ("auto", *fixed):
        params = GenParams(max_new_tokens=max_new_tokens, temperature=setting, top_p=1.0, seed=seed)
        texts = generate_text(fwd, tokenizer, [prompts[i] for i in mixed], params, batch_size,
                              [segments[i] for i in mixed])
        settings[str(setting)] = [rouge_l(t, records[i].response) for t, i in zip(texts, mixed)]
    out["mixed"] = {
        "n_factual": sum(targets[i] <= low for i in mixed), "n_creative": sum(targets[i] >= high for i in mixed),
        "rouge_l": {k: mean_ci_bootstrap(v, seed, n_boot, level) for k, v in settings.items()},
        "auto_minus_fixed": {k: paired_bootstrap(settings["auto"], v, seed, n_boot, level)
                             for k, v in settings.items() if k != "auto"},
    }
    return out
