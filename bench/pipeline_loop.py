"""The `self_instruct_loop` pipeline run twice: wall time per stage and record counts of the
first run, and the wall time of the second (every stage skipped).

    python bench/pipeline_loop.py --seeds /path/to/seed_tasks.jsonl --output /tmp/loop \
        --out bench/results/pipeline/loop.json self_instruct.rounds=1 train.max_steps=10 ...

Each run is the CLI (`python -m instructune run`) in its own process, so the second one's time
includes the imports, as a user's would. The per-stage seconds and counts are the stage records
the first run wrote (RUN/stages/<stage>.json). On a shared CPU the times measure the machine's
load as much as the code: say what else ran.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def run_once(argv: list[str]) -> tuple[int, float]:
    """Exit code and wall seconds of one `instructune run`."""
    t0 = time.perf_counter()
    code = subprocess.run([sys.executable, "-m", "instructune", "run", *argv]).returncode
    return code, time.perf_counter() - t0


def stage_records(run: Path) -> dict[str, dict]:
    """{stage: its record}, in pipeline order (as the saved records name them)."""
    from instructune.config.pipeline import STAGES

    found = {p.stem: json.loads(p.read_text()) for p in (run / "stages").glob("*.json")}
    return {s: found[s] for s in STAGES if s in found}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", required=True, help="the Self-Instruct seed_tasks.jsonl")
    p.add_argument("--output", required=True, help="the pipeline's run dir (started over with --overwrite)")
    p.add_argument("--recipe", default="self_instruct_loop")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", help="write the figures here as JSON")
    p.add_argument("overrides", nargs="*", help="key=value overrides of the recipe")
    args = p.parse_args()
    argv = ["--recipe", args.recipe, "--output", args.output, f"data.train=[{args.seeds}]",
            "--threads", str(args.threads), *args.overrides]
    first_code, first = run_once([*argv, "--overwrite"])
    second_code, second = run_once(argv)
    stages = stage_records(Path(args.output))
    print(f"{'stage':<9} {'in':>6} {'out':>6} {'seconds':>9}  reasons")
    for name, rec in stages.items():
        c = rec["counts"]
        print(f"{name:<9} {c.get('in', 0):>6} {c.get('out', 0):>6} {rec['seconds']:>9.1f}  {c.get('reasons', {})}")
    print(f"first run: {first:.1f} s (exit {first_code}); second run: {second:.1f} s (exit {second_code})")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({
            "argv": argv, "first_run_seconds": round(first, 1), "first_exit": first_code,
            "second_run_seconds": round(second, 1), "second_exit": second_code,
            "stages": {n: {"seconds": r["seconds"], **r["counts"]} for n, r in stages.items()}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
