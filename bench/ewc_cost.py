"""What EWC and L2-SP cost: Fisher estimation, seconds per step, peak memory, the penalty alone.

    OMP_NUM_THREADS=1 python bench/ewc_cost.py [--model tiny|smollm2-135m-instruct|PATH] [--method lora|full]
        [--steps 4] [--batch-size 4] [--max-length 256] [--fisher-tokens 4096] [--out results.json]

Arms, each a short `instructune train` run (`recipes/train.main`) in its own fresh subprocess
(the script re-invokes itself with `--only ARM --json-out FILE`) with its own empty Fisher
cache, so memory and the cache do not carry over:

- `off`   no objective (today's training);
- `l2sp`  objectives.l2sp.weight=1;
- `ewc`   objectives.ewc.weight=1 (the Fisher is estimated in that run, on
          `--fisher-tokens` tokens of the shipped corpus, read from its end).

Per arm: seconds per step (the loop's mean over `--steps` steps, step 1 included), peak RSS at
the end of the run (`getrusage`, includes model load; on a GPU also the peak allocated device
memory), and for `ewc` the Fisher's estimation time, its peak memory and its own size. Then,
in the parent, the penalty alone: the mean time of one forward + backward of each penalty
(`step_terms`) on the model, which is what EWC / L2-SP add to every optimizer step, free of
the noise a shared machine puts into whole steps.

`--model tiny` builds the tests' tiny model (seconds); the default model needs its converted
copy in the instructune cache (`instructune quickstart` makes it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"

ARMS = {"off": [], "l2sp": ["objectives.l2sp.weight=1"], "ewc": ["objectives.ewc.weight=1"]}
USER_CACHE = Path(os.environ.get("INSTRUCTUNE_CACHE", Path.home() / ".cache" / "instructune"))


def model_path(name: str, root: Path) -> str:
    if name != "tiny":
        return name
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from tiny import build_tiny

    path = root / "tiny"
    return str(path if (path / "config.json").exists() else build_tiny(path))


def overrides(args, model: str, out: Path, arm: str) -> list[str]:
    return [f"model.name={model}", f"output_dir={out}", f"train.method={args.method}",
            f"train.max_steps={args.steps}", f"train.batch_size={args.batch_size}", "train.warmup_ratio=0",
            f"data.max_length={args.max_length}", "data.heldout=[]", "train.eval_every=0",
            "train.checkpoint_every=0", f"objectives.ewc.max_tokens={args.fisher_tokens}", *ARMS[arm]]


def run_one(args) -> None:
    """One arm in this (fresh) process; writes its numbers to --json-out."""
    import torch

    from instructune.config import load_config
    from instructune.recipes import train

    work = Path(args.work)
    cache = Path(tempfile.mkdtemp(prefix="ewc-bench-cache-", dir=work))
    if (USER_CACHE / "models").is_dir():
        (cache / "models").symlink_to(USER_CACHE / "models")  # the converted default model
    os.environ["INSTRUCTUNE_CACHE"] = str(cache)  # an empty Fisher cache: ewc estimates
    model = model_path(args.model, work)
    t0 = time.perf_counter()
    summary = train.main(load_config(None, overrides(args, model, work / f"run-{args.only}", args.only)))
    out = {"arm": args.only, "seconds_per_step": summary["seconds_per_step"], "run_seconds": time.perf_counter() - t0,
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "final_loss": summary["final"].get("loss"), "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    if "objectives" in summary:
        out["objectives"] = summary["objectives"]
    Path(args.json_out).write_text(json.dumps(out))


def penalty_timing(args, work: Path, repeats: int = 5) -> dict[str, float]:
    """Mean ms of one penalty forward + backward (`step_terms`) on the trained model, per arm,
    with the adapters (or weights) moved off their start so the penalty is not zero."""
    import torch

    from instructune.config import load_config
    from instructune.recipes import builders
    from instructune.train.build import model_for_training

    os.environ["INSTRUCTUNE_CACHE"] = str(work / "penalty-cache")
    (work / "penalty-cache").mkdir(exist_ok=True)
    if (USER_CACHE / "models").is_dir() and not (work / "penalty-cache" / "models").exists():
        (work / "penalty-cache" / "models").symlink_to(USER_CACHE / "models")
    model_name = model_path(args.model, work)
    out = {}
    for arm in ("l2sp", "ewc"):
        cfg = load_config(None, overrides(args, model_name, work / "unused", arm))
        model, tok, _ = model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora)
        objectives, _ = builders.regularizers(cfg, model, tok, log=lambda s: None)
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 1e-3)
        penalty = objectives[arm]
        times = []
        for i in range(repeats + 1):
            t = time.perf_counter()
            penalty.step_terms(model)[arm].backward()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            if i:  # the first call is warm-up
                times.append(time.perf_counter() - t)
        out[arm] = 1000 * sum(times) / len(times)
        del model, objectives
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--method", default="lora", choices=["lora", "full"])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--fisher-tokens", type=int, default=4096)
    ap.add_argument("--out", default="")
    ap.add_argument("--only", default="", help=argparse.SUPPRESS)
    ap.add_argument("--json-out", default="", help=argparse.SUPPRESS)
    ap.add_argument("--work", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only:
        run_one(args)
        return
    work = Path(tempfile.mkdtemp(prefix="ewc-bench-"))
    results = []
    for arm in ARMS:
        js = work / f"{arm}.json"
        cmd = [sys.executable, __file__, *sys.argv[1:], "--only", arm, "--json-out", str(js), "--work", str(work)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results.append(json.loads(js.read_text()))
    penalty_ms = penalty_timing(args, work)
    print(f"model {args.model}, method {args.method}, {args.steps} steps of batch {args.batch_size} x "
          f"<= {args.max_length} tokens, {results[0]['threads']} thread(s)")
    base = results[0]
    for r in results:
        line = (f"  {r['arm']:5s} {r['seconds_per_step']:.3f} s/step ({r['seconds_per_step'] / base['seconds_per_step']:.2f}x)"
                f"  peak RSS {r['peak_rss_mib']:,.0f} MiB ({r['peak_rss_mib'] - base['peak_rss_mib']:+,.0f})")
        if "peak_cuda_mib" in r:
            line += f"  peak GPU {r['peak_cuda_mib']:,.0f} MiB ({r['peak_cuda_mib'] - base['peak_cuda_mib']:+,.0f})"
        if r["arm"] in penalty_ms:
            line += f"  penalty fwd+bwd {penalty_ms[r['arm']]:.1f} ms"
        print(line)
        f = r.get("objectives", {}).get("fisher")
        if f:
            print(f"        Fisher: {f['seconds']} s on {f['documents']} documents ({f['tokens']:,} tokens), "
                  f"peak memory {f['peak_memory_mib']:,} MiB, {f['parameters']:,} weights = {f['memory_mib']:,} MiB fp32")
        if r.get("objectives", {}).get("anchor_mib"):
            print(f"        θ* copy: {r['objectives']['anchor_mib']:,} MiB fp32")
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "arms": results, "penalty_ms": penalty_ms}, indent=2))


if __name__ == "__main__":
    main()
