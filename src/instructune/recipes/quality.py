"""`instructune quality INPUT... --output DIR`: score, threshold and balance a record set.

Reads records in any supported format, runs the scorers of `quality.scorers`, decides each
record from `quality.reject_below` / `quality.flag_below` (accept / flag / reject, with every
reason), defers the lowest-quality surplus of over-represented complexity bins
(`quality.balance`), and writes, each atomically:

    DIR/accepted.jsonl   records to train on
    DIR/flagged.jsonl    records a scorer doubts: the review queue (`instructune review DIR`)
    DIR/deferred.jsonl   accepted records balancing set aside (nothing wrong with them)
    DIR/rejected.jsonl   records a scorer rejects
    DIR/report.json      counts per decision and reason, bins, timings

Every record carries `meta.quality`: the decision (accept, flag, defer, reject), every scorer's
value and reason, what failed and the complexity bin.

A DIR that already holds these files is refused unless `--overwrite` replaces them (the review
decisions of `instructune review DIR` stay). A run that reads no record, or accepts and flags
none (all rejected), is an error that writes nothing: there is nothing to train on or review.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from instructune import rundir
from instructune.config import Config, QualityConfig
from instructune.data.errors import DataError
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json, write_jsonl
from instructune.data.record import Record
from instructune.quality.balance import balance, bin_counts
from instructune.quality.decide import decide_all, quality_block, quality_value
from instructune.quality.score import Score, ScoringSet
from instructune.quality.scorers import EMBEDDING_SCORERS, LM_SCORERS, SCORERS
from instructune.recipes.checks import check_output_dir

FILES = {"accept": rundir.ACCEPTED, "flag": rundir.FLAGGED, "defer": rundir.DEFERRED, "reject": rundir.REJECTED}
# The scorers decide accept / flag / reject (quality/decide.py); "defer" is balancing's own:
# kept apart from "flag" so the review queue holds only records a scorer doubts.
REPORT_DECISIONS = ("accept", "flag", "defer", "reject")
DEFAULT_REFINE_ROUNDS = 2  # `--refine` with refine.rounds=0: Self-Refine's gains level off after 2-3 rounds


def scorer_options(name: str, q: QualityConfig) -> dict[str, Any]:
    """Keyword arguments of scorer `name` from the config (scorers never see a config object)."""
    if name == "alignment":
        return {"max_others": q.alignment_max_others, "seed": q.seed}
    if name == "complexity":
        return {"edges": tuple(q.balance.edges), "bins": tuple(q.balance.bins)}
    if name == "domain":
        return {"min_confidence": q.domain_min_confidence}
    return {}


def thresholds_of(q: QualityConfig) -> dict[str, tuple[float, float]]:
    """{scorer: (reject_below, flag_below)} for the scorers that run; the domain scorer's value is
    a confidence, not a quality, so it has no floor (it routes by `review_domains`)."""
    return {n: (getattr(q.reject_below, n), getattr(q.flag_below, n)) for n in q.scorers if n != "domain"}


def decide_records(scores: dict[str, list[Score]], q: QualityConfig):
    """The verdicts: floors, the ceilings of `reject_above`, and high-stakes domains to review."""
    return decide_all(scores, thresholds_of(q), review_domains=q.review_domains if "domain" in q.scorers else (),
                      reject_above=q.reject_above.ceilings())


def score_function(q: QualityConfig, data: ScoringSet):
    """records → their overall quality values (`quality_value`), scored with `data`'s embedder,
    reference and judge: Self-Refine's measure of whether a revision helped."""
    def score_fn(recs: list[Record]) -> list[float]:
        scoring = ScoringSet(recs, embedder=data.embedder, reference=data.reference, generator=data.generator,
                             lm=data.lm)
        cols = {n: SCORERS[n](scoring, **scorer_options(n, q)) for n in q.scorers}
        return [quality_value({n: c[i] for n, c in cols.items()}) for i in range(len(recs))]
    return score_fn


