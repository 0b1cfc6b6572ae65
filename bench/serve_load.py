"""The server under load: `instructune serve` driven by 1, 8 and 32 concurrent clients.

    python bench/serve_load.py [--model smollm2-135m-instruct] [--clients 1,8,32] [--requests 2]
        [--max-tokens 32] [--modes plain,stream] [--batch-size 32] [--threads 1] [--out FILE.json]

`instructune serve --model MODEL --port 0 serve.batch_size=B` runs in a subprocess on 127.0.0.1
(torch threads `--threads`). For each mode and client count N, N threads each send `--requests`
chat completions one after another (greedy, `max_tokens` `--max-tokens`, one starter-set
instruction each, a different one per request); `stream` asks for server-sent events with the
usage in the last chunk. Requests that arrive while the server decodes join its running batch
(`generation/batch_worker.py`).

Measured per mode and N: latency of each request (send to last byte) at p50 and p95, time to
the first streamed text (`stream`), and aggregate tok/s: completion tokens of all requests
(the server's `usage`) over the wall time from the first send to the last reply. `scale` is
aggregate tok/s over one client's. Timings need a quiet machine; on a shared one they only
show that the script runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from instructune.data.jsonio import write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def instructions(n: int) -> list[str]:
    """The first `n` starter instructions (context appended), repeated when there are fewer."""
    from instructune.data.inputs import load_inputs

    recs = load_inputs(["starter:train"])
    texts = [r.instruction + (f"\n\n{r.context}" if r.context else "") for r in recs]
    return [texts[i % len(texts)] for i in range(n)]


def start_server(model: str, batch_size: int, max_tokens: int, threads: int, log: Path) -> tuple[subprocess.Popen, str]:
    """(process, base URL) of `instructune serve` on a free loopback port."""
    cmd = [sys.executable, "-m", "instructune", "serve", "--model", model, "--port", "0",
           f"serve.batch_size={batch_size}", f"serve.max_tokens_limit={max_tokens}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    for _ in range(1200):
        if m := re.search(r"at (http://\S+/v1)", log.read_text()):
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    proc.kill()
    raise SystemExit(f"instructune serve did not start:\n{log.read_text()}")


def one_request(client, url: str, text: str, max_tokens: int, stream: bool) -> dict:
    """{latency_s, ttft_s, tokens} of one chat completion."""
    body = {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, "temperature": 0}
    start = time.perf_counter()
    if not stream:
        r = client.post(f"{url}/chat/completions", json=body)
        r.raise_for_status()
        return {"latency_s": time.perf_counter() - start, "ttft_s": None,
                "tokens": r.json()["usage"]["completion_tokens"]}
    first, tokens = None, 0
    body |= {"stream": True, "stream_options": {"include_usage": True}}
    with client.stream("POST", f"{url}/chat/completions", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and any(c.get("delta", {}).get("content") for c in chunk.get("choices", [])):
                first = time.perf_counter() - start
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    return {"latency_s": time.perf_counter() - start, "ttft_s": first, "tokens": tokens}


def load(url: str, texts: list[str], clients: int, per_client: int, max_tokens: int, stream: bool) -> dict:
    """Drive the server with `clients` threads of `per_client` sequential requests each."""
    import httpx

    results: list[dict] = []
    lock = threading.Lock()

    def client_loop(c: int) -> None:
        with httpx.Client(timeout=3600) as client:
            for k in range(per_client):
                r = one_request(client, url, texts[(c * per_client + k) % len(texts)], max_tokens, stream)
                with lock:
                    results.append(r)

    threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    lat = sorted(r["latency_s"] for r in results)
    ttft = sorted(r["ttft_s"] for r in results if r["ttft_s"] is not None)
    tokens = sum(r["tokens"] for r in results)
    return {"requests": len(results), "tokens": tokens, "wall_s": round(wall, 3), "tok_s": round(tokens / wall, 2),
            "p50_s": round(statistics.median(lat), 3), "p95_s": round(lat[max(0, round(0.95 * len(lat)) - 1)], 3),
            "ttft_p50_s": round(statistics.median(ttft), 3) if ttft else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--requests", type=int, default=2, help="requests per client, one after another")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--modes", default="plain,stream")
    ap.add_argument("--batch-size", type=int, default=32, help="serve.batch_size: rows in the running batch at most")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    counts = [int(x) for x in args.clients.split(",")]
    texts = instructions(max(counts) * args.requests)
    log = Path(tempfile.mkdtemp(prefix="serve-load-")) / "serve.log"
    proc, url = start_server(args.model, args.batch_size, args.max_tokens, args.threads, log)
    rows: dict = {}
    try:
        load(url, texts[:2], 1, 1, 4, False)  # warm-up
        print(f"{'mode':>6} {'clients':>7} {'p50 s':>7} {'p95 s':>7} {'ttft s':>7} {'tok/s':>7} {'scale':>6}")
        for mode in args.modes.split(","):
            for n in counts:
                r = rows.setdefault(mode, {})[n] = load(url, texts, n, args.requests, args.max_tokens, mode == "stream")
                r["scale"] = round(r["tok_s"] / rows[mode][counts[0]]["tok_s"], 3)
                ttft = f"{r['ttft_p50_s']:.2f}" if r["ttft_p50_s"] is not None else "-"
                print(f"{mode:>6} {n:>7} {r['p50_s']:>7.2f} {r['p95_s']:>7.2f} {ttft:>7} {r['tok_s']:>7.1f} "
                      f"{r['scale']:>5.2f}x", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {"model": args.model, "max_tokens": args.max_tokens, "requests_per_client": args.requests,
              "batch_size": args.batch_size, "threads": args.threads, "device": "cpu", "modes": rows}
    if args.out:
        write_json(args.out, result)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
