"""The `instructune` command: one verb per pipeline stage.

    instructune quickstart [--output DIR] [key=value ...]
    instructune ingest INPUT... --output records.jsonl [--format NAME] [--on-error fail|skip]
    instructune ingest --explain INPUT...
    instructune prepare [--recipe R] --output DIR [--num-proc N] [key=value ...]
    instructune dedup INPUT... --output kept.jsonl [--method minhash|rouge] [--threshold X]
    instructune stats INPUT... [--output DIR] [--tokenizer MODEL]
    instructune train [--recipe R] [--resume] [key=value ...]
    instructune eval [--recipe R] --tuned RUN_DIR [--base MODEL] [key=value ...]
    instructune generate [--model RUN|PATH] --prompt TEXT ... | --input FILE [--output FILE]
    instructune chat [--model RUN|PATH]
    instructune serve [--model RUN|PATH] [--host H] [--port P]
    instructune quality INPUT... --output DIR [key=value ...]
    instructune review DIR [--host 127.0.0.1] [--port P]
    instructune synth self-instruct --output DIR [key=value ...]
    instructune synth evol [--input FILE ...] --output DIR [key=value ...]

`key=value` overrides set config fields by dotted path (`train.lr=1e-4`); see
`instructune config` for every field.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from instructune.config import ConfigError, list_recipes, load_config, to_dict  # noqa: E402
from instructune.data.errors import DataError  # noqa: E402


def _config_args(p: argparse.ArgumentParser, recipe: str | None = None) -> None:
    p.add_argument("--recipe", default=recipe, help=f"a shipped recipe ({', '.join(list_recipes())}) or a YAML path")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.lr=1e-4")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="instructune", description="Instruction fine-tuning toolkit.")
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("quickstart", help="the whole pipeline on the embedded defaults")
    p.add_argument("--output", help="run dir (default runs/quickstart)")
    _config_args(p, "quickstart")

    from instructune.data.formats import FORMATS
    from instructune.recipes.ingest import ON_ERROR, add_reader_flags

    p = sub.add_parser("ingest", help="input files → canonical records JSONL")
    p.add_argument("inputs", nargs="+", help="files, or starter:train / starter:heldout")
    p.add_argument("--output", help="the records JSONL to write (required unless --explain)")
    p.add_argument("--format", choices=list(FORMATS), help="force a format instead of detecting it")
    p.add_argument("--explain", action="store_true",
                   help="print which format each file is detected as and why; convert nothing")
    p.add_argument("--on-error", choices=ON_ERROR, default="fail",
                   help="fail: stop at the first bad row, write nothing; skip: write bad rows to "
                        "the rejects file and go on")
    p.add_argument("--rejects", help="rejects file for --on-error skip (default OUTPUT.rejects.jsonl)")
    add_reader_flags(p)

    p = sub.add_parser("prepare", help="records → tokenized dataset on disk")
    p.add_argument("--output", required=True)
    p.add_argument("--num-proc", type=int, default=None,
                   help="tokenizer worker processes (default: one per 2000 records, up to the CPUs, at most 8)")
    _config_args(p)

    p = sub.add_parser("dedup", help="drop exact and near-duplicate records")
    p.add_argument("inputs", nargs="+", help="files (any format), or starter:train / starter:heldout")
    p.add_argument("--output", required=True, help="kept records (canonical JSONL)")
    p.add_argument("--method", choices=["minhash", "rouge"], default="minhash",
                   help="minhash: Jaccard of character 5-grams, near-linear; rouge: ROUGE-L F1, quadratic")
    p.add_argument("--threshold", type=float, help="similarity that counts as duplicate (default 0.8 minhash, 0.7 rouge)")
    p.add_argument("--fields", default="instruction,context,response", help="record fields compared, comma-separated")
    p.add_argument("--removed", help="removals JSONL (default: removed.jsonl beside --output)")
    p.add_argument("--format", help="force an input format instead of detecting it")

    p = sub.add_parser("stats", help="counts, token-length histograms and shares of a dataset")
    p.add_argument("inputs", nargs="+", help="files (any format), or starter:train / starter:heldout")
    p.add_argument("--output", help="also write DIR/stats.json and DIR/lengths.png")
    p.add_argument("--tokenizer", help="model whose tokenizer counts tokens (default smollm2-135m-instruct)")
    p.add_argument("--format", help="force an input format instead of detecting it")

    p = sub.add_parser("train", help="train (LoRA or full)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    _config_args(p)

    p = sub.add_parser("eval", help="compare base and tuned on held-out records")
    p.add_argument("--tuned", help="run dir or model path (default: output_dir)")
    p.add_argument("--base", help="base model (default: model.name)")
    _config_args(p)

    p = sub.add_parser("generate", help="batched generation")
    p.add_argument("--model", help="run dir, export dir, path or hub id (default: model.name)")
    p.add_argument("--prompt", action="append", default=[], help="an instruction (repeatable)")
    p.add_argument("--input", help="records file (any format) whose instructions to answer")
    p.add_argument("--output", help="write JSONL here instead of printing")
    _config_args(p)

    p = sub.add_parser("chat", help="interactive chat")
    p.add_argument("--model", help="run dir, export dir, path or hub id")
    _config_args(p)

    p = sub.add_parser("serve", help="OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions)")
    p.add_argument("--model", help="run dir, export dir, path or hub id (default: serve.model, then model.name)")
    p.add_argument("--host", help="address to bind (default: serve.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: serve.port, 8000; 0 picks a free one)")
    _config_args(p)

    p = sub.add_parser("quality", help="score records → accepted / flagged / rejected with reasons")
    p.add_argument("inputs", nargs="*", metavar="INPUT|key=value",
                   help="files (any format) or starter:SPLIT, and key=value overrides (quality.judge=true)")
    # nargs="+": argparse takes no positionals after an option, so overrides that follow
    # `--output DIR` arrive here and are sorted out in run_quality_tool.
    p.add_argument("--output", required=True, nargs="+", metavar=("DIR", "key=value"),
                   help="dir for accepted/flagged/rejected.jsonl and report.json")
    p.add_argument("--recipe", help=f"a shipped recipe ({', '.join(list_recipes())}) or a YAML path")

    p = sub.add_parser("review", help="local web page to approve / reject / edit flagged records")
    p.add_argument("dir", help="an `instructune quality` output dir")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")

    p = sub.add_parser("synth", help="grow a dataset with an LLM: Self-Instruct or Evol-Instruct")
    methods = p.add_subparsers(dest="method", required=True)
    m = methods.add_parser("self-instruct", help="new tasks from seed tasks (self_instruct.*)")
    m.add_argument("--output", required=True, help="run dir (records.jsonl, rejects.jsonl, report.json); resumes")
    _config_args(m)
    m = methods.add_parser("evol", help="evolve instructions deeper and broader (evol.*)")
    m.add_argument("--input", action="append", default=[], help="starting pool file (repeatable; default evol.input)")
    m.add_argument("--output", required=True, help="run dir (records.jsonl, rejects.jsonl, report.json); resumes")
    _config_args(m)

    p = sub.add_parser("config", help="print the resolved config")
    _config_args(p)
    return parser


def run_data_tool(args: argparse.Namespace, console) -> int:
    """`dedup` and `stats`: verbs that read records and need no run config."""
    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    if args.verb == "dedup":
        from instructune.recipes import dedup

        fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
        try:
            res = dedup.main(args.inputs, args.output, args.method, args.threshold, fields, args.removed, args.format)
        except DataError:
            raise
        except ValueError as e:  # bad threshold or field
            raise ConfigError(f"dedup: {e}") from None
        say(f"kept {res['kept']} of {res['records']} records → {res['output']}")
        say(f"removed {res['records'] - res['kept']} {res['removed']} (threshold {res['threshold']}) "
            f"→ {res['removed_path']}")
        return 0
    from instructune.data.stats import format_stats
    from instructune.recipes import stats

    st = stats.main(args.inputs, args.output, args.tokenizer, args.format)
    say(format_stats(st))
    for name, path in st.get("files", {}).items():
        say(f"wrote {name}: {path}")
    return 0


def run_quality_tool(args: argparse.Namespace, console) -> int:
    """`quality` (score and sort records) and `review` (the web page for flagged records)."""
    if args.verb == "review":
        from instructune.recipes import review

        review.main(args.dir, args.host, args.port, announce=lambda s: print(s, flush=True))
        return 0
    from pathlib import Path

    from instructune.recipes import quality

    # INPUTs and key=value overrides come mixed: an existing file or starter:SPLIT is an input.
    out_dir, items = args.output[0], args.inputs + args.output[1:]
    is_input = [not ("=" in a and not a.startswith("starter:") and not Path(a).exists()) for a in items]
    inputs = [a for a, i in zip(items, is_input) if i]
    if not inputs:
        raise ConfigError("quality: give at least one INPUT (a file or starter:SPLIT)")
    cfg = load_config(args.recipe, [a for a, i in zip(items, is_input) if not i])
    report = quality.main(cfg, inputs, out_dir, console)
    quality.print_summary(report, out_dir, console)
    return 0


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if args.verb == "ingest":
        from instructune.recipes import ingest

        def say(text: str) -> None:  # file names and field lists are not rich markup
            console.print(text, markup=False, highlight=False, soft_wrap=True)

        if args.explain:
            for line in ingest.explain_inputs(args.inputs):
                say(line)
            return 0
        if not args.output:
            raise ConfigError("ingest: give --output FILE (or --explain)")
        res = ingest.main(args.inputs, args.output, args.format, reader=ingest.reader_from_args(args),
                          on_error=args.on_error, rejects=args.rejects)
        say(f"wrote {res['records']} records to {args.output}")
        for f, fmt in res["formats"].items():
            say(f"  {f}: {fmt}")
        say(f"  tasks: {res['tasks']}")
        if res["skipped"]:
            say(f"  left out by reader filters: {res['skipped']}")
        if args.on_error == "skip":
            say(f"accepted {res['records']} records, rejected {sum(res['rejected'].values())} rows "
                f"{res['rejected']} → {res['rejects']}")
        return 0

    if args.verb in ("dedup", "stats"):
        return run_data_tool(args, console)

    if args.verb in ("quality", "review"):
        return run_quality_tool(args, console)

    cfg = load_config(getattr(args, "recipe", None), getattr(args, "overrides", []))
    if args.verb == "config":
        import yaml

        console.print(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        return 0
    if args.verb == "quickstart":
        from instructune.recipes import quickstart

        if args.output:
            cfg.output_dir = args.output
        res = quickstart.main(cfg, console)
        ok = res["eval"]["tuned"]["response_loss"] < res["eval"]["base"]["response_loss"]
        console.print("tuned beats base on held-out response loss" if ok
                      else "[red]tuned does NOT beat base on held-out response loss[/red]")
        return 0 if ok else 1
    if args.verb == "prepare":
        from instructune.recipes import prepare

        stats = prepare.main(cfg, args.output, args.num_proc,
                             log=lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))
        for split, st in stats.items():
            console.print(f"{split}: " + ", ".join(f"{k} {v}" for k, v in st.items()))
        console.print(f"wrote {args.output}")
        return 0
    if args.verb == "train":
        from instructune.recipes import train

        summary = train.main(cfg, resume=args.resume)
        console.print(json.dumps(summary, indent=2))
        return 0
    if args.verb == "eval":
        from instructune.recipes import evaluate

        results = evaluate.main(cfg, tuned=args.tuned or cfg.output_dir, base=args.base)
        evaluate.print_results(results, console)
        return 0
    if args.verb == "generate":
        from instructune.data.inputs import load_inputs
        from instructune.data.jsonio import write_jsonl
        from instructune.data.record import Record
        from instructune.recipes import generate

        records = [Record(id=f"prompt-{i}", instruction=p, response="") for i, p in enumerate(args.prompt)]
        if args.input:
            records += load_inputs([args.input])
        if not records:
            raise ConfigError("give --prompt TEXT (repeatable) or --input FILE")
        texts = generate.generate(cfg, records, args.model)
        rows = [{"id": r.id, "instruction": r.instruction, "context": r.context, "generation": t}
                for r, t in zip(records, texts)]
        if args.output:
            write_jsonl(args.output, rows)
            console.print(f"wrote {len(rows)} generations to {args.output}")
        else:
            for row in rows:
                console.print(f"[bold]> {row['instruction']}[/bold]\n{row['generation']}\n")
        return 0
    if args.verb == "chat":
        from instructune.recipes import generate

        generate.chat(cfg, args.model)
        return 0
    if args.verb == "synth":
        from instructune.recipes import synth

        if args.method == "evol" and args.input:
            cfg.evol.input = args.input
        report = synth.main(cfg, args.method, args.output)
        synth.print_report(report, args.output, console)
        return 0
    if args.verb == "serve":
        from instructune.serve import server

        server.main(cfg, args.model, args.host, args.port, announce=lambda s: print(s, flush=True))
        return 0
    raise AssertionError(args.verb)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ConfigError, DataError) as e:
        print(f"instructune {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"instructune {args.verb}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
