"""Two synth runs that differ only in their prompt texts, side by side: acceptance and elimination.

    python bench/synth_prompts.py --before DIR_A --after DIR_B [--label-before TEXT]
        [--label-after TEXT] [--command TEXT] [--out FILE]
        [--prompts-before FILE --prompts-after FILE]

DIR_A and DIR_B are output dirs of `instructune synth evol` (or `self-instruct`) run with the
same recipe, overrides and seed, the code differing only in `synth/prompts.py`. Both are read as
the run wrote them (`report.json`, `config.yaml`); nothing is rerun. Printed per run: records,
rejected, the acceptance rate (records / attempts) with its 95% Wilson interval, each rejection
reason as a share of attempts, and for Evol-Instruct the acceptance per operation; then the
difference in acceptance, after − before, with Newcombe's hybrid score interval (independent
proportions: the two runs sample different evolutions once the prompts differ).

Recheck (Evol-Instruct, with `--prompts-before` / `--prompts-after`: the `synth/prompts.py`
each run was made with, e.g. `git show COMMIT:src/instructune/synth/prompts.py > FILE`): each
accepted record's request is rebuilt from its parent with that run's prompts, and the current
elimination's prompt-copy checks (`filters.copied_prompt_check`, `filters.echoed_request_check`)
are applied to it, so both runs are held to the same rule even when one was made before a check
existed. Printed: the accepted records the recheck eliminates, and acceptance after it. (In a
live run an eliminated parent would have gone back to the pool; the recheck does not redo that.)

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


def load_prompts(path: Path):
    """A `synth/prompts.py` of any version, loaded from its file (it imports nothing of ours)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"prompts_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recheck(run: Path, report: dict, prompts_file: Path) -> dict:
    """The accepted records of an Evol-Instruct run that today's prompt-copy checks eliminate,
    each request rebuilt with the prompts the run was made with; acceptance after the recheck."""
    import yaml

    from instructune.data.inputs import load_inputs
    from instructune.synth.evol_instruct import _fields, _prompt_text
    from instructune.synth.filters import copied_prompt_check, echoed_request_check

    prompts = load_prompts(prompts_file)
    cfg = yaml.safe_load((run / "config.yaml").read_text())["evol"]
    records = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines() if line.strip()]
    known = {r.id: r.to_dict() for r in load_inputs(cfg["input"], cfg.get("input_format"))}
    known.update({r["id"]: r for r in records})
    eliminated = []
    for r in records:
        parent, op = known[r["meta"]["parent_id"]], r["meta"]["operation"]
        request = (prompts.breadth_prompt(parent["instruction"]) if op == prompts.IN_BREADTH
                   else prompts.evolve_prompt(op, parent["instruction"], parent["context"]))
        text = _prompt_text(r)
        why = copied_prompt_check(text) or echoed_request_check(_fields(r), request, _fields(parent))
        if why:
            eliminated.append({"id": r["id"], "operation": op, "detail": why.detail, "instruction": r["instruction"]})
    return {"eliminated": eliminated,
            "acceptance": rate(report["records"] - len(eliminated), attempts(report))}


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
    ap.add_argument("--prompts-before", type=Path, help="the synth/prompts.py --before was made with (recheck)")
    ap.add_argument("--prompts-after", type=Path, help="the synth/prompts.py --after was made with (recheck)")
    args = ap.parse_args(argv)
    if (args.prompts_before is None) != (args.prompts_after is None):
        ap.error("--prompts-before and --prompts-after go together")
    before, after = read_run(args.before, ap), read_run(args.after, ap)
    if before.get("method") != after.get("method"):
        ap.error(f"--before is a {before.get('method')} run and --after a {after.get('method')} run")
    sb, sa = summary(before), summary(after)
    diff = difference(sb["acceptance"], sa["acceptance"])
    lines = show(args.label_before, sb) + show(args.label_after, sa)
    lines.append(f"acceptance, after − before: {diff['diff']:+.0%} [{diff['lo']:+.0%}, {diff['hi']:+.0%}]")
    print("\n".join(lines))
    checked = None
    if args.prompts_before is not None:
        if before["method"] != "evol_instruct":
            ap.error("the recheck is for Evol-Instruct runs")
        checked = {"before": recheck(args.before, before, args.prompts_before),
                   "after": recheck(args.after, after, args.prompts_after)}
        checked["acceptance_difference"] = difference(checked["before"]["acceptance"], checked["after"]["acceptance"])
        for label, side in ((args.label_before, "before"), (args.label_after, "after")):
            c = checked[side]
            print(f"recheck, {label}: {len(c['eliminated'])} accepted records eliminated, "
                  f"accepted {pct(c['acceptance'])}")
            for e in c["eliminated"]:
                print(f"  {e['id']} ({e['operation']}): {e['detail']!r} in {e['instruction'][:80]!r}")
        d = checked["acceptance_difference"]
        print(f"acceptance after the recheck, after − before: {d['diff']:+.0%} [{d['lo']:+.0%}, {d['hi']:+.0%}]")
    if args.out:
        args.out.write_text(json.dumps({
            "command": args.command, "method": before["method"],
            "before": {"label": args.label_before, "report": before, "summary": sb},
            "after": {"label": args.label_after, "report": after, "summary": sa},
            "acceptance_difference": diff, "recheck": checked}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
