"""The `instructune` command: one verb per pipeline stage.

    instructune quickstart [--output DIR] [key=value ...]
    instructune ingest INPUT... --output records.jsonl [--format NAME]
    instructune prepare [--recipe R] --output DIR [key=value ...]
    instructune train [--recipe R] [--resume] [key=value ...]
    instructune eval [--recipe R] --tuned RUN_DIR [--base MODEL] [key=value ...]
    instructune generate [--model RUN|PATH] --prompt TEXT ... | --input FILE [--output FILE]
    instructune chat [--model RUN|PATH]

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

    p = sub.add_parser("ingest", help="input files → canonical records JSONL")
    p.add_argument("inputs", nargs="+", help="files, or starter:train / starter:heldout")
    p.add_argument("--output", required=True)
    p.add_argument("--format", help="force a format instead of detecting it")

    p = sub.add_parser("prepare", help="records → tokenized dataset on disk")
    p.add_argument("--output", required=True)
    p.add_argument("--num-proc", type=int, default=None)
    _config_args(p)

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

    p = sub.add_parser("config", help="print the resolved config")
    _config_args(p)
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if args.verb == "ingest":
        from instructune.recipes import ingest

        res = ingest.main(args.inputs, args.output, args.format)
        console.print(f"wrote {res['records']} records to {args.output}")
        for f, fmt in res["formats"].items():
            console.print(f"  {f}: {fmt}")
        console.print(f"  tasks: {res['tasks']}")
        return 0

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

        stats = prepare.main(cfg, args.output, args.num_proc)
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