def refine(cfg: Config, records: list[Record], data: ScoringSet, console: Console | None = None
           ) -> tuple[list[Record], dict[str, Any]]:
    """Self-Refine `records` with the `synth` generator, scored by this run's quality scorers
    (`refine.*`); returns the refined records and the refine report (requests, gains)."""
    from instructune.synth.backends import build_generator
    from instructune.synth.refine import refine_records

    q, r = cfg.quality, cfg.refine
    rounds = r.rounds or DEFAULT_REFINE_ROUNDS

    gen = build_generator(cfg)
    try:
        records, stats = refine_records(records, gen, rounds, score_function(q, data), max_new_tokens=r.max_new_tokens,
                                        temperature=r.temperature, min_gain=r.min_gain, seed=r.seed)
    finally:
        if hasattr(gen, "close"):
            gen.close()
    if console:
        console.print(f"  refine: {stats.to_dict()}")
    return records, stats.to_dict()


def response_lm(q: QualityConfig, generator=None):
    """The `ResponseLM` of the LM scorers: over the judge's loaded model when the judge runs
    `q.lm` in this process (one copy of the weights), else loaded once per process."""
    from instructune.quality.response_lm import ResponseLM, load_response_lm

    if generator is not None and getattr(generator, "name", None) == q.lm and hasattr(generator, "model"):
        return ResponseLM(generator.model, generator.tokenizer, q.lm, q.lm_batch_size)
    return load_response_lm(q.lm, q.lm_batch_size, q.device)


def scoring_set(cfg: Config, records: list[Record]) -> ScoringSet:
    """The records plus the embedder, reference records, judge and LM the chosen scorers need."""
    q = cfg.quality
    embedder = reference = generator = judge_cache = lm = None
    if EMBEDDING_SCORERS & set(q.scorers):
        from instructune.embed import load_embedder

        embedder = load_embedder(q.embedder, q.embed_batch_size, q.device)
    if "reference" in q.scorers:
        reference = load_inputs(q.reference, None, cfg.data.reader)
    if q.judge and "alignment" in q.scorers:
        from instructune.synth.backends import build_generator

        from instructune.quality.judge import JudgeCache

        generator, judge_cache = build_generator(cfg), JudgeCache.default()
    if LM_SCORERS & set(q.scorers):
        lm = response_lm(q, generator)
    return ScoringSet(records, embedder=embedder, reference=reference, generator=generator, judge_cache=judge_cache,
                      lm=lm)


def _stats(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(v.mean()), 4), "min": round(float(v.min()), 4),
            **{f"p{p}": round(float(np.percentile(v, p)), 4) for p in (10, 50, 90)}} if len(v) else {}


def run_scorers(data: ScoringSet, q: QualityConfig, seconds: dict[str, float],
                console: Console | None = None) -> dict[str, list[Score]]:
    """{scorer: one Score per record}, timing each scorer into `seconds`."""
    scores = {}
    for name in q.scorers:
        t = time.perf_counter()
        scores[name] = SCORERS[name](data, **scorer_options(name, q))
        seconds[name] = round(time.perf_counter() - t, 3)
        if console:
            console.print(f"  {name}: {seconds[name]:.1f}s")
    return scores


