"""Cost of the forgetting check: seconds to score the shipped general-text corpus.

    python bench/forgetting_cost.py [--model smollm2-135m-instruct] [--max-length 512]
        [--max-tokens N] [--batch-tokens 2048] [--threads 1] [--dtype float32]

Loads the model and tokenizer (`instructune.model.load`), then times one
`forgetting.corpus_perplexity` call over the shipped corpus (`text_corpus.load_corpus(None)`)
on the CPU with `--threads` torch threads, after a warm-up forward on one short document.
Model loading is outside the timing. `--max-tokens 0` scores the whole corpus; a positive
value scores only the leading documents up to that many predicted tokens (the budget
`instructune eval` may use). One `instructune eval` scores the corpus twice (base and tuned).

Prints the seconds, the tokens and documents scored, tokens / s and the perplexity.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from instructune.evaluate.forgetting import DEFAULT_BATCH_TOKENS, corpus_perplexity
from instructune.evaluate.text_corpus import load_corpus
from instructune.model.load import DEFAULT_MODEL, load_model, load_tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--max-tokens", type=int, default=0, help="0: the whole corpus")
    ap.add_argument("--batch-tokens", type=int, default=DEFAULT_BATCH_TOKENS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = load_tokenizer(args.model)
    model = load_model(args.model, dtype=args.dtype)
    docs = load_corpus(None)
    corpus_perplexity(model, tokenizer, docs[:1], max_length=32, max_tokens=None)  # warm-up
    start = time.perf_counter()
    r = corpus_perplexity(model, tokenizer, docs, max_length=args.max_length,
                          max_tokens=args.max_tokens or None, batch_tokens=args.batch_tokens)
    seconds = time.perf_counter() - start
    print(f"model {args.model} ({args.dtype}), {args.threads} thread(s) of {os.cpu_count()} CPUs, "
          f"max_length {args.max_length}, max_tokens {args.max_tokens or 'all'}, "
          f"batch_tokens {args.batch_tokens}")
    print(f"{seconds:.1f} s for {r['tokens']} tokens in {r['documents']} documents "
          f"({r['tokens'] / seconds:.0f} tokens/s); perplexity {r['perplexity']:.3f}")


if __name__ == "__main__":
    main()
