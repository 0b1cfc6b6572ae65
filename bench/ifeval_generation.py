"""The full IF suite on the default model: generation tok/s and the suite's wall time.

    python bench/ifeval_generation.py [--max-prompts 0] [--every 1] [--fixed 0] [--batch-size 8] [--threads 1] [--out F.json]

What runs is what `instructune eval` runs for the "ifeval" suite of one model: the default
model (SmolLM2-135M-Instruct, fp32, on CPU unless an accelerator is there), the shipped prompts
rendered with the default template, greedy generation through `generation/batched.py`
(`generate_ids`: batches sorted by length, left padding, KV cache), prompts batched by their
generation cap (`--fixed 0`, the default: each prompt's fitted cap; `--fixed N`: every prompt N,
as before fitted caps), then strict and loose scoring.

`--every K` runs every K-th prompt instead (a sample with the set's mix of caps, for a machine
too slow or too shared for all of them) and also prints K times its wall time as an estimate of
the whole suite's, labelled as one. Each cap's batches print their time as they finish.

Printed (and written to --out as JSON): the caps used, tokens generated (the decoded replies
re-tokenized, so ±1 a reply), generation wall time and tok/s, scoring time, the suite's wall
time (wall and this process's CPU) and the prompt-level accuracies; the load average, since on a shared machine wall time is
not the code's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-prompts", type=int, default=0, help="the first N shipped prompts; 0 for all")
    ap.add_argument("--every", type=int, default=1, help="every K-th prompt (a sample); 1 for all")
    ap.add_argument("--fixed", type=int, default=0, help="eval.ifeval_max_new_tokens: 0 fits each prompt's cap")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="write the figures here as JSON")
    args = ap.parse_args(argv)

    import torch

    from instructune.config import load_config
    from instructune.cpu import set_threads
    from instructune.evaluate.harness import ModelEval
    from instructune.evaluate.ifeval import load_prompts
    from instructune.evaluate.ifeval.length_budget import prompt_caps
    from instructune.recipes.builders import inference_kwargs

    set_threads(args.threads)
    cfg = load_config(None, [f"eval.ifeval_max_new_tokens={args.fixed}", f"eval.batch_size={args.batch_size}"])
    prompts = load_prompts()
    prompts = prompts[:args.max_prompts] if args.max_prompts else prompts
    prompts = prompts[::args.every]
    caps = prompt_caps(prompts, args.fixed)

    t0 = time.perf_counter()
    ev = ModelEval(cfg.model.name, cfg.eval, cfg.template, cfg.data.max_length, inference_kwargs(cfg), print)
    load_s = time.perf_counter() - t0
    timings: dict[str, float] = {}
    real_generate = ev.generate

    def timed_generate(records, cap):
        t = time.perf_counter()
        out = real_generate(records, cap)
        took = time.perf_counter() - t
        timings["generate"] = timings.get("generate", 0.0) + took
        made = sum(len(ev.tokenizer(o, add_special_tokens=False)["input_ids"]) for o in out)
        print(f"  cap {cap}: {len(records)} prompts, {made} tokens in {took:.1f} s ({made / took:.1f} tok/s)", flush=True)
        return out

    ev.generate = timed_generate
    t0, c0 = time.perf_counter(), time.process_time()
    ev.ifeval(prompts)
    suite_s, suite_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    tokens = sum(len(ev.tokenizer(v.response, add_special_tokens=False)["input_ids"]) for v in ev.verdicts)
    gen_s = timings["generate"]
    summary = ev.metrics["ifeval"]
    result = {
        "prompts": len(prompts), "every": args.every, "fixed_cap": args.fixed or None, "caps": dict(sorted(Counter(caps).items())),
        "cap_tokens": sum(caps), "generated_tokens": tokens, "batch_size": args.batch_size,
        "threads": args.threads, "device": str(next(ev.model.parameters()).device), "torch": torch.__version__,
        "load_s": round(load_s, 1), "generate_s": round(gen_s, 1), "score_s": round(suite_s - gen_s, 2),
        "suite_s": round(suite_s, 1), "suite_cpu_s": round(suite_cpu_s, 1), "tokens_per_s": round(tokens / gen_s, 1),
        "prompt_level_strict": summary["prompt_level_strict"]["accuracy"],
        "prompt_level_loose": summary["prompt_level_loose"]["accuracy"],
        "load_average": os.getloadavg()[0], "cpus": os.cpu_count(),
    }
    print(f"{len(prompts)} prompts, caps {result['caps']} ({sum(caps)} tokens at most), batch {args.batch_size}, "
          f"{args.threads} thread(s) on {result['device']}")
    print(f"generated {tokens} tokens in {gen_s:.1f} s: {tokens / gen_s:.1f} tok/s; scoring {suite_s - gen_s:.2f} s; "
          f"the suite {suite_s:.1f} s wall, {suite_cpu_s:.1f} s CPU (model load {load_s:.1f} s apart)")
    if args.every > 1:
        result["suite_s_estimate"] = round(suite_s * args.every, 1)
        print(f"estimate for the whole set (every {args.every}th prompt run): {suite_s * args.every / 60:.1f} min")
    print(f"prompt-level strict {result['prompt_level_strict']:.3f}, loose {result['prompt_level_loose']:.3f}")
    print(f"load average {result['load_average']:.1f} on {result['cpus']} cores: wall time is not the code's alone "
          f"on a shared machine")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