def main(cfg: Config, inputs: list[str], out_dir: str | Path, console: Console | None = None,
         refine_first: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Score `inputs` and write the decision files and report.json under `out_dir`.

    With `refine_first` (`quality --refine`), each response is Self-Refined first (`refine.*`,
    at least one round) and the refined records are scored; their drafts, critiques and
    revisions stay in `meta.refine` for the review page.

    Args:
        overwrite: replace the quality outputs already in `out_dir` (else they are refused).
    Returns:
        The report (also written to DIR/report.json).
    Raises:
        DataError: a bad input row; no record read, or none accepted or flagged (nothing written).
        ConfigError: bad quality settings; CheckError: `out_dir` holds quality outputs and
            `overwrite` is false.
    """
    q = cfg.quality
    out = Path(out_dir)
    check_output_dir("quality", out, overwrite=overwrite)
    t0 = time.perf_counter()
    records = load_inputs(inputs, cfg.data.format, cfg.data.reader)
    if not records:
        raise DataError(", ".join(inputs), "no record to score, so nothing was written")
    seconds: dict[str, float] = {"read": round(time.perf_counter() - t0, 3)}
    t = time.perf_counter()
    data = scoring_set(cfg, records)
    seconds["load_models"] = round(time.perf_counter() - t, 3)
    refined = None
    if refine_first:
        t = time.perf_counter()
        records, refined = refine(cfg, records, data, console)
        data = ScoringSet(records, embedder=data.embedder, reference=data.reference, generator=data.generator,
                          lm=data.lm)
        seconds["refine"] = round(time.perf_counter() - t, 3)
    t_score, cpu_score = time.perf_counter(), time.process_time()
    scores = run_scorers(data, q, seconds, console)
    verdicts = decide_records(scores, q)
    per_record = [{n: col[i] for n, col in scores.items()} for i in range(len(records))]
    blocks = [quality_block(s, v) for s, v in zip(per_record, verdicts)]

    bins = [b.get("complexity_bin", "all") for b in blocks]
    accepted = [i for i, b in enumerate(blocks) if b["decision"] == "accept"]
    order = list(q.balance.bins) if "complexity" in q.scorers else ["all"]
    before = bin_counts(bins, accepted, order)
    moved: dict[int, str] = {}
    if q.balance.enabled and "complexity" in q.scorers:
        quality = [quality_value(s) for s in per_record]
        moved = balance(bins, quality, accepted, dict(zip(q.balance.bins, q.balance.max_share)), q.balance.max_move)
    for i, why in moved.items():
        blocks[i].update(decision="defer", balanced=True)
        blocks[i]["failed"].append(why)
        blocks[i]["codes"].append(f"balance:{bins[i]}")
    seconds["score"] = round(time.perf_counter() - t_score, 3)
    seconds["score_cpu"] = round(time.process_time() - cpu_score, 3)  # all threads; load-independent

    check_kept(blocks, inputs)
    rundir.clear(out, "quality")  # only now: a run that fails leaves the earlier outputs as they were
    for decision, fname in FILES.items():
        rows = (_with_quality(r, b) for r, b in zip(records, blocks) if b["decision"] == decision)
        write_jsonl(out / fname, rows)
    seconds["total"] = round(time.perf_counter() - t0, 3)
    report = build_report(cfg, inputs, blocks, bins, order, before, moved, scores, seconds)
    report["rejects"] = reject_rates(records, blocks)
    if refined is not None:
        report["refine"] = refined
    write_json(out / rundir.RUN_REPORT, report)
    return report


def check_kept(blocks: list[dict[str, Any]], inputs: list[str]) -> None:
    """A run that accepts and flags no record leaves nothing to train on or review: an error
    naming the rejection reasons, raised before anything is written.

    Raises:
        DataError: every record was rejected.
    """
    if any(b["decision"] != "reject" for b in blocks):
        return
    reasons = Counter(c for b in blocks for c in b["codes"]).most_common()
    raise DataError(", ".join(inputs), f"no record accepted or flagged: all {len(blocks)} rejected "
                    f"({', '.join(f'{c}: {n}' for c, n in reasons)}), so nothing was written")


def reject_rates(records: list[Record], blocks: list[dict]) -> dict[str, Any]:
    """The reject share of the whole input, and the false-reject rate where it can be known.

    Whether a rejected record was good is only known on labelled data: a record whose
    `meta.label` is "clean" (or "damaged"; bench/quality_damage.py writes such sets) counts, and
    the false-reject rate is rejected clean / clean records. Without labels it is None.
    """
    rejected = [b["decision"] == "reject" for b in blocks]
    clean = [i for i, r in enumerate(records) if r.meta.get("label") == "clean"]
    return {"share": round(sum(rejected) / len(blocks), 4) if blocks else 0.0,
            "labelled_clean": len(clean),
            "false_reject_rate": round(sum(rejected[i] for i in clean) / len(clean), 4) if clean else None}


def _with_quality(r: Record, block: dict[str, Any]) -> dict[str, Any]:
    d = r.to_dict()
    d["meta"] = {**d["meta"], "quality": block}
    return d


def build_report(cfg: Config, inputs: list[str], blocks: list[dict], bins: list[str], order: list[str],
                 before: dict[str, int], moved: dict[int, str], scores: dict[str, list[Score]],
                 seconds: dict[str, float]) -> dict[str, Any]:
    """The run report: counts per decision and reason, bins before/after balancing, score stats."""
    n = len(blocks)
    decisions = Counter(b["decision"] for b in blocks)
    reasons = {d: dict(Counter(c for b in blocks if b["decision"] == d for c in b["codes"]).most_common())
               for d in ("flag", "defer", "reject")}
    after = bin_counts(bins, [i for i, b in enumerate(blocks) if b["decision"] == "accept"], order)
    return {
        "inputs": inputs,
        "records": n,
        "decisions": {d: decisions.get(d, 0) for d in REPORT_DECISIONS},
        "reasons": reasons,
        "complexity_bins": {"all": bin_counts(bins, list(range(n)), order),
                            "accepted_before_balance": before, "accepted_after_balance": after},
        "balance_moved": len(moved),
        "scores": {name: _stats([s.value for s in col]) for name, col in scores.items()},
        "thresholds": {k: {"reject_below": r, "flag_below": f} for k, (r, f) in thresholds_of(cfg.quality).items()},
        "embedder": cfg.quality.embedder if EMBEDDING_SCORERS & set(cfg.quality.scorers) else None,
        "lm": cfg.quality.lm if LM_SCORERS & set(cfg.quality.scorers) else None,
        "judge": cfg.quality.judge,
        "seconds": seconds,
        "seconds_per_1000_records": round(1000 * seconds["score"] / n, 3) if n else None,
        "cpu_seconds_per_1000_records": round(1000 * seconds["score_cpu"] / n, 3) if n else None,
        "files": FILES,
    }


def print_summary(report: dict[str, Any], out_dir: str | Path, console: Console | None = None) -> None:
    """Counts per decision, per reason, and per complexity bin before/after balancing."""
    console = console or Console()
    d = report["decisions"]
    console.print(f"{report['records']} records → accepted {d['accept']}, flagged {d['flag']} for review, "
                  f"deferred {d['defer']} by balancing (deferred.jsonl), rejected {d['reject']}  ({out_dir})",
                  markup=False, highlight=False, soft_wrap=True)
    rej = report.get("rejects")
    if rej:
        known = (f"false-reject rate {100 * rej['false_reject_rate']:.1f}% on {rej['labelled_clean']} records "
                 f"labelled clean (meta.label)" if rej["false_reject_rate"] is not None
                 else "false-reject rate unknown: no record carries meta.label = clean")
        console.print(f"rejected {100 * rej['share']:.1f}% of the input; {known}", markup=False, highlight=False)
    table = Table(title="reasons")
    for col in ("reason", "flagged", "deferred", "rejected"):
        table.add_column(col, justify="left" if col == "reason" else "right")
    reasons = report["reasons"]
    names = list(dict.fromkeys([*reasons["reject"], *reasons["flag"], *reasons["defer"]]))
    for name in names:
        table.add_row(name, *(str(reasons[d].get(name, 0)) for d in ("flag", "defer", "reject")))
    if names:
        console.print(table)
    bins = report["complexity_bins"]
    table = Table(title=f"complexity bins (balancing deferred {report['balance_moved']})")
    for col in ("bin", "all", "accepted before", "accepted after"):
        table.add_column(col, justify="left" if col == "bin" else "right")
    for b in bins["all"]:
        table.add_row(b, str(bins["all"][b]), str(bins["accepted_before_balance"][b]),
                      str(bins["accepted_after_balance"][b]))
    console.print(table)
    s = report["seconds"]
    console.print(f"scoring took {s['score']:.1f}s ({report['seconds_per_1000_records']}s per 1000 records, "
                  f"{report['cpu_seconds_per_1000_records']} CPU-s per 1000; model load {s['load_models']:.1f}s)")
