"""Generation throughput: our engine (`generate_ids`, a running batch) against transformers'
`model.generate` at its defaults, on the same prompts, greedy.

    python bench/generation_throughput.py [--model smollm2-135m-instruct] [--random-shape L,D,H]
        [--prompts 32] [--max-new-tokens 64] [--batch-sizes 1,8,32] [--threads 1] [--out FILE.json]

The job: the first `--prompts` instructions of the shipped starter set (`starter:train`, context
appended), each a one-turn chat through the model's chat template, `--max-new-tokens` at most.
For each batch size B both engines generate for all prompts, B at a time:

- `ours`          `generate_ids(model, tok, prompts, GenParams(temperature=0), batch_size=B)`;
- `transformers`  the prompts in input order, B per call, left-padded by the tokenizer, one
                  `model.generate(input_ids, attention_mask, max_new_tokens=N, do_sample=False)`
                  per chunk; everything else is the model's generation config (its EOS, its
                  dynamic cache). Its rows are cut at our end tokens (EOS and end-of-turn) to be
                  compared.

Measured per engine and B: `tok/s`, generated tokens (end token excluded) over the wall time of
the whole job; `ttft`, time to first token, the wall time of the first chunk of B prompts with
max_new_tokens=1 (a prefill); `same`, the share of prompts whose greedy ids are identical
token for token. `--random-shape L,D,H` replaces the weights by a random Llama of L layers,
width D and H heads over the same tokenizer (shape, not quality: its replies are noise).
Timings need a quiet machine; on a shared one they only show that the script runs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from instructune.data.jsonio import write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def chat_prompts(engine, n: int) -> list[list[int]]:
    """Prompt ids of the first `n` starter instructions as one-turn chats."""
    from instructune.data.inputs import load_inputs

    recs = load_inputs(["starter:train"])[:n]
    return engine.chat_ids([[{"role": "user", "content": r.instruction + (f"\n\n{r.context}" if r.context else "")}]
                            for r in recs])


def random_model(tokenizer, shape: str):
    """A randomly initialised Llama of shape "layers,width,heads" over `tokenizer`'s vocabulary."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    layers, width, heads = (int(x) for x in shape.split(","))
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=width, intermediate_size=width * 8 // 3,
                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                      max_position_embeddings=2048, pad_token_id=tokenizer.pad_token_id,
                      eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    return LlamaForCausalLM(cfg).eval()


def cut(ids: list[int], ends: set[int]) -> list[int]:
    """`ids` up to the first end token."""
    return ids[:next((i for i, t in enumerate(ids) if t in ends), len(ids))]


def transformers_generate(lm, tokenizer, prompts: list[list[int]], max_new: int, batch: int) -> list[list[int]]:
    """transformers' generate at its defaults, `batch` prompts per call in input order, left-padded."""
    import torch

    tokenizer.padding_side = "left"
    out = []
    for s in range(0, len(prompts), batch):
        enc = tokenizer.pad({"input_ids": prompts[s:s + batch]}, return_tensors="pt")
        with torch.no_grad():
            gen = lm.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                              max_new_tokens=max_new, do_sample=False)
        out += gen[:, enc["input_ids"].shape[1]:].tolist()
    return out


def ours_generate(model, tokenizer, prompts: list[list[int]], max_new: int, batch: int) -> list[list[int]]:
    from instructune.generation.batched import generate_ids
    from instructune.generation.params import GenParams

    return generate_ids(model, tokenizer, prompts, GenParams(max_new_tokens=max_new, temperature=0), batch_size=batch)


def timed(fn, *args) -> tuple[list[list[int]], float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def measure(engines: dict, tokenizer, prompts: list[list[int]], max_new: int, batch: int, ends: set[int]) -> dict:
    """{engine: {tok_s, ttft_s, seconds, tokens}} and `same` for one batch size."""
    row: dict = {}
    outs = {}
    for name, (fn, model) in engines.items():
        fn(model, tokenizer, prompts[:min(2, batch)], 2, batch)  # warm-up
        _, ttft = timed(fn, model, tokenizer, prompts[:batch], 1, batch)
        ids, secs = timed(fn, model, tokenizer, prompts, max_new, batch)
        outs[name] = [cut(x, ends) for x in ids]
        tokens = sum(len(x) for x in outs[name])
        row[name] = {"tok_s": round(tokens / secs, 2), "ttft_s": round(ttft, 4), "seconds": round(secs, 3),
                     "tokens": tokens}
    a, b = outs.values()
    row["same"] = round(sum(x == y for x, y in zip(a, b)) / len(a), 4)
    row["speedup"] = round(row["ours"]["tok_s"] / row["transformers"]["tok_s"], 3)
    row["differ_at"] = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--random-shape", default=None, help="layers,width,heads of a random Llama over the tokenizer")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-sizes", default="1,8,32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    from instructune.data.render import stop_ids
    from instructune.generation.engine import Engine
    from instructune.generation.running_batch import causal_lm

    torch.set_num_threads(args.threads)
    engine = Engine.load(args.model, dtype="float32")
    model = random_model(engine.tokenizer, args.random_shape) if args.random_shape else engine.model
    prompts = chat_prompts(engine, args.prompts)
    engines = {"ours": (ours_generate, model), "transformers": (transformers_generate, causal_lm(model))}
    ends = stop_ids(engine.tokenizer)
    rows = {}
    print(f"{'batch':>5} {'ours tok/s':>11} {'hf tok/s':>9} {'speedup':>8} {'ours ttft':>10} {'hf ttft':>8} {'same':>6}")
    for b in (int(x) for x in args.batch_sizes.split(",")):
        r = rows[b] = measure(engines, engine.tokenizer, prompts, args.max_new_tokens, b, ends)
        print(f"{b:>5} {r['ours']['tok_s']:>11.1f} {r['transformers']['tok_s']:>9.1f} {r['speedup']:>7.2f}x "
              f"{r['ours']['ttft_s']:>9.3f}s {r['transformers']['ttft_s']:>7.3f}s {r['same']:>6.0%}", flush=True)
    result = {"model": args.model, "random_shape": args.random_shape, "prompts": len(prompts),
              "max_new_tokens": args.max_new_tokens, "threads": args.threads, "dtype": "float32", "device": "cpu",
              "torch": torch.__version__, "batches": rows}
    if args.out:
        write_json(args.out, result)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
