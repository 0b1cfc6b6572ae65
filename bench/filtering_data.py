"""Data for the filtering experiment: a real training set with a known share of injected damage,
a clean held-out set, and, once `instructune quality` has filtered it, where the damage went.

    python bench/filtering_data.py build --data-dir ../shared/data --out DIR [--seed 0]
        [--train 300] [--heldout 100] [--damage-share 0.3]
    instructune quality DIR/train_damaged.jsonl --output DIR/quality
    python bench/filtering_data.py where DIR [--out FILE.json]

`build` reads the damage benchmark's clean records in place (`bench/quality_damage.py:
load_clean`: Self-Instruct seed tasks, a GSM8K sample with rationales, P3 rows, OpenAssistant
answers), draws a held-out set and a training set from them (disjoint), and replaces
`damage-share` of the training records with a damaged version of themselves, the damage types
taking turns (`quality/damage.py`: shuffled and off-task responses, truncation, context copies,
repetition, another language, refusals, contradictions). It writes DIR/train_clean.jsonl (the
training set before damage), DIR/train_damaged.jsonl (after), DIR/heldout.jsonl and
DIR/labels.json (id of each damaged record → its damage type). The ablation then trains on train_damaged.jsonl,
on what quality control accepted, and on train_clean.jsonl (the ceiling), and scores each on
the clean held-out set.

`where` counts, per damage type and for the clean records, how many ended in accepted,
flagged, deferred and rejected.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUTCOMES = ("accepted", "flagged", "deferred", "rejected")


def _quality_damage():
    sys.path.insert(0, str(BENCH))
    import quality_damage  # the benchmark's readers of the shared data

    return quality_damage


def damage_some(train: list, share: float, seed: int, foreign: list[str]) -> tuple[list, dict[str, str]]:
    """`train` with `share` of its records replaced by damaged versions (damage types in turn,
    each record drawn among those the type applies to). Returns (records, {id: damage})."""
    from instructune.quality.damage import DAMAGES, damage_all

    by_type = {name: dict(pairs) for name, pairs in damage_all(train, seed, foreign).items()}
    rng = random.Random(f"{seed}:filtering")
    n_damaged = round(share * len(train))
    replaced: dict[str, object] = {}  # clean id → its damaged version
    for i in range(n_damaged * 4):  # a type with no record left is skipped; enough turns to fill
        if len(replaced) == n_damaged:
            break
        name = DAMAGES[i % len(DAMAGES)]
        free = [rid for rid in by_type[name] if rid not in replaced]
        if free:
            rid = rng.choice(free)
            replaced[rid] = by_type[name][rid]
    # a damaged record's id names its damage ("ID~truncated", `quality/damage.py`)
    labels = {d.id: d.id.rsplit("~", 1)[1] for d in replaced.values()}
    return [replaced.get(r.id, r) for r in train], labels


def build(args: argparse.Namespace) -> None:
    from instructune.data.jsonio import write_json, write_jsonl

    qd = _quality_damage()
    clean = qd.load_clean(args.data_dir, args.seed)
    rng = random.Random(args.seed)
    rng.shuffle(clean)
    if len(clean) < args.heldout + args.train:
        raise SystemExit(f"error: {len(clean)} clean records, fewer than --heldout + --train")
    heldout, train = clean[:args.heldout], clean[args.heldout:args.heldout + args.train]
    damaged, labels = damage_some(train, args.damage_share, args.seed, qd.foreign_texts(args.data_dir, clean))
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "train_clean.jsonl", (r.to_dict() for r in train))
    write_jsonl(args.out / "train_damaged.jsonl", (r.to_dict() for r in damaged))
    write_jsonl(args.out / "heldout.jsonl", (r.to_dict() for r in heldout))
    write_json(args.out / "labels.json", labels)
    print(f"{len(train)} training records, {len(labels)} damaged ({dict(Counter(labels.values()))}); "
          f"{len(heldout)} held out; in {args.out}")


def where(args: argparse.Namespace) -> dict:
    """Per damage type (and "clean"): records in each quality outcome file."""
    labels = json.loads((args.dir / "labels.json").read_text())
    counts: dict[str, Counter] = {}
    for outcome in OUTCOMES:
        path = args.dir / "quality" / f"{outcome}.jsonl"
        for line in (path.read_text().splitlines() if path.exists() else []):
            if line.strip():
                label = labels.get(json.loads(line)["id"], "clean")
                counts.setdefault(label, Counter())[outcome] += 1
    out = {label: {o: c[o] for o in OUTCOMES} | {"total": sum(c.values())} for label, c in sorted(counts.items())}
    for label, row in out.items():
        kept = row["accepted"] + row["deferred"]
        print(f"{label:15s} {row['total']:4d}  accepted {row['accepted']:4d}  flagged {row['flagged']:4d}  "
              f"deferred {row['deferred']:4d}  rejected {row['rejected']:4d}  kept {kept / row['total']:.0%}")
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="the damaged training set, its clean twin and a held-out set")
    b.add_argument("--data-dir", type=Path, default=BENCH.parents[1] / "shared" / "data")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--train", type=int, default=300)
    b.add_argument("--heldout", type=int, default=100)
    b.add_argument("--damage-share", type=float, default=0.3)
    w = sub.add_parser("where", help="where quality control put each damaged and clean record")
    w.add_argument("dir", type=Path)
    w.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    build(args) if args.cmd == "build" else where(args)


if __name__ == "__main__":
    main()
