"""What constraint augmentation costs: records/s per mode, the share dropped per constraint
type, and generator calls per kept generated record.

    python bench/augment_cost.py [--inputs starter:train] [--generate-limit 24] [--out FILE.json]
    python bench/augment_cost.py --inputs ../shared/data/self-instruct/seed_tasks.jsonl

Modes, on the same records:
- rewrite: every record down the rewrite path (rewrites and constraints drawn from the response);
- generate: every record (the first `--generate-limit`) down the generate path, answered by the
  local default model through `synth.*` (greedy attempts are not retried identically: each
  attempt samples at T 0.7 with its own seed), `--max-attempts` tries.
Printed: a table per mode (records, kept, records/s, calls per kept record) and per type (drawn,
kept, dropped share), and the drop reasons. `--out` writes the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_mode(records, settings, generator=None) -> dict:
    from instructune.augment.augmenter import Augmenter
    from instructune.recipes.augment import summarize

    t0 = time.perf_counter()
    outcomes = Augmenter(settings).augment_all(records, generator)
    return summarize(outcomes, time.perf_counter() - t0)


def show(name: str, s: dict) -> None:
    print(f"\n## {name}: {s['kept']} of {s['records']} kept, {s['records_per_second']} records/s, "
          f"{s['generator_calls']} generator calls ({s['calls_per_generated_record']} per kept generated record)")
    print(f"drops: {s['reasons']}")
    print("| type | drawn | kept | left out | dropped share |\n|---|---|---|---|---|")
    for t, v in s["types"].items():
        print(f"| {t} | {v['drawn']} | {v['kept']} | {v['left_out']} | {v['dropped_share']:.0%} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", nargs="+", default=["starter:train"], help="input files or starter:SPLIT")
    p.add_argument("--generate-limit", type=int, default=24, help="records sent down the generate path (0: none)")
    p.add_argument("--max-attempts", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the summaries as JSON")
    args = p.parse_args()

    from instructune.config import ConstraintAugmentConfig, SynthConfig
    from instructune.data.inputs import load_inputs

    records = load_inputs(args.inputs)
    out = {"inputs": args.inputs, "records": len(records)}
    out["rewrite"] = run_mode(records, ConstraintAugmentConfig(seed=args.seed))
    show("rewrite", out["rewrite"])
    if args.generate_limit:
        from instructune.synth.backends import build_generator

        gen = build_generator(SynthConfig())
        settings = ConstraintAugmentConfig(seed=args.seed, generate=1.0, max_attempts=args.max_attempts)
        out["generate"] = run_mode(records[:args.generate_limit], settings, gen)
        out["generate"]["generator"] = gen.name
        show(f"generate ({gen.name}, {args.max_attempts} attempts)", out["generate"])
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
