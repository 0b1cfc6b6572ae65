"""Data preparation throughput: instructune ingest + prepare, and TRL's SFTTrainer preparation.

    python bench/prepare_throughput.py [--records 100000] [--num-proc N] [--max-length 512]
        [--model smollm2-135m-instruct] [--seed 0] [--skip-trl] [--out results.json]

The data: `--records` generated records (seeded), written as canonical records JSONL. Words
are drawn from the shipped starter set; lengths vary (instruction 4-40 words; response
log-normal, median ~40 words, up to 400), 40% have a context (median ~60 words, up to 600),
15% a rationale, 15% one to three earlier exchanges; tasks from ten categories.

What is timed (wall clock, one run each, after a warm-up on 200 records that loads the
tokenizer and imports everything):

- ingest          `instructune.recipes.ingest.main`: detect the format, parse and validate
                  every row, write records.jsonl;
- prepare         `instructune.recipes.prepare.main` with the cache off: read records.jsonl,
                  render + tokenize (model chat template, masks, segments, truncation to
                  --max-length), save the Arrow dataset; the verb end to end;
- prepare (hit)   the same run again with the cache on and already filled: what a second
                  `instructune prepare` or `train` costs;
- render          `tokenized.tokenize_records` on records already in memory: the same scope
                  as TRL's preparation below;
- trl             `SFTTrainer._prepare_dataset` (TRL's own code, called on a stand-in `self`
                  holding what `SFTTrainer.__init__` sets for this case: the tokenizer,
                  completion_only_loss=True, no training chat template) on the same records as
                  a prompt-completion conversational dataset (user = instruction + "\\n\\n" +
                  context; completion = rationale + "\\nAnswer: " + response; earlier turns in
                  the prompt), with the model's chat template, max_length=--max-length and
                  dataset_num_proc=--num-proc. It tokenizes each record twice (prompt, and
                  prompt + completion), builds labels, truncates and filters. (Checked once:
                  on 40 generated records its input_ids and labels equal those of a real
                  `SFTTrainer(model, args, train_dataset, processing_class)`.)

Both sides use the same worker count: --num-proc, default instructune's own choice for the
record count (`tokenized.resolve_num_proc`), which is also passed to TRL. Records/s = records
in ÷ seconds; ratio = instructune render records/s ÷ TRL records/s (>1: instructune faster).
Token totals are printed so the two sides can be seen doing the same work (they differ a
little: instructune cuts long records in the context, TRL at the end).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"

TASKS = ("open_qa", "closed_qa", "summarization", "classification", "extraction", "rewriting",
         "creative_writing", "brainstorming", "math", "code")


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------

def word_pool() -> list[str]:
    """Words of the shipped starter set (real English, so BPE splits them as in real data)."""
    from instructune.data.starter import STARTER_DIR

    words = []
    for f in sorted(STARTER_DIR.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            words += " ".join((r["instruction"], r["context"], r["response"], r["rationale"])).split()
    return sorted(set(words))


def lognormal_words(rng: random.Random, median: float, cap: int, floor: int = 1) -> int:
    return max(floor, min(cap, int(rng.lognormvariate(math.log(median), 0.8))))


def generate(n: int, seed: int) -> list[dict]:
    """`n` canonical record dicts (see module docstring for the mix)."""
    rng = random.Random(seed)
    pool = word_pool()

    def text(k: int) -> str:
        return " ".join(rng.choices(pool, k=k)).capitalize() + "."

    rows = []
    for i in range(n):
        history = []
        if rng.random() < 0.15:
            for _ in range(rng.randint(1, 3)):
                history += [{"role": "user", "content": text(rng.randint(5, 30))},
                            {"role": "assistant", "content": text(lognormal_words(rng, 30, 200))}]
        rows.append({
            "id": f"gen-{i}", "task": rng.choice(TASKS),
            "instruction": text(rng.randint(4, 40)),
            "context": text(lognormal_words(rng, 60, 600, 5)) if rng.random() < 0.4 else "",
            "response": text(lognormal_words(rng, 40, 400)),
            "rationale": text(rng.randint(20, 120)) if rng.random() < 0.15 else "",
            "history": history,
        })
    return rows


def trl_rows(records) -> list[dict]:
    """The records as TRL prompt-completion conversational examples (chat layout)."""
    out = []
    for r in records:
        user = r.instruction + ("\n\n" + r.context if r.context else "")
        answer = r.rationale + "\nAnswer: " + r.response if r.rationale else r.response
        prompt = [{"role": t.role, "content": t.content} for t in r.history]
        out.append({"prompt": prompt + [{"role": "user", "content": user}],
                    "completion": [{"role": "assistant", "content": answer}]})
    return out


# --------------------------------------------------------------------------------------------
# timed steps
# --------------------------------------------------------------------------------------------

def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def prepare_config(args, records_path: Path, cache: bool):
    from instructune.config import load_config

    return load_config(None, [f"model.name={args.model}", f"data.train=[{records_path}]", "data.heldout=[]",
                              f"data.max_length={args.max_length}", "data.format=records",
                              f"data.cache={'true' if cache else 'false'}"])


def run_instructune(args, work: Path, raw: Path, num_proc: int) -> dict:
    from instructune.data.inputs import load_inputs
    from instructune.data.templates import get_template, template_options
    from instructune.data.tokenized import tokenize_records
    from instructune.recipes import builders, ingest, prepare

    records_path = work / "records.jsonl"
    res, t_ingest = timed(ingest.main, [str(raw)], records_path)
    stats, t_prepare = timed(prepare.main, prepare_config(args, records_path, cache=False), work / "prep", num_proc)
    cached_cfg = prepare_config(args, records_path, cache=True)
    prepare.main(cached_cfg, work / "prep-cached", num_proc)  # fills the cache (not timed)
    _, t_hit = timed(prepare.main, cached_cfg, work / "prep-cached", num_proc)

    records = load_inputs([str(records_path)], "records")
    tokenizer = builders.template_tokenizer(cached_cfg)
    (ds, st), t_render = timed(tokenize_records, records, tokenizer, get_template("chat"), args.max_length,
                               template_options(cached_cfg.template), num_proc)
    return {"records": res["records"], "ingest_s": t_ingest, "prepare_s": t_prepare, "prepare_hit_s": t_hit,
            "render_s": t_render, "tokens": st.tokens, "kept": st.kept, "truncated": st.truncated,
            "trained_tokens": st.trained_tokens, "prepare_stats": stats["train"], "records_in_memory": records}


def run_trl(args, records, num_proc: int, work: Path) -> dict:
    import trl
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from instructune.model.load import load_tokenizer

    tokenizer = load_tokenizer(args.model)
    ds = Dataset.from_list(trl_rows(records))
    config = SFTConfig(output_dir=str(work / "trl"), max_length=args.max_length,
                       dataset_num_proc=num_proc if num_proc > 1 else None, report_to=[],
                       bf16=False, fp16=False, use_cpu=True)
    # What SFTTrainer.__init__ sets before it calls _prepare_dataset, for a prompt-completion
    # dataset with assistant_only_loss=False (the default).
    stand_in = types.SimpleNamespace(_tokenizer=tokenizer, completion_only_loss=True, chat_template=None)
    out, t = timed(SFTTrainer._prepare_dataset, stand_in, ds, tokenizer, config, False, None, "train")
    lengths = [len(x) for x in out["input_ids"]]
    trained = sum(sum(1 for t in row[1:] if t != -100) for row in out["labels"])
    return {"trl_version": trl.__version__, "trl_s": t, "rows": len(out), "tokens": sum(lengths),
            "trained_tokens": trained}


def warm_up(args, work: Path, num_proc: int) -> None:
    """Import everything and load the tokenizer once, on a few records."""
    raw = work / "warm.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in generate(200, args.seed + 1)))
    from instructune.recipes import ingest, prepare

    ingest.main([str(raw)], work / "warm-records.jsonl")
    prepare.main(prepare_config(args, work / "warm-records.jsonl", cache=False), work / "warm-prep", 1)
    if not args.skip_trl:
        import trl  # noqa: F401


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--num-proc", type=int, default=None, help="workers for both sides (default: instructune's choice)")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-trl", action="store_true")
    p.add_argument("--out", help="write the numbers as JSON here")
    args = p.parse_args()

    from instructune.data.tokenized import available_cpus, resolve_num_proc

    num_proc = resolve_num_proc(args.num_proc, args.records)
    work = Path(tempfile.mkdtemp(prefix="prepare-bench-"))
    # A private cache for the prepared splits; the converted default model is found through a
    # link to the usual cache, so it is not converted again.
    from instructune.cache import cache_dir

    real_cache = cache_dir()
    (work / "cache").mkdir()
    if (real_cache / "models").exists():
        (work / "cache" / "models").symlink_to(real_cache / "models")
    os.environ["INSTRUCTUNE_CACHE"] = str(work / "cache")
    try:
        print(f"[bench] {args.records} records, num_proc {num_proc} (CPUs available {available_cpus()}), "
              f"max_length {args.max_length}, model {args.model}", flush=True)
        raw = work / "raw.jsonl"
        rows, t_gen = timed(generate, args.records, args.seed)
        raw.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"[bench] generated in {t_gen:.1f}s ({raw.stat().st_size / 2**20:.1f} MiB); warming up", flush=True)
        warm_up(args, work, num_proc)

        ours = run_instructune(args, work, raw, num_proc)
        records = ours.pop("records_in_memory")
        n = ours["records"]
        result = {"records": n, "num_proc": num_proc, "max_length": args.max_length, "model": args.model,
                  "instructune": ours}
        lines = [
            ("ingest", ours["ingest_s"]),
            ("prepare (cache off)", ours["prepare_s"]),
            ("prepare (cache hit)", ours["prepare_hit_s"]),
            ("render (in memory)", ours["render_s"]),
        ]
        if not args.skip_trl:
            theirs = run_trl(args, records, num_proc, work)
            result["trl"] = theirs
            lines.append((f"trl {theirs['trl_version']} _prepare_dataset", theirs["trl_s"]))
            result["ratio_render_vs_trl"] = (n / ours["render_s"]) / (n / theirs["trl_s"])
            result["ratio_prepare_vs_trl"] = (n / ours["prepare_s"]) / (n / theirs["trl_s"])
        print(f"\n{'step':<34}{'seconds':>9}{'records/s':>12}")
        for name, s in lines:
            print(f"{name:<34}{s:>9.2f}{n / s:>12.0f}")
        print(f"\ninstructune: {ours['kept']} rows, {ours['tokens']} tokens ({ours['trained_tokens']} trained), "
              f"{ours['truncated']} truncated")
        if "trl" in result:
            t = result["trl"]
            print(f"trl:         {t['rows']} rows, {t['tokens']} tokens ({t['trained_tokens']} trained)")
            print(f"ratio (records/s, >1: instructune faster): render vs trl {result['ratio_render_vs_trl']:.2f}x, "
                  f"prepare end to end vs trl {result['ratio_prepare_vs_trl']:.2f}x")
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
