"""QLoRA on the CPU: the same LoRA job on a float32 base and on a 4-bit (and 8-bit) base.

    python bench/qlora_cpu.py [--model smollm2-135m-instruct | --tiny] [--steps 8] [--batch-size 4]
        [--max-length 256] [--contenders fp32,4bit,8bit] [--out results.json]

The job: the shipped starter training set, the model's chat template, LoRA r=16 / alpha=32 /
dropout 0 on all linear layers, float32 compute (the CPU's precision: the 4-bit matmuls
dequantize to float32), AdamW, batch size `--batch-size`, `--steps` optimizer steps, seed 0.
`--tiny` uses a random 2-layer, 64-wide Llama with the default model's tokenizer instead (to
check that the script works, in seconds; its numbers mean nothing).

Per contender, each in its own fresh subprocess (the script re-invokes itself with `--only`):

- weights bytes: the loaded model's state dict (quantized weights, their quantization state,
  and everything left unquantized: embeddings, norms, head), before LoRA;
- peak RSS (`getrusage(RUSAGE_SELF).ru_maxrss`) at the end of the last step;
- seconds / step over the steady state (steps 2..N), and the first and last loss.

On a CPU, bitsandbytes dequantizes each 4-bit weight to float32 for every matmul, forward and
backward, so a 4-bit base saves weight memory and costs time; on a small model the embeddings
and head (unquantized) dominate the weights. Numbers from a shared or busy machine are not
timings to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUANTIZATION = {"fp32": "none", "4bit": "4bit", "8bit": "8bit"}


def tiny_model(out: Path) -> Path:
    """A random 2-layer Llama (hidden 64) with the default model's tokenizer, saved to `out`."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from instructune.model.load import resolve_model

    if (out / "config.json").exists():
        return out
    tok = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct"))
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def state_bytes(model) -> int:
    """Bytes of `model`'s state dict (a 4-bit layer's packed weight and its quantization state)."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values() if hasattr(t, "element_size"))


def run_one(args) -> dict:
    """Train one contender in this process; its measurements."""
    from instructune.config import load_config
    from instructune.train.assemble import assemble
    from instructune.train.build import load_for_training
    from instructune.train.metrics_log import MetricsLog

    q = QUANTIZATION[args.only]
    cfg = load_config(None, [
        f"model.name={args.model}", f"model.quantization={q}", f"output_dir={args.workdir}/{args.only}",
        "data.train=[starter:train]", "data.heldout=[]", f"data.max_length={args.max_length}", "data.cache=false",
        "lora.r=16", "lora.alpha=32", "lora.dropout=0.0", "lora.target_modules=all-linear", "train.lr=2e-4",
        f"train.batch_size={args.batch_size}", f"train.max_steps={args.steps}", "train.warmup_ratio=0.0",
        "train.log_every=1", "train.checkpoint_every=0", "train.seed=0", "train.mixed_precision=no",
        "model.dtype=float32"])
    weights = state_bytes(load_for_training(cfg.model, cfg.template, cfg.train, "cpu")[0])
    times, losses = [], []
    original = MetricsLog.write

    def timed(self, row):
        if "loss" in row:
            times.append(time.perf_counter())
            losses.append(row["loss"])
        return original(self, row)

    MetricsLog.write = timed
    try:
        assemble(cfg).fit()
    finally:
        MetricsLog.write = original
    steady = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else float("nan")
    return {"name": args.only, "quantization": q, "weights_mib": weights / 2**20,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "s_per_step": steady,
            "first_loss": losses[0], "last_loss": losses[-1], "steps": len(losses)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--tiny", action="store_true", help="a random 2-layer model: checks the script, in seconds")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--contenders", default="fp32,4bit,8bit")
    p.add_argument("--workdir", default="qlora-cpu-work")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--only"), p.add_argument("--json-out")
    args = p.parse_args()
    if args.only:
        Path(args.json_out).write_text(json.dumps(run_one(args)))
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    model = str(tiny_model(work / "tiny-model")) if args.tiny else args.model
    results = []
    for name in [n for n in args.contenders.split(",") if n]:
        if name not in QUANTIZATION:
            sys.exit(f"--contenders: {name!r} is not one of {', '.join(QUANTIZATION)}")
        out = work / f"{name}.json"
        cmd = [sys.executable, __file__, "--only", name, "--json-out", str(out), "--model", model, "--workdir",
               str(work), "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--max-length",
               str(args.max_length)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
            continue
        results.append(json.loads(out.read_text()))
    print(f"{'contender':10} {'weights MiB':>11} {'peak RSS MiB':>12} {'s/step':>8} {'loss first→last':>18}")
    for r in results:
        print(f"{r['name']:10} {r['weights_mib']:11.1f} {r['peak_rss_mib']:12.0f} {r['s_per_step']:8.3f} "
              f"{r['first_loss']:8.4f}→{r['last_loss']:.4f}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
