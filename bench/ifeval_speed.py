"""IFEval scoring speed: 10,000 responses over the shipped prompt set, files in and files out.

    python bench/ifeval_speed.py [--responses 10000] [--seed 0] [--workers 1] [--keep DIR]

The data: the shipped prompts recycled until there are --responses of them (each copy gets a
new key and " (copy N)" appended to its text, so every response matches exactly one prompt;
the instructions and arguments are unchanged), and one generated response per prompt (seeded).
Responses are built from the words of the shipped starter set, 40-400 words in 1-5 paragraphs,
and mix in what the checks look at so that every code path runs: a chatty first line, ***
dividers, bullets, *highlights*, <<titles>>, [placeholders], SECTION headers, a P.S., ******
between two answers, the request repeated first, the fixed "My answer is ..." answers, JSON,
all-capitals or all-lowercase text, double quotes around everything, and French, German or
Spanish text (language detection is the slowest check: ~2 ms a call).

What is timed (wall clock and this process's CPU time, one run, after a warm-up on 50 prompts that loads langdetect's
profiles): `run_suite` end to end — read and validate both files, check every response strictly
and loosely, summarise, write ifeval_verdicts.jsonl and ifeval_summary.json — and, separately,
`score` alone on the loaded data, the language cache emptied first (the same responses again would
otherwise be answered from it). `--workers N` checks in N processes (`check_all`); CPU time is
then this process's only. The requirement is under 30 s for 10,000 responses.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

FOREIGN = (
    "Le marché du matin est plein de couleurs et de voix qui se mélangent dans la rue étroite.",
    "Am Morgen ist der Markt voller Farben und Stimmen, die sich in der engen Straße mischen.",
    "Por la mañana el mercado está lleno de colores y de voces que se mezclan en la calle estrecha.",
)
OPENERS = ("Sure, here is my answer:", "Of course! Here you go.", "Certainly.")


def word_pool() -> list[str]:
    """Lower-case words of the shipped starter set."""
    from instructune.data.starter import STARTER_DIR

    words: set[str] = set()
    for f in sorted(STARTER_DIR.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            words.update(w.strip(".,;:!?\"'()").lower() for w in (r["instruction"] + " " + r["response"]).split())
    return sorted(w for w in words if w.isalpha())


def make_response(rng: random.Random, pool: list[str], prompt) -> str:
    """One synthetic response to `prompt` (see the module docstring for the mix)."""
    def sentence() -> str:
        return " ".join(rng.choices(pool, k=rng.randint(5, 18))).capitalize() + rng.choice(".!?..")

    def paragraph() -> str:
        return " ".join(sentence() for _ in range(rng.randint(1, 6)))

    paras = [paragraph() for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.2:
        paras.append("\n".join(f"{rng.choice('*-')} {sentence()}" for _ in range(rng.randint(2, 7))))
    if rng.random() < 0.25:
        paras[0] = f"*{sentence()}* {paras[0]} **{sentence()}**"
    if rng.random() < 0.2:
        paras.insert(0, f"<<{sentence().rstrip('.!?')}>>")
    if rng.random() < 0.2:
        paras = [f"SECTION {i + 1}\n{p}" for i, p in enumerate(paras)]
    if rng.random() < 0.15:
        paras[-1] += " [name] lives at [address]."
    if rng.random() < 0.1:
        paras = [rng.choice(FOREIGN) + " " + rng.choice(FOREIGN)]
    text = rng.choice(("\n\n", "\n***\n", "\n******\n")) .join(paras)
    if rng.random() < 0.15:
        text += "\n\nP.S. " + sentence()
    if rng.random() < 0.1:
        text = rng.choice(("My answer is yes.", "My answer is no.", "My answer is maybe.")) + " " + text
    if rng.random() < 0.1:
        text = json.dumps({"answer": text, "words": len(text.split())})
    roll = rng.random()
    text = text.upper() if roll < 0.1 else text.lower() if roll < 0.2 else text
    if rng.random() < 0.1:
        text = prompt.prompt + "\n" + text
    if rng.random() < 0.1:
        text = f'"{text}"'
    if rng.random() < 0.3:
        text = rng.choice(OPENERS) + "\n" + text
    return text


def write_data(directory: Path, n: int, seed: int) -> tuple[Path, Path]:
    """Write `n` recycled prompts and one response each as IFEval-style JSONL files."""
    from instructune.evaluate.ifeval import load_prompts

    rng, pool, shipped = random.Random(seed), word_pool(), load_prompts()
    prompts_path, responses_path = directory / "prompts.jsonl", directory / "responses.jsonl"
    with open(prompts_path, "w", encoding="utf-8") as pf, open(responses_path, "w", encoding="utf-8") as rf:
        for i in range(n):
            base = shipped[i % len(shipped)]
            p = dataclasses.replace(base, key=i + 1, prompt=f"{base.prompt} (copy {i // len(shipped)})")
            pf.write(json.dumps({"key": p.key, "prompt": p.prompt, "instruction_id_list": list(p.instruction_id_list),
                                 "kwargs": list(p.kwargs)}, ensure_ascii=False) + "\n")
            rf.write(json.dumps({"prompt": p.prompt, "response": make_response(rng, pool, p)},
                                ensure_ascii=False) + "\n")
    return prompts_path, responses_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--responses", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="processes to check in")
    ap.add_argument("--keep", help="write the data and results here instead of a temp dir")
    args = ap.parse_args(argv)

    from instructune.evaluate.ifeval import format_summary, load_prompts, load_responses, run_suite, score
    from instructune.evaluate.ifeval.language import detect_language

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        prompts_path, responses_path = write_data(work, args.responses, args.seed)
        warm_prompts = load_prompts(prompts_path)[:50]
        score(warm_prompts, load_responses(responses_path))  # langdetect profiles, imports

        detect_language.cache_clear()
        t0, c0 = time.perf_counter(), time.process_time()
        _, summary = run_suite(responses_path, prompts_path, output_dir=work / "out", workers=args.workers)
        end_to_end, end_to_end_cpu = time.perf_counter() - t0, time.process_time() - c0

        prompts, responses = load_prompts(prompts_path), load_responses(responses_path)
        detect_language.cache_clear()
        t0, c0 = time.perf_counter(), time.process_time()
        score(prompts, responses, args.workers)
        scoring, scoring_cpu = time.perf_counter() - t0, time.process_time() - c0

    print(format_summary(summary, per_instruction=False))
    print(f"\nend to end (read, check, summarise, write): {end_to_end:.2f} s wall ({end_to_end_cpu:.2f} s CPU), "
          f"{args.responses / end_to_end:,.0f} responses/s")
    print(f"score() alone:                             {scoring:.2f} s wall ({scoring_cpu:.2f} s CPU), "
          f"{args.responses / scoring:,.0f} responses/s")
    print(f"requirement: 10,000 responses in under 30 s (wall). Load average now: {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores; wall exceeds CPU time when other processes share them.")


if __name__ == "__main__":
    sys.exit(main())
