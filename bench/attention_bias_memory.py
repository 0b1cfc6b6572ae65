"""Peak memory of one training step at a long sequence: plain model vs instruction attention's
key form vs its score form (`addons.instruction_attention.form`).

    python bench/attention_bias_memory.py [--length 2048] [--batch 4] [--forms plain,key,score]
        [--out FILE.json]

The model: a Llama of random weights (2 layers, 64 wide, 4 heads, 2 KV heads: the size of the
tests' tiny model), float32, SDPA, on the CPU; the first quarter of every row is instruction,
the rest response. One step = forward + backward of the summed logits with respect to the
add-on (the model frozen, as under LoRA). Each form runs in its own fresh subprocess, which
reports its peak RSS (`ru_maxrss`) above its RSS just before the step, so the model and the
imports are left out and nothing carries over from one form to the next. The score form
builds a (B, H, T, T) bias per layer; the key form adds a (B, T, H_kv·D) term to the keys.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

FORMS = ("plain", "key", "score")


def rss_mib() -> float:
    """Peak RSS of this process so far, MiB (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """RSS now, MiB (from /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def one_step(form: str, length: int, batch: int) -> dict:
    """Peak RSS of one forward + backward with `form`, above the RSS before it, and its time."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from instructune.config import load_config
    from instructune.data.templates import INSTRUCTION, RESPONSE
    from instructune.model.addons import build_addons
    from instructune.model.forward import InstructForward

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=length,
                      attn_implementation="sdpa")
    model = LlamaForCausalLM(cfg).float().requires_grad_(False)
    sections = {} if form == "plain" else load_config(None, [
        "addons.instruction_attention.enabled=true", f"addons.instruction_attention.form={form}"]).addons.enabled()
    fwd = InstructForward(model, build_addons(sections, model.config))
    ids = torch.randint(5, 500, (batch, length), generator=torch.Generator().manual_seed(0))
    seg = torch.full_like(ids, RESPONSE)
    seg[:, : length // 4] = INSTRUCTION
    with torch.no_grad():
        for p in fwd.addons.parameters():
            p.add_(0.1)
    if form == "plain":  # something to differentiate: the input embeddings
        model.get_input_embeddings().weight.requires_grad_(True)
    before = current_rss_mib()
    t0 = time.perf_counter()
    hidden = fwd(ids, seg).hidden
    hidden.sum().backward()
    seconds = time.perf_counter() - t0
    return {"form": form, "length": length, "batch": batch, "peak_above_start_mib": rss_mib() - before,
            "rss_before_mib": before, "step_s": seconds}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--length", type=int, default=2048)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--forms", default=",".join(FORMS))
    p.add_argument("--out", default=None)
    p.add_argument("--only", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.only:
        print(json.dumps(one_step(args.only, args.length, args.batch)))
        return 0
    forms = [f for f in args.forms.split(",") if f]
    bad = [f for f in forms if f not in FORMS]
    if bad:
        print(f"--forms: unknown {bad}; allowed: {', '.join(FORMS)}", file=sys.stderr)
        return 2
    rows = []
    for form in forms:
        proc = subprocess.run([sys.executable, __file__, "--only", form, "--length", str(args.length),
                               "--batch", str(args.batch)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{form:>6}: peak RSS above start {r['peak_above_start_mib']:8.1f} MiB, step {r['step_s']:.2f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"length": args.length, "batch": args.batch, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
