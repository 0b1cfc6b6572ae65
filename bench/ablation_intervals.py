"""An ablation's intervals the old way and the new: Student-t over seeds against the two-way
(seeds × items) bootstrap, with p-values, Holm's adjustment and the minimum detectable effect.

    python bench/ablation_intervals.py ABLATION_DIR [--out FILE.json]

Reads ABLATION_DIR/ablation.json, written by `instructune ablate` from cells that kept
eval_items.json (each difference then holds its seed-only t interval in `seed_t`). Prints, per
arm and evaluated metric, the difference from the baseline, both intervals and their widths, the
width ratio (new / old; "inf" where the old interval had zero width), p, Holm's p and the MDE;
then each arm's mean with both intervals. Reads files only: no model, seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from instructune.evaluate.ablation import TWO_WAY, t_interval


def ratio(new: float, old: float) -> float | str:
    return round(new / old, 2) if old > 0 else "inf"


def difference_rows(summary: dict) -> list[dict]:
    """Per arm × metric with a two-way interval: old and new widths, p, Holm, MDE."""
    rows = []
    for arm, e in summary["arms"].items():
        for metric, d in e["vs_baseline"].items():
            if d.get("method") != TWO_WAY:
                continue
            old, new = d["seed_t"]["hi"] - d["seed_t"]["lo"], d["hi"] - d["lo"]
            rows.append({"arm": arm, "metric": metric, "diff": d["diff"], "seeds": d["n"], "items": d["n_items"],
                         "t_lo": d["seed_t"]["lo"], "t_hi": d["seed_t"]["hi"], "t_width": old,
                         "lo": d["lo"], "hi": d["hi"], "width": new, "width_ratio": ratio(new, old),
                         "significant": d["significant"], "p": d["p"], "mde": d["mde"],
                         "holm_p": d.get("holm", {}).get("p"), "holm_significant": d.get("holm", {}).get("significant")})
    return rows


def mean_rows(summary: dict) -> list[dict]:
    """Per arm × metric with a two-way interval: its mean with the t and two-way intervals."""
    rows = []
    for arm, e in summary["arms"].items():
        for metric, m in e["metrics"].items():
            if m.get("method") != TWO_WAY:
                continue
            t = t_interval(list(m["values"].values()), summary["confidence"])
            rows.append({"arm": arm, "metric": metric, "mean": m["mean"], "t_width": t["hi"] - t["lo"],
                         "width": m["hi"] - m["lo"], "width_ratio": ratio(m["hi"] - m["lo"], t["hi"] - t["lo"])})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ablation_dir", type=Path)
    ap.add_argument("--out", type=Path, help="also write the rows as JSON")
    args = ap.parse_args(argv)
    summary = json.loads((args.ablation_dir / "ablation.json").read_text())
    diffs, means = difference_rows(summary), mean_rows(summary)
    if not diffs:
        print(f"{args.ablation_dir}: no difference has a two-way interval (cells without eval_items.json)",
              file=sys.stderr)
        return 2
    print(f"differences from {summary['baseline']} ({summary['confidence']:.0%}; Holm family: "
          f"{len(summary['holm']['family'])} tests)")
    print(f"{'arm':14} {'metric':34} {'diff':>9} {'t over seeds':>22} {'seeds x items':>22} "
          f"{'ratio':>6} {'p':>7} {'Holm p':>7} {'MDE':>8}")
    for r in diffs:
        holm = f"{r['holm_p']:.3f}" if r["holm_p"] is not None else "-"
        print(f"{r['arm']:14} {r['metric']:34} {r['diff']:+9.4f} [{r['t_lo']:+9.4f},{r['t_hi']:+9.4f}] "
              f"[{r['lo']:+9.4f},{r['hi']:+9.4f}] {r['width_ratio']!s:>6} {r['p']:7.3f} {holm:>7} {r['mde']:8.4f}")
    print("\narm means: interval widths")
    for r in means:
        print(f"{r['arm']:14} {r['metric']:34} {r['mean']:9.4f}  t {r['t_width']:.4f}  seeds x items "
              f"{r['width']:.4f}  ratio {r['width_ratio']}")
    if args.out:
        args.out.write_text(json.dumps({"source": str(args.ablation_dir / "ablation.json"), "differences": diffs,
                                        "means": means}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
