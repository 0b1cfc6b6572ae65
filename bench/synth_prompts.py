"""Two synth runs that differ only in their prompt texts, side by side: acceptance and elimination.

    python bench/synth_prompts.py --before DIR_A --after DIR_B [--label-before TEXT]
        [--label-after TEXT] [--command TEXT] [--out FILE]

DIR_A and DIR_B are output dirs of `instructune synth evol` (or `self-instruct`) run with the
same recipe, overrides and seed, the code differing only in `synth/prompts.py`. Both are read as
the run wrote them (`report.json`, `config.yaml`); nothing is rerun. Printed per run: records,
rejected, the acceptance rate (records / attempts) with its 95% Wilson interval, each rejection
reason as a share of attempts, and for Evol-Instruct the acceptance per operation; then the
difference in acceptance, after − before, with Newcombe's hybrid score interval (independent
proportions: the two runs sample different evolutions once the prompts differ).

`--out FILE` writes both reports unchanged, the printed figures, the labels and the command
given with `--command` as one JSON (bench/results/synth/prompts_*.json).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from instructune.evaluate.intervals import wilson


def attempts(report: dict) -> int:
    """Evolutions or candidates decided: records plus rejections."""
    return report["records"] + report["rejected"]


def rate(successes: int, n: int) -> dict:
    """{"rate", "successes", "n", "lo", "hi"}: a share with its 95% Wilson interval."""
    lo, hi = wilson(successes, n)
    return {"rate": successes / n if n else None, "successes": successes, "n": n, "lo": lo, "hi": hi}


def difference(a: dict, b: dict) -> dict:
    """b − a for two independent shares, with Newcombe's hybrid score interval (his method 10),
    built from each share's Wilson interval."""
    pa, pb = a["rate"], b["rate"]
    d = pb - pa
    lo = d - math.sqrt((pb - b["lo"]) ** 2 + (a["hi"] - pa) ** 2)
    hi = d + math.sqrt((b["hi"] - pb) ** 2 + (pa - a["lo"]) ** 2)
    return {"diff": d, "lo": lo, "hi": hi}


def summary(report: dict) -> dict:
    """The figures compared: acceptance, each reason's share, and acceptance per operation."""
    n = attempts(report)
    out = {"acceptance": rate(report["records"], n),
           "reasons": {k: rate(v, n) for k, v in sorted(report["reasons"].items())}}
    if "operations" in report:
        out["operations"] = {op: rate(c["accepted"], c["accepted"] + c["rejected"])
                             for op, c in report["operations"].items()}
    return out


def pct(r: dict) -> str:
    return f"{r['successes']}/{r['n']} = {r['rate']:.0%} [{r['lo']:.0%}, {r['hi']:.0%}]"


def show(label: str, s: dict) -> list[str]:
    lines = [f"{label}: accepted {pct(s['acceptance'])}"]
    lines += [f"  rejected for {k}: {pct(r)}" for k, r in s["reasons"].items()]
    lines += [f"  {op}: accepted {pct(r)}" for op, r in s.get("operations", {}).items() if r["n"]]
    return lines


def read_run(path: Path, ap: argparse.ArgumentParser) -> dict:
    """The report.json of a finished synth run dir (one line naming the dir, exit 2, when absent)."""
    try:
        return json.loads((path / "report.json").read_text())
    except (OSError, ValueError) as e:
        ap.error(f"{path}: no readable report.json ({e.__class__.__name__}); is it a finished synth run dir?")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="the run dir made with the earlier prompts")
    ap.add_argument("--after", type=Path, required=True, help="the run dir made with the new prompts")
    ap.add_argument("--label-before", default="before")
    ap.add_argument("--label-after", default="after")
    ap.add_argument("--command", default="", help="the synth command both runs used (recorded in --out)")
    ap.add_argument("--out", type=Path, help="write both reports and the figures as JSON")
    args = ap.parse_args(argv)
    before, after = read_run(args.before, ap), read_run(args.after, ap)
    if before.get("method") != after.get("method"):
        ap.error(f"--before is a {before.get('method')} run and --after a {after.get('method')} run")
    sb, sa = summary(before), summary(after)
    diff = difference(sb["acceptance"], sa["acceptance"])
    lines = show(args.label_before, sb) + show(args.label_after, sa)
    lines.append(f"acceptance, after − before: {diff['diff']:+.0%} [{diff['lo']:+.0%}, {diff['hi']:+.0%}]")
    print("\n".join(lines))
    if args.out:
        args.out.write_text(json.dumps({
            "command": args.command, "method": before["method"],
            "before": {"label": args.label_before, "report": before, "summary": sb},
            "after": {"label": args.label_after, "report": after, "summary": sa},
            "acceptance_difference": diff}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
