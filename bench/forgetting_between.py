"""General-text perplexity of one evaluated model against another on the same documents: the
relative change and its paired bootstrap interval over documents (the forgetting suite's own
interval, `evaluate/forgetting.py`), read from two eval output dirs.

    python bench/forgetting_between.py EVAL_A EVAL_B [--label-a A] [--label-b B] [--out FILE.json]

Each EVAL dir holds the `eval_items.json` that `instructune eval --suite forgetting` writes; the
tuned model's documents of each are compared (B against A). Use it where the two models are
not base and tuned of one run: the same trained weights with an add-on in two forms, or two runs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from instructune.evaluate.forgetting import forgetting_report


def documents(eval_dir: Path) -> dict:
    """The tuned model's per-document scores, in the form `forgetting_report` takes."""
    items = json.loads((eval_dir / "eval_items.json").read_text())["tuned"]["forgetting"]
    nll, tokens = items["num"], [int(t) for t in items["den"]]
    return {"doc_nll_sum": nll, "doc_tokens": tokens, "documents": len(tokens), "tokens": sum(tokens),
            "perplexity": math.exp(sum(nll) / sum(tokens))}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_a", type=Path)
    ap.add_argument("eval_b", type=Path)
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    r = forgetting_report(documents(args.eval_a), documents(args.eval_b))
    out = {"a": {"label": args.label_a, "dir": str(args.eval_a), "perplexity": r["base_perplexity"]},
           "b": {"label": args.label_b, "dir": str(args.eval_b), "perplexity": r["tuned_perplexity"]},
           "b_vs_a": {k: r[k] for k in ("relative_change", "low", "high", "confidence", "documents", "tokens")}}
    d = out["b_vs_a"]
    print(f"{args.label_a}: ppl {r['base_perplexity']:.4f}   {args.label_b}: ppl {r['tuned_perplexity']:.4f}")
    print(f"{args.label_b} vs {args.label_a}: {d['relative_change']:+.2%} [{d['low']:+.2%}, {d['high']:+.2%}] "
          f"({d['documents']} documents, {d['tokens']} tokens)")
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
