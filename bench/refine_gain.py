"""Self-Refine gain: quality scores and acceptance before and after `synth.refine.refine_records`.

    python bench/refine_gain.py [--model smollm2-135m-instruct] [--records 30] [--rounds 2]
        [--max-new-tokens 128] [--min-gain 0.01] [--batch-size 8] [--device cpu] [--threads N] [--show 3]
        [--out result.json]

The job: the first `--records` instructions of the shipped starter set (`starter:train`), each
answered once by the local generator (greedy, `--max-new-tokens`): these drafts are a small synth
run. Then `refine_records` runs `--rounds` rounds on them with the same generator (greedy), its
score_fn being the quality scorers' combined score (`quality_value`: the mean of coherence,
alignment, format, reference and contradiction). Reference records are the rest of starter:train
(the drafts' own instructions left out, so a draft is never compared with its human answer).

Printed: per set (drafts, refined) the decisions under the default thresholds of
`instructune quality` (quality.reject_below / flag_below), the mean of each score and of the
combined score; then the refine cost (critique and revision requests, against the drafts'
requests), how each record stopped, how many kept a revision, and wall times. `--show N` prints
N refined records (those that kept a revision first) with their critiques and revisions.
`--out FILE` also writes the printed figures (and the arguments, load average and versions) as
JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SCORERS = ("coherence", "alignment", "format", "reference", "contradiction", "complexity")


def thresholds() -> dict[str, tuple[float, float]]:
    """(reject_below, flag_below) per scorer: the defaults of `instructune quality`."""
    from instructune.config import QualityConfig

    q = QualityConfig()
    return {n: (getattr(q.reject_below, n), getattr(q.flag_below, n)) for n in SCORERS}


class Scorer:
    """Runs the quality scorers on a record set; `combined` is the score_fn given to refine."""

    def __init__(self, reference, device: str):
        from instructune.embed import load_embedder

        self.embedder, self.reference = load_embedder(device=device), reference

    def scores(self, records) -> dict[str, list]:
        from instructune.quality.score import ScoringSet
        from instructune.quality.scorers import SCORERS as ALL

        data = ScoringSet(records, embedder=self.embedder, reference=self.reference)
        return {n: ALL[n](data) for n in SCORERS}

    def combined(self, records) -> list[float]:
        from instructune.quality.decide import quality_value

        cols = self.scores(records)
        return [quality_value({n: col[i] for n, col in cols.items()}) for i in range(len(records))]


def summary(scorer: Scorer, records) -> dict:
    """Decisions and mean scores of `records`."""
    from instructune.quality.decide import decide_all, quality_value

    cols = scorer.scores(records)
    verdicts = decide_all(cols, thresholds())
    combined = [quality_value({n: col[i] for n, col in cols.items()}) for i in range(len(records))]
    return {"decisions": Counter(v.decision for v in verdicts),
            "means": {n: sum(s.value for s in col) / len(col) for n, col in cols.items()},
            "combined": sum(combined) / len(combined)}


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def write_result(args, n: int, before: dict, after: dict, draft_requests: int, draft_seconds: float,
                 stats, load_before: float) -> None:
    """The printed figures as JSON at `args.out` (written whole, then renamed)."""
    from pathlib import Path

    def side(s: dict) -> dict:
        return {"decisions": {d: s["decisions"][d] for d in ("accept", "flag", "reject")},
                "acceptance": s["decisions"]["accept"] / n, "combined": s["combined"], "means": s["means"]}

    result = {
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "records": n,
        "drafts": side(before),
        "refined": side(after),
        "draft_requests": draft_requests,
        "refine_requests": stats.requests,
        "critique_requests": stats.critique_requests,
        "revision_requests": stats.revision_requests,
        "rounds_run": stats.rounds_run,
        "improved": stats.improved,
        "stopped": dict(stats.stopped),
        "draft_seconds": draft_seconds,
        "refine_seconds": stats.seconds,
        "load_average": {"start": load_before, "end": os.getloadavg()[0]},
        "cpus": os.cpu_count(),
        "versions": {p: _version(p) for p in ("torch", "transformers")},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"\nresults written to {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--records", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--min-gain", type=float, default=0.01, help="refine's min_gain (its default: 0.01)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu", help="torch device of the generator and the embedder")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--show", type=int, default=3, help="refined records to print with their history")
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args()

    import dataclasses

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from instructune.data.inputs import load_inputs
    from instructune.generation.params import GenParams
    from instructune.synth.backends import LocalGenerator
    from instructune.synth.prompts import response_prompt
    from instructune.synth.refine import refine_records

    starter = load_inputs(["starter:train"])
    chosen = starter[:args.records]
    taken = {r.instruction for r in chosen}
    scorer = Scorer([r for r in starter if r.instruction not in taken], args.device)
    gen = LocalGenerator.load(args.model, batch_size=args.batch_size)
    if args.device != "cpu":
        gen.model.to(args.device)
    print(f"model {args.model} on {args.device}, {len(chosen)} starter records, {args.rounds} round(s), "
          f"max_new_tokens {args.max_new_tokens}, min_gain {args.min_gain}, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    load_before = os.getloadavg()[0]

    t = time.perf_counter()
    params = GenParams(max_new_tokens=args.max_new_tokens, temperature=0.0)
    replies = gen.chat([[{"role": "user", "content": response_prompt(r.instruction, r.context)}] for r in chosen],
                       params)
    drafts = [dataclasses.replace(r, response=reply.strip()) for r, reply in zip(chosen, replies)]
    draft_seconds, draft_requests = time.perf_counter() - t, gen.stats.requests

    refined, stats = refine_records(drafts, gen, args.rounds, scorer.combined, max_new_tokens=args.max_new_tokens,
                                    min_gain=args.min_gain)
    before, after = summary(scorer, drafts), summary(scorer, refined)

    n = len(chosen)
    print(f"\n{'':<22} {'drafts':>8} {'refined':>8}")
    for d, label in (("accept", "accepted"), ("flag", "flagged"), ("reject", "rejected")):
        print(f"{label:<22} {before['decisions'][d]:>8} {after['decisions'][d]:>8}")
    print(f"{'acceptance rate':<22} {before['decisions']['accept'] / n:>8.0%} {after['decisions']['accept'] / n:>8.0%}")
    print(f"{'combined score (mean)':<22} {before['combined']:>8.3f} {after['combined']:>8.3f}")
    for name in SCORERS:
        print(f"{name + ' (mean)':<22} {before['means'][name]:>8.3f} {after['means'][name]:>8.3f}")
    print(f"{'requests':<22} {draft_requests:>8} {'+' + str(stats.requests):>8}"
          f"   ({stats.critique_requests} critiques, {stats.revision_requests} revisions; "
          f"{stats.requests / draft_requests:.1f}x the drafts)")
    print(f"{'seconds':<22} {draft_seconds:>8.0f} {'+' + format(stats.seconds, '.0f'):>8}")
    print(f"\nrounds run {stats.rounds_run}; records that kept a revision {stats.improved}/{n}; "
          f"stopped: {dict(stats.stopped)}")
    if args.out:
        write_result(args, n, before, after, draft_requests, draft_seconds, stats, load_before)
    # Records that kept a revision first: those are what refining changed.
    shown = sorted((r for r in refined if r.meta["refine"]["rounds"]),
                   key=lambda r: not any(h["kept"] for h in r.meta["refine"]["rounds"]))
    for rec in shown[:args.show]:
        rf = rec.meta["refine"]
        print(f"\n--- {rec.id}: {rec.instruction[:80]!r}\ndraft ({rf['draft_score']:.3f}): {rf['draft'][:200]!r}")
        for h in rf["rounds"]:
            print(f"  round {h['round']} critique: {h['critique'][:200]!r}")
            if h["revision"] is not None:
                print(f"  round {h['round']} revision ({h['score']}, kept {h['kept']}): {h['revision'][:200]!r}")


if __name__ == "__main__":
    main()
