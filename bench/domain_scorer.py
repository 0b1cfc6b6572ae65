"""Domain scorer: precision and recall on the hand-labelled set, and refitting its calibration.

    python bench/domain_scorer.py [--labelled tests/quality/fixtures/domains_labelled.jsonl]
        [--min-confidence 0.25] [--review finance,law,health] [--errors] [--out FILE.json]
    python bench/domain_scorer.py --fit        # refit the calibration block of quality/domains.yaml

Evaluation: every record of the labelled set (its "domain" field is the hand label: finance,
law, health or none) is scored with `quality.scorers.domain` on the default embedder, and the
script prints, per domain and for "needs review" (label in --review vs a record flagged with a
`domain:*` reason by `decide`), the true positives, false positives, false negatives, precision
and recall. --errors lists the records it got wrong. The labelled set is held out: nothing in
domains.yaml was taken from it.

--fit: logistic regression on the examples of domains.yaml, one row per (example, high-stakes
domain) pair: features (embedding margin, capped keyword hits), target "the example belongs to
this domain". Each example's margins are computed with the example itself removed from the
anchors (leave-one-out), so they look like an unseen prompt's. Prints the calibration block.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LABELLED = Path(__file__).resolve().parents[1] / "tests/quality/fixtures/domains_labelled.jsonl"


def load_labelled(path: Path) -> tuple[list, list[str]]:
    """(records, hand labels) of a labelled JSONL file."""
    from instructune.data.record import Record

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Record.from_dict(r) for r in rows], [r["domain"] for r in rows]


def prf(gold: list[bool], pred: list[bool]) -> tuple[int, int, int, float, float]:
    """(tp, fp, fn, precision, recall); precision/recall are 1.0 when undefined (nothing predicted / no positives)."""
    tp = sum(g and p for g, p in zip(gold, pred))
    fp = sum(p and not g for g, p in zip(gold, pred))
    fn = sum(g and not p for g, p in zip(gold, pred))
    return tp, fp, fn, tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0


def evaluate(path: Path, min_confidence: float, review: list[str], errors: bool, out: Path | None = None) -> None:
    from instructune.quality.decide import decide
    from instructune.embed import load_embedder
    from instructune.quality.score import ScoringSet
    from instructune.quality.scorers import domain

    records, labels = load_labelled(path)
    scores = domain.score(ScoringSet(records, embedder=load_embedder()), min_confidence=min_confidence)
    pred = [s.extra["domain"] for s in scores]
    flagged = [any(c.startswith("domain:") for c in decide({"domain": s}, {}, review_domains=review).codes)
               for s in scores]
    print(f"{len(records)} records ({', '.join(f'{d} {labels.count(d)}' for d in dict.fromkeys(labels))}), "
          f"min_confidence {min_confidence}, review {','.join(review)}")
    print(f"{'domain':<14} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>7}")
    rows = {}
    for d in domain.domain_names():
        rows[d] = prf([x == d for x in labels], [x == d for x in pred])
    rows["needs review"] = prf([x in review for x in labels], flagged)
    for d, (tp, fp, fn, p, r) in rows.items():
        print(f"{d:<14} {tp:>3} {fp:>3} {fn:>3} {p:>9.2f} {r:>7.2f}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "labelled": str(path.name), "records": len(records), "min_confidence": min_confidence,
            "review": review,
            "rows": {d: dict(zip(("tp", "fp", "fn", "precision", "recall"), v)) for d, v in rows.items()},
        }, indent=2) + "\n", encoding="utf-8")
    if errors:
        for rec, gold, got, s in zip(records, labels, pred, scores):
            if gold != got:
                print(f"  {rec.id}: labelled {gold}, scored {got} — {s.reason} — {rec.instruction[:70]!r}")


def fit() -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from instructune.embed import load_embedder
    from instructune.quality.scorers import domain

    groups, _ = domain.load_domains()
    anchors, group_of = domain.anchor_vectors(load_embedder(), groups)
    # Examples only (the description, anchor 0 of each group, is not a prompt).
    first = {g: int(np.flatnonzero(group_of == g)[0]) for g in range(len(groups))}
    rows = [a for a in range(len(group_of)) if a != first[group_of[a]]]
    sims = anchors[rows] @ anchors.T  # (E, A)
    sims[np.arange(len(rows)), rows] = -np.inf  # leave each example out of its own anchors
    margin = domain.margins(domain.group_similarity(sims, group_of, len(groups)))  # (E, G-1)
    texts = [t for g in groups for t in g.anchors]
    hits = np.array([[len(domain.keyword_hits(texts[a], g.pattern)) for g in groups[:-1]] for a in rows])
    x = np.stack([margin.ravel(), np.minimum(hits, domain.KEYWORD_CAP).ravel()], axis=1)
    y = np.array([group_of[a] == d for a in rows for d in range(len(groups) - 1)])
    # Weak L2 (C=100): the examples nearly separate, and an unpenalised fit would give infinite
    # weights; C=100 had the best 5-fold log-loss of 10 and 100 on these examples.
    lr = LogisticRegression(C=100.0).fit(x, y)
    print(f"{len(rows)} examples, {int(y.sum())} positive pairs of {len(y)}; training accuracy {lr.score(x, y):.2f}")
    print("calibration:")
    print(f"  bias: {lr.intercept_[0]:.3f}\n  margin: {lr.coef_[0][0]:.3f}\n  keywords: {lr.coef_[0][1]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labelled", type=Path, default=LABELLED)
    ap.add_argument("--min-confidence", type=float, default=0.25, help="the scorer's default: MIN_CONFIDENCE")
    ap.add_argument("--review", default="finance,law,health", help="comma-separated domains sent to review")
    ap.add_argument("--errors", action="store_true", help="list the misclassified records")
    ap.add_argument("--fit", action="store_true", help="refit the calibration instead of evaluating")
    ap.add_argument("--out", type=Path, help="also write the table as JSON (bench/results/quality/domain_scorer.json)")
    args = ap.parse_args()
    if args.fit:
        fit()
    else:
        evaluate(args.labelled, args.min_confidence, [d for d in args.review.split(",") if d], args.errors, args.out)


if __name__ == "__main__":
    main()
