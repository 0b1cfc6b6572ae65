"""Generator throughput: the local backend vs the HTTP backend against `instructune serve` on loopback.

    python bench/generator_throughput.py [--model smollm2-135m-instruct] [--prompts 16]
        [--max-new-tokens 64] [--batch-size 8] [--concurrency 1,8] [--temperature 0] [--threads N]

The job: the first `--prompts` instructions of the shipped starter set (`starter:train`, context
appended), each sent as a one-turn chat, `--max-new-tokens` new tokens at most, greedy by
default. The same model, prompts and parameters go through

- `local`       `LocalGenerator.chat` in this process, batches of `--batch-size`;
- `http cN`     `OpenAIGenerator.chat` with N requests in flight, against `instructune serve
                --model MODEL --port 0 serve.batch_size=B` started as a subprocess on 127.0.0.1
                (the server batches requests that queue up while a batch runs).

Measured: wall seconds of the one `chat` call over all prompts (model loading, server start and
a 2-prompt warm-up are outside it), generations per minute ("records per minute": one reply is
one record's response) and generated tokens per second (the local backend counts ids; the HTTP
backend sums the server's `usage.completion_tokens`). The local model is freed before the server
starts, so the two never compete for the CPU. Greedy outputs must be identical across backends
unless batch composition changes a near-tie; the script prints how many match.

Both processes use the same torch thread count (torch's default unless `--threads`, which sets
it here and OMP_NUM_THREADS for the server). On a CPU shared with other busy processes, torch's
OpenMP threads wait on each other at every op and times swing tenfold; `--threads 1` is then
the steadier measurement.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"


def conversations(n: int) -> list[list[dict[str, str]]]:
    from instructune.data.inputs import load_inputs

    recs = load_inputs(["starter:train"])[:n]
    return [[{"role": "user", "content": r.instruction + (f"\n\n{r.context}" if r.context else "")}] for r in recs]


def timed(gen, convs, params, after_warmup=lambda: None) -> tuple[list[str], float, int]:
    """(replies, wall seconds, generated tokens) of one chat call, after a 2-prompt warm-up."""
    gen.chat(convs[:2], type(params)(max_new_tokens=8, temperature=0))
    after_warmup()
    tokens0 = gen.stats.completion_tokens
    start = time.perf_counter()
    out = gen.chat(convs, params)
    return out, time.perf_counter() - start, gen.stats.completion_tokens - tokens0


def row(name: str, secs: float, toks: int, same: int, n: int) -> None:
    """Print one result line as soon as it is measured."""
    print(f"{name:<10} {secs:8.1f} {n / secs * 60:8.1f} {toks / secs:7.1f} {same:>9}/{n}", flush=True)


def health(url: str) -> dict:
    import httpx2

    return httpx2.get(url.removesuffix("/v1") + "/health").json()


def start_server(model: str, batch_size: int, max_new_tokens: int, threads: int, log: Path
                 ) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "instructune", "serve", "--model", model, "--port", "0",
           f"serve.batch_size={batch_size}", f"serve.max_tokens_limit={max(max_new_tokens, 8)}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    for _ in range(900):
        m = re.search(r"at (http://\S+/v1)", log.read_text())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"instructune serve did not start:\n{log.read_text()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--concurrency", default="1,8", help="comma-separated in-flight request counts")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads in both processes (0: torch's default)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from instructune.generation.params import GenParams
    from instructune.synth.backends import LocalGenerator, OpenAIGenerator

    convs = conversations(args.prompts)
    params = GenParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=0)
    print(f"model {args.model}, {len(convs)} prompts, max_new_tokens {args.max_new_tokens}, batch size "
          f"{args.batch_size}, temperature {args.temperature}, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'backend':<10} {'seconds':>8} {'gen/min':>8} {'tok/s':>7} {'same as local':>14}", flush=True)
    local = LocalGenerator.load(args.model, batch_size=args.batch_size)
    ref, secs, toks = timed(local, convs, params)
    row("local", secs, toks, len(ref), len(convs))
    del local
    gc.collect()

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(args.model, args.batch_size, args.max_new_tokens, torch.get_num_threads(),
                                 Path(tmp) / "serve.log")
        try:
            for c in (int(x) for x in args.concurrency.split(",")):
                http = OpenAIGenerator(url, model=args.model, concurrency=c, api_key_env="", max_retries=0,
                                       read_timeout=600)
                before: dict = {}
                out, secs, toks = timed(http, convs, params, lambda: before.update(health(url)))
                row(f"http c{c}", secs, toks, sum(a == b for a, b in zip(out, ref)), len(convs))
                after = health(url)
                print(f"{'':<10} (the server ran {after['prompts'] - before['prompts']} prompts in "
                      f"{after['batches'] - before['batches']} batches)", flush=True)
                http.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
