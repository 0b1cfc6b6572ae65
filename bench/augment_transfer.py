"""Transfer of constraint augmentation: does tuning teach the constraint types it trained on only,
or types it never saw too? Reads what `instructune eval` wrote into a run dir.

    python bench/augment_transfer.py RUN_DIR [RUN_DIR ...] [--augmented FILE] [--base-verdicts FILE] [--out FILE.json]

RUN_DIR holds the base and tuned IFEval verdicts (`ifeval_verdicts_base.jsonl`,
`ifeval_verdicts.jsonl`); for an ablation cell, whose base was scored once for every cell,
`--base-verdicts ABL/base/ifeval_verdicts.jsonl` names the base's. The augmented training records (default RUN_DIR/augmented.jsonl, or
RUN_DIR/data/augmented.jsonl for a quickstart) say which types training saw. Each eval
instruction is "seen" when its type occurs in the augmented records and "unseen" otherwise
(types held out with `held_out`, generate-only types in a run without generation, and types
augmentation does not know). Printed and written: instruction-level strict accuracy of base
and tuned per group, with the paired bootstrap interval of tuned − base over instructions, and
the same at the prompt level for prompts whose instructions are all seen / any unseen, and
both levels over everything ("all"). Several RUN_DIRs are the seeds of one arm (each trained
on the same constraint types): tuned − base is then averaged over them, its interval the
ablation runner's two-way bootstrap over seeds and items, with its p-value and the smallest
difference it could have seen (80% power). `per_type` holds the instruction-level rows of each
constraint type on its own (printed with --per-type), to say which types gain and which lose.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def seen_types(augmented: Path) -> set[str]:
    """The constraint types in the augmented records; none for a run trained without
    augmentation (no such file): every type is then "unseen" and the "all" rows are its gain."""
    if not augmented.exists():
        return set()
    return {c["id"] for r in read_jsonl(augmented) for c in r["meta"]["augment"]["constraints"]}


def paired(tuned: list[float], base: list[float], seed: int = 0) -> dict:
    from instructune.evaluate.intervals import paired_bootstrap

    if not tuned:
        return {"n": 0}
    d = paired_bootstrap(tuned, base, seed)
    return {"n": d["n"], "base": sum(base) / len(base), "tuned": sum(tuned) / len(tuned),
            "diff": d["diff"], "lo": d["lo"], "hi": d["hi"], "significant": d["significant"]}


def over_seeds(tuned: list[list[float]], base: list[float], seed: int = 0) -> dict:
    """tuned − base with seeds (rows of `tuned`, one per run) and items resampled at once, the
    ablation runner's two-way bootstrap (`evaluate/two_way_bootstrap.py`); the base model is
    the same at every seed."""
    import numpy as np

    from instructune.evaluate.two_way_bootstrap import ItemGrid, two_way

    if not base:
        return {"n": 0}
    ids = tuple(str(i) for i in range(len(base)))
    ones = np.ones((len(tuned), len(base)))
    grid = ItemGrid(ids, np.asarray(tuned, dtype=np.float64), ones, "ratio")
    ref = ItemGrid(ids, np.tile(np.asarray(base, dtype=np.float64), (len(tuned), 1)), ones, "ratio")
    r = two_way(grid, ref, seed)
    lo, hi = r.interval(0.95)
    return {"n": len(base), "seeds": len(tuned), "base": sum(base) / len(base),
            "tuned": float(np.mean(tuned)), "diff": r.estimate, "lo": lo, "hi": hi,
            "significant": bool(lo > 0 or hi < 0), "p": r.p_value(), "mde": r.mde(0.05)}


def item_lists(run: Path, base: dict[str, dict], seen: set[str]) -> tuple[dict, dict, list[str], dict]:
    """One run's tuned and base per-item outcomes by group: ({group: (tuned, base)} of
    instructions, the same of prompts, the unseen types met, {type: (tuned, base)} of
    instructions)."""
    tuned = {v["prompt"]: v for v in read_jsonl(run / "ifeval_verdicts.jsonl")}
    shared = [p for p in tuned if p in base]
    groups = {"seen": ([], []), "unseen": ([], []), "all": ([], [])}
    prompts = {"all seen": ([], []), "any unseen": ([], []), "all": ([], [])}
    types: dict[str, tuple[list, list]] = {}
    for p in shared:
        b, t = base[p], tuned[p]
        for i, type_id in enumerate(t["instruction_id_list"]):
            for g in (groups["seen" if type_id in seen else "unseen"], groups["all"],
                      types.setdefault(type_id, ([], []))):
                g[0].append(float(t["follow_instruction_list"][i]))
                g[1].append(float(b["follow_instruction_list"][i]))
        kind = "all seen" if all(x in seen for x in t["instruction_id_list"]) else "any unseen"
        for g in (prompts[kind], prompts["all"]):
            g[0].append(float(t["follow_all_instructions"]))
            g[1].append(float(b["follow_all_instructions"]))
    unseen = sorted({x for p in shared for x in tuned[p]["instruction_id_list"] if x not in seen})
    return groups, prompts, unseen, dict(sorted(types.items()))


def transfer(runs: list[Path], augmented: list[Path], base_verdicts: Path | None = None) -> dict:
    """tuned − base per group, for one run (paired bootstrap over items) or several seeds of
    one arm (two-way bootstrap over seeds and items; every seed must have trained on the same
    constraint types, so that "seen" means the same for all)."""
    seens = [seen_types(a) for a in augmented]
    if any(s != seens[0] for s in seens):
        raise SystemExit("error: the runs' augmented records hold different constraint types")
    seen = seens[0]
    base = {v["prompt"]: v for v in read_jsonl(base_verdicts or runs[0] / "ifeval_verdicts_base.jsonl")}
    per_run = [item_lists(run, base, seen) for run in runs]
    sizes = [[len(v[0]) for v in groups.values()] for groups, *_ in per_run]
    if any(s != sizes[0] for s in sizes):
        raise SystemExit("error: the runs were scored on different prompts")
    out = {"runs": [str(r) for r in runs], "seen_types": sorted(seen), "unseen_types": per_run[0][2]}
    for level, at in (("instruction_level_strict", 0), ("prompt_level_strict", 1), ("per_type", 3)):
        first = per_run[0][at]
        if len(runs) == 1:
            out[level] = {k: paired(*v) for k, v in first.items()}
        else:
            out[level] = {k: over_seeds([r[at][k][0] for r in per_run], first[k][1]) for k in first}
    return out


def show(res: dict, per_type: bool = False) -> None:
    print(f"unseen types in the eval: {', '.join(res['unseen_types']) or 'none'}")
    print("| level | group | n | base | tuned | tuned − base [95%] |\n|---|---|---|---|---|---|")
    for level in ("instruction_level_strict", "prompt_level_strict", *(("per_type",) if per_type else ())):
        for group, d in res[level].items():
            if d["n"]:
                print(f"| {level.split('_')[0]} | {group} | {d['n']} | {d['base']:.3f} | {d['tuned']:.3f} | "
                      f"{d['diff']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]{'' if d['significant'] else ' n.s.'} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", nargs="+", help="run dirs that `instructune eval` scored (base and tuned IFEval "
                   "verdicts); several: the seeds of one arm")
    p.add_argument("--augmented", help="the augmented training records every run trained on, e.g. a file made by "
                   "`instructune augment` and given as data.train (default: found in each run dir)")
    p.add_argument("--base-verdicts", help="the base model's verdicts (default: RUN_DIR/ifeval_verdicts_base.jsonl)")
    p.add_argument("--per-type", action="store_true",
                   help="print each constraint type's instruction-level row too")
    p.add_argument("--out", help="write the result as JSON")
    args = p.parse_args()
    runs = [Path(r) for r in args.run]
    augmented = [Path(args.augmented)] * len(runs) if args.augmented else [next(
        (q for q in (run / "augmented.jsonl", run / "data" / "augmented.jsonl") if q.exists()), run / "augmented.jsonl")
        for run in runs]
    res = transfer(runs, augmented, Path(args.base_verdicts) if args.base_verdicts else None)
    show(res, args.per_type)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
