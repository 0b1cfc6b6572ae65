"""The `instructune` command: one table entry per verb, each calling its recipe.

    instructune VERB [INPUT ...] [--flag ...] [key=value ...]

Every verb reads its arguments the same way: positional inputs, `--flags`, then `key=value`
config overrides (`train.lr=1e-4`), in any order. A positional whose part before `=` names a
config section (`train.lr=...`, `output_dir=...`) is an override; anything else is an input.
`instructune config` prints every field; `instructune VERB --help` lists a verb's flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import gc
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rich.console import Console  # noqa: E402

from instructune.config import Config, ConfigError, list_recipes, load_config, to_dict  # noqa: E402
from instructune.data.errors import DataError  # noqa: E402

SECTIONS = frozenset(f.name for f in dataclasses.fields(Config))


def is_override(token: str) -> bool:
    """Whether a positional is a `key=value` override: its key's first part names a config field."""
    key, sep, _ = token.partition("=")
    return bool(sep) and key.split(".")[0] in SECTIONS and "/" not in key


def misspelt_override(token: str) -> str | None:
    """Why `token` looks like an override whose section does not exist ("'tran' is not a config
    section; nearest: train"), or None when it does not look like one (an input path, a word)."""
    key, sep, _ = token.partition("=")
    head = key.split(".")[0]
    if not sep or "/" in key or os.path.exists(token) or head in SECTIONS or not head.isidentifier():
        return None
    near = difflib.get_close_matches(head, sorted(SECTIONS), n=1)
    hint = f"nearest: {near[0]}" if near else f"sections: {', '.join(sorted(SECTIONS))}"
    return f"'{head}' in {token!r} is not a config section ({hint})"


@dataclass(frozen=True)
class Verb:
    """One CLI verb.

    Attributes:
        help: one line for `instructune --help`.
        run: (parsed args, console) → exit code; `args.cfg` holds the resolved config when
            `config` is true, `args.inputs` the positional inputs.
        flags: adds the verb's own `--flags` to its parser.
        inputs: help for positional inputs; None when the verb takes none.
        min_inputs: how many inputs it needs at least.
        config: reads `--recipe` and `key=value` overrides into `args.cfg`.
        recipe: the default `--recipe`.
        libraries: uses transformers / datasets: their warnings and progress bars are quieted
            at start (the verbs that do not, skip the import this costs).
        threads: runs a model with torch: takes `--threads N` (the `threads` key), applied at start.
        precheck: (parsed args) → None, raising on a bad input; run before the ML libraries and
            the verb's recipe are imported, so that a bad model name or data file is answered in
            a fraction of a second rather than after seconds of imports.
    """

    help: str
    run: Callable[[argparse.Namespace, Console], int]
    flags: Callable[[argparse.ArgumentParser], None] = lambda p: None
    inputs: str | None = None
    min_inputs: int = 0
    config: bool = True
    recipe: str | None = None
    libraries: bool = True
    threads: bool = False
    precheck: Callable[[argparse.Namespace], None] | None = None


BNB_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"


def quiet_libraries() -> None:
    """Silence what libraries print on every command, so a command shows only its own output.

    transformers' FutureWarnings (deprecations inside the libraries, nothing a user can act on),
    DeepSpeed's accelerator warning, bitsandbytes' note about an optional hub kernel,
    its info logs and its own progress bars ("Loading weights", "Writing model shards"), and
    datasets' per-operation bars ("rendering", "Filter", "Saving the dataset": `prepare` says
    what it tokenizes in its own lines). Hub download bars stay: a download is worth watching.
    """
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers(\.|$)")
    # DeepSpeed says "Setting accelerator to CPU..." on stdout when it is imported on a machine
    # without a GPU, and accelerate imports it inside every save_pretrained when it is installed,
    # DeepSpeed or not. Its logger gets its own handler and level when deepspeed is imported, so
    # a filter, set before that, is what stays: its errors still show.
    logging.getLogger("DeepSpeed").addFilter(lambda record: record.levelno >= logging.ERROR)
    # bitsandbytes, imported on a CPU with AVX512-BF16, warns that it could not fetch an optional
    # 4-bit kernel from the hub (the `kernels` package): nothing an fp32 or offline run can act on.
    logging.getLogger(BNB_CPU_LOGGER).addFilter(lambda record: "kernels-community" not in record.getMessage())
    from huggingface_hub.utils import enable_progress_bars
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # this also turns the hub's bars off...
    enable_progress_bars()             # ...which downloads keep
    import datasets

    datasets.disable_progress_bars()


def say(console: Console, text: str) -> None:
    """Print plain text (file names and field lists are not rich markup)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


# --- verbs --------------------------------------------------------------------------------

def _quickstart_flags(p):
    p.add_argument("--output", help="run dir (default runs/quickstart); one holding a run is refused without --overwrite")
    run_dir_flags(p, overwrite="replace the run in the dir (data/ and what train, eval and report wrote; "
                               "other files stay)")


def _quickstart(args, console) -> int:
    from instructune.recipes import quickstart

    args.cfg.output_dir = args.output or args.cfg.output_dir or "runs/quickstart"
    res = quickstart.main(args.cfg, console, overwrite=args.overwrite)
    return 0 if quickstart.report_outcome(res, console) else 1


def _run_flags(p):
    p.add_argument("--output", help="the pipeline's run dir (default: output_dir, else runs/pipeline)")
    run_dir_flags(p, resume="continue a stopped pipeline: a killed stage (train from its newest checkpoint), "
                            "or past the review stop with the decisions recorded",
                  overwrite="start the pipeline over (its stage dirs and report are removed; review decisions stay)")


def _run(args, console) -> int:
    from instructune.recipes import run

    args.cfg.output_dir = args.output or args.cfg.output_dir or "runs/pipeline"
    hint = run.resume_command(args.recipe, args.overrides, args.output)
    try:
        summary = run.main(args.cfg, console, resume=args.resume, overwrite=args.overwrite, resume_hint=hint)
    except KeyboardInterrupt:
        print(f"instructune run: interrupted; continue with: {hint}", file=sys.stderr)
        return 130
    if summary["stopped"]:
        return 3
    run.print_summary(summary, console)
    return 0


def _ingest_flags(p):
    from instructune.data.formats import FORMATS
    from instructune.recipes.ingest import add_reader_flags

    p.add_argument("--output", help="the records JSONL to write (required unless --explain)")
    p.add_argument("--format", choices=list(FORMATS), help="force a format instead of detecting it")
    p.add_argument("--explain", action="store_true",
                   help="print which format each file is detected as and why; convert nothing")
    _on_error_flags(p)
    add_reader_flags(p)


def input_files(args) -> None:
    """The positional input files exist (a missing one names the nearest existing name), checked
    before the verb's recipe and its libraries are imported."""
    from instructune.recipes.checks import check_inputs

    check_inputs(args.inputs, "input")


def _ingest(args, console) -> int:
    input_files(args)
    from instructune.recipes import ingest

    if args.explain:
        for line in ingest.explain_inputs(args.inputs):
            say(console, line)
        return 0
    if not args.output:
        raise ConfigError("ingest: give --output FILE (or --explain)")
    res = ingest.main(args.inputs, args.output, args.format, reader=ingest.reader_from_args(args),
                      on_error=args.on_error, rejects=args.rejects)
    ingest.print_summary(res, args.output, args.on_error, lambda t: say(console, t))
    return 0


def _prepare_flags(p):
    p.add_argument("--output", required=True, help="dir for the tokenized splits and stats.json")
    p.add_argument("--num-proc", type=int, default=None,
                   help="tokenizer worker processes (default: one per 2000 records, up to the CPUs, at most 8)")


def _prepare(args, console) -> int:
    from instructune.recipes import prepare

    stats = prepare.main(args.cfg, args.output, args.num_proc, log=lambda line: say(console, line))
    for split, st in stats.items():
        console.print(f"{split}: " + ", ".join(f"{k} {v}" for k, v in st.items()))
    console.print(f"wrote {args.output}")
    return 0


def _format_flag(p):
    p.add_argument("--format", help="force an input format instead of detecting it")


def _dedup_flags(p):
    p.add_argument("--output", required=True, help="kept records (canonical JSONL)")
    p.add_argument("--method", choices=["minhash", "rouge"], default="minhash",
                   help="minhash: Jaccard of character 5-grams, near-linear; rouge: ROUGE-L F1, quadratic")
    p.add_argument("--threshold", type=float, help="similarity that counts as duplicate (default 0.8 minhash, 0.7 rouge)")
    p.add_argument("--fields", default="instruction,context,response", help="record fields compared, comma-separated")
    p.add_argument("--removed", help="removals JSONL (default: OUTPUT.removed.jsonl: kept.jsonl → kept.removed.jsonl)")
    _on_error_flags(p)
    _format_flag(p)


def _on_error_flags(p):
    """--on-error and --rejects, as ingest and dedup take them (bad input rows)."""
    from instructune.recipes.ingest import ON_ERROR

    p.add_argument("--on-error", choices=ON_ERROR, default="fail",
                   help="fail: stop at the first bad row, write nothing; skip: write bad rows to "
                        "the rejects file and go on")
    p.add_argument("--rejects", help="rejects file for --on-error skip (default OUTPUT.rejects.jsonl)")


def _dedup(args, console) -> int:
    input_files(args)
    from instructune.recipes import dedup

    fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
    try:
        res = dedup.main(args.inputs, args.output, args.method, args.threshold, fields, args.removed, args.format,
                         on_error=args.on_error, rejects=args.rejects)
    except DataError:
        raise
    except ValueError as e:  # bad threshold or field
        raise ConfigError(f"dedup: {e}") from None
    say(console, f"kept {res['kept']} of {res['records']} records → {res['output']}")
    say(console, f"removed {res['records'] - res['kept']} {res['removed']} (threshold {res['threshold']}) "
                 f"→ {res['removed_path']}")
    if res["rejects"]:
        say(console, f"rejected {sum(res['rejected'].values())} rows {res['rejected']} → {res['rejects']}")
    return 0


def _stats_flags(p):
    p.add_argument("--output", help="also write DIR/stats.json and DIR/lengths.png")
    p.add_argument("--tokenizer", help="model whose tokenizer counts tokens (default smollm2-135m-instruct)")
    p.add_argument("--recipe", help="instead of INPUTs: a recipe (YAML or shipped name) whose data.train entries "
                                    "(column mappings, caps, weights) are read and mixed; prints the mixture first")
    _format_flag(p)


def _stats(args, console) -> int:
    from instructune.recipes.checks import check_inputs

    if bool(args.inputs) == bool(args.recipe):
        raise ConfigError("stats: give INPUT files or --recipe, one of the two")
    cfg = load_config(args.recipe) if args.recipe else None
    check_inputs(cfg.data.train if cfg else args.inputs, "data.train" if cfg else "input")
    from instructune.data.stats import format_stats
    from instructune.recipes import stats

    st = (stats.mixture_main(cfg.data, args.output, args.tokenizer) if cfg
          else stats.main(args.inputs, args.output, args.tokenizer, args.format))
    say(console, format_stats(st))
    for name, path in st.get("files", {}).items():
        say(console, f"wrote {name}: {path}")
    return 0


def run_dir_flags(p, overwrite: str, resume: str | None = None) -> None:
    """--overwrite (and --resume, for a verb that can continue its run) for a verb's output dir
    (the run-dir rules: rundir.py, recipes/checks.py: check_output_dir)."""
    runs = p.add_mutually_exclusive_group()
    if resume:
        runs.add_argument("--resume", action="store_true", help=resume)
    runs.add_argument("--overwrite", action="store_true", help=overwrite)


def _train_flags(p):
    run_dir_flags(p, resume="continue the run in output_dir from its newest checkpoint (its config.yaml must agree)",
                  overwrite="replace the run in output_dir (its outputs, and eval's and the report made from "
                            "them, are removed first; other files stay)")


def _train_precheck(args) -> None:
    """The model and the data, checked before torch and the train recipe load; `train.main`
    checks them again with the run dir (which needs the number of processes)."""
    from instructune.recipes.checks import check_data, check_model

    check_model(args.cfg.model.name, "model.name")
    check_data(args.cfg)


def _train(args, console) -> int:
    from instructune.recipes import train

    args.cfg = train.with_run_dir(args.cfg)  # the default dir is named once, here
    try:
        summary = train.main(args.cfg, resume=args.resume, overwrite=args.overwrite)
        # The run's modules sit in reference cycles (hooks, wrappers); under gloo their pending
        # collective work holds tensors. Freed at interpreter teardown instead of now, they can
        # abort the process (SIGABRT, "terminate called without an active exception").
        gc.collect()
    except KeyboardInterrupt:
        if int(os.environ.get("RANK", "0")) == 0:  # one message, not one per process
            print(train.interrupted_message(args.cfg), file=sys.stderr)
        return 130
    console.print(json.dumps(summary, indent=2))
    return 0


def _eval_flags(p):
    p.add_argument("--tuned", help="run dir or model path (its saved config.yaml supplies the defaults)")
    p.add_argument("--base", help="base model (default: model.name)")
    p.add_argument("--suite", action="append", choices=["loss", "generation", "ifeval", "forgetting", "temperature"],
                   help="run only these suites (repeatable; default eval.suites: all)")
    p.add_argument("--responses", help="with --suite ifeval: score these existing responses "
                                       "(one {prompt, response} per line), loading no model")
    p.add_argument("--prompts", help="with --responses: an IFEval-format prompts file (default: the shipped set)")
    p.add_argument("--output", help="dir for eval.json and the verdicts (default: the tuned run dir)")
    run_dir_flags(p, overwrite="replace the eval outputs in the output dir (eval.json, generations, verdicts, "
                               "ifeval_summary.json and report.html; the model and training files stay)")


def _eval(args, console) -> int:
    from instructune.recipes.checks import check_eval

    if args.responses:
        if args.suite not in (None, ["ifeval"]):
            raise ConfigError("eval: --responses scores the ifeval suite only; give --suite ifeval")
        if not args.output:
            raise ConfigError("eval: --responses needs --output DIR")
        from instructune.evaluate import ifeval
        from instructune.recipes import evaluate

        summary = evaluate.score_responses(args.responses, args.prompts, args.output, overwrite=args.overwrite)
        console.print(ifeval.format_summary(summary))
        say(console, f"wrote {args.output}/ifeval_verdicts.jsonl and ifeval_summary.json")
        return 0
    cfg = args.cfg
    if args.tuned and args.recipe is None:
        cfg = run_config(args.tuned, args.overrides) or cfg
    if args.suite:
        cfg.eval.suites = args.suite
    tuned = args.tuned or cfg.output_dir
    if not tuned:
        raise ConfigError("eval: give --tuned RUN_DIR (or output_dir=RUN_DIR); eval.json is written there")
    check_eval(cfg, tuned, args.base)  # before the recipe's imports (torch): a bad name is answered at once
    from instructune.evaluate.results_table import print_results
    from instructune.recipes import evaluate

    results = evaluate.main(cfg, tuned=tuned, base=args.base, out_dir=args.output or tuned, console=console,
                            overwrite=args.overwrite)
    print_results(results, console)
    return 0


def run_config(run: str, overrides: list[str]) -> Config | None:
    """A run dir's saved config.yaml with `overrides` on top, or None when `run` has none."""
    from instructune.rundir import RunDir

    saved = RunDir(run).config
    return load_config(str(saved), overrides) if saved.is_file() else None


def _model_flag(p):
    p.add_argument("--model", help="run dir, export dir, path or hub id (default: model.name)")


def _generate_flags(p):
    _model_flag(p)
    p.add_argument("--prompt", action="append", default=[], help="an instruction (repeatable)")
    p.add_argument("--input", help="file whose prompts to answer: any training format, or prompt-only rows "
                                   "({prompt}, Alpaca without output, messages ending in a user turn)")
    p.add_argument("--output", help="write JSONL here instead of printing")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")


def with_run_template(args) -> None:
    """A run dir given as --model renders prompts as it was trained: its saved `template`
    section, with the command line's overrides on top."""
    run = run_config(args.model, args.overrides) if args.model else None
    if run is not None:
        args.cfg.template = run.template


def _generate(args, console) -> int:
    from instructune.recipes.checks import check_generate

    with_run_template(args)
    check_generate(args.cfg, args.model, args.input)  # before the recipe's imports (torch)
    from instructune.recipes import generate

    generate.main(args.cfg, args.prompt, args.input, args.output, args.model, console,
                  progress=not args.no_progress)
    return 0


def _chat(args, console) -> int:
    from instructune.recipes.checks import check_generate

    with_run_template(args)
    check_generate(args.cfg, args.model)  # before the recipe's imports (torch)
    from instructune.recipes import generate

    generate.chat(args.cfg, args.model)
    return 0


def _serve_flags(p):
    p.add_argument("--model", help="run dir, export dir, path or hub id (default: serve.model, then model.name)")
    p.add_argument("--host", help="address to bind (default: serve.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: serve.port, 8000; 0 picks a free one)")
    p.add_argument("--api-key", help="require `Authorization: Bearer KEY` (default: $INSTRUCTUNE_API_KEY; prefer "
                                     "the variable: a key on the command line shows in `ps`)")
    p.add_argument("--insecure", action="store_true",
                   help="allow binding beyond loopback without an API key (anyone who reaches the port can use it)")


def _serve(args, console) -> int:
    from instructune.recipes.checks import check_generate

    check_generate(args.cfg, args.model or args.cfg.serve.model or None)  # before the recipe's imports (torch)
    from instructune.recipes import serve

    serve.main(args.cfg, args.model, args.host, args.port, announce=lambda s: print(s, flush=True),
               api_key=args.api_key, insecure=args.insecure)
    return 0


def _quality_flags(p):
    p.add_argument("--output", required=True, help="dir for accepted/flagged/deferred/rejected.jsonl and report.json")
    p.add_argument("--refine", action="store_true",
                   help="Self-Refine each response first with the synth generator (refine.rounds, default 2), "
                        "then score the refined records; drafts and critiques stay in meta.refine")
    run_dir_flags(p, overwrite="replace the quality outputs in --output (the four decision files and report.json; "
                               "review decisions stay)")


def _quality(args, console) -> int:
    input_files(args)
    q = args.cfg.quality
    from instructune.quality.scorers import LM_SCORERS  # light (numpy); the recipe imports it next anyway

    if LM_SCORERS & set(q.scorers):
        from instructune.recipes.checks import check_model

        check_model(q.lm, "quality.lm")
    from instructune.recipes import quality

    report = quality.main(args.cfg, args.inputs, args.output, console, refine_first=args.refine,
                          overwrite=args.overwrite)
    quality.print_summary(report, args.output, console)
    return 0


def _augment_flags(p):
    p.add_argument("--constraints", action="store_true", required=True,
                   help="add verifiable constraints to each record's instruction and make its response meet them "
                        "(settings: data.augment.constraints.*; the generator for generate > 0: synth.*)")
    p.add_argument("--output", required=True,
                   help="augmented records (canonical JSONL); .dropped.jsonl and .summary.json are written beside it")
    _format_flag(p)
    run_dir_flags(p, overwrite="replace --output and its .dropped.jsonl and .summary.json")


def _augment(args, console) -> int:
    input_files(args)
    from instructune.recipes import augment

    res = augment.main(args.inputs, args.output, args.cfg.data.augment.constraints, args.cfg.synth, args.format,
                       args.cfg.data.reader, overwrite=args.overwrite)
    say(console, f"kept {res['kept']} of {res['records']} records → {res['output']} "
                 f"({res['records_per_second']} records/s, {res['generator_calls']} generator calls)")
    if res["reasons"]:
        say(console, f"dropped {res['dropped']}: {res['reasons']} → {res['dropped_path']}")
    return 0


def _review_flags(p):
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--insecure", action="store_true",
                   help="no access token: anyone who reaches the port can review (the printed URL carries the token)")


def _review(args, console) -> int:
    from instructune.recipes import review

    review.main(args.inputs[0], args.host, args.port, announce=lambda s: print(s, flush=True), insecure=args.insecure)
    return 0


def _synth_flags(p):
    p.add_argument("method", choices=["self-instruct", "evol"],
                   help="self-instruct: new tasks from seeds (self_instruct.*); evol: deeper and broader (evol.*)")
    p.add_argument("--input", action="append", default=[], help="evol: starting pool file (repeatable; default evol.input)")
    p.add_argument("--output", required=True, help="run dir (config.yaml, records.jsonl, rejects.jsonl, report.json)")
    run_dir_flags(p, resume="continue the synth run in --output where it stopped (same method and settings; "
                            "rounds / generations may grow)",
                  overwrite="replace the synth run in --output (its files are removed first; other files stay)")


def _synth(args, console) -> int:
    from instructune.recipes import synth

    if args.method == "evol" and args.input:
        args.cfg.evol.input = args.input
    report = synth.main(args.cfg, args.method, args.output, resume=args.resume, overwrite=args.overwrite,
                        say=lambda t: say(console, t))
    synth.print_report(report, args.output, console)
    return 0


def _diversity_flags(p):
    p.add_argument("--seeds", action="append", default=[], required=True, metavar="FILE",
                   help="the instructions the grown ones came from (repeatable; any format, or starter:train)")
    p.add_argument("--output", help="also write DIR/diversity.json")
    p.add_argument("--no-parse", action="store_true", help="leave out the verb-object view (needs no spaCy)")
    p.add_argument("--no-embed", action="store_true", help="leave out the embedding spread (loads no embedder)")
    _format_flag(p)


def _diversity(args, console) -> int:
    from instructune.recipes.checks import check_inputs

    check_inputs(args.inputs, "input")
    check_inputs(args.seeds, "--seeds")
    from instructune.recipes import diversity

    report = diversity.main(args.inputs, args.seeds, args.output, parse=not args.no_parse,
                            embed=not args.no_embed, fmt=args.format)
    say(console, diversity.format_report(report))
    return 0


def _ablate_flags(p):
    p.add_argument("--arm", action="append", nargs="+", metavar=("NAME", "key=value"),
                   help="an arm: its name, then its overrides (repeatable; the first arm is the baseline; "
                        "default: ablation.arms)")
    p.add_argument("--seeds", type=int, help="seeds per arm (default ablation.seeds)")
    p.add_argument("--output", required=True, help="ablation dir (cells/, ablation.json, report.html)")
    p.add_argument("--resume", action="store_true",
                   help="continue the ablation in --output: finished cells are skipped; one made with other "
                        "settings is refused, naming the changed keys")
    p.add_argument("--overwrite", action="store_true", help="start the ablation in --output over")
    p.add_argument("--summary-only", action="store_true",
                   help="write ablation.json and report.html from the cells finished so far; train nothing")


def _ablate(args, console) -> int:
    from instructune.recipes import ablate

    if args.seeds is not None and args.seeds < 1:
        raise ConfigError(f"ablate: --seeds got {args.seeds}; expected >= 1")
    ablate.main(args.cfg, args.recipe, args.overrides, args.output, args.arm, args.seeds, console,
                run=not args.summary_only, resume=args.resume, overwrite=args.overwrite)
    say(console, f"wrote {args.output}/ablation.json and {args.output}/report.html")
    return 0


def _report_flags(p):
    p.add_argument("--output", help="the HTML file (default: RUN_DIR/report.html for one run, else ./report.html)")
    p.add_argument("--generations", type=int, default=8, help="held-out generations shown side by side per run")


def _report(args, console) -> int:
    from instructune.recipes import report

    say(console, f"wrote {report.main(args.inputs, args.output, args.generations)}")
    return 0


def _export_flags(p):
    p.add_argument("--gguf", required=True, choices=["f16", "q8_0"],
                   help="write the run's merged export/ as one GGUF file in this precision (llama, mistral, qwen2)")
    p.add_argument("--output", help="the .gguf file (default RUN/model-<quant>.gguf)")


def _export(args, console) -> int:
    from instructune.recipes import export

    export.main(args.inputs[0], args.gguf, args.output, say=lambda s: say(console, s))
    return 0


def _push_flags(p):
    p.add_argument("--repo", required=True, help="the hub repo to upload to (NAME or ORG/NAME; created if missing)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--adapter", action="store_true", help="upload the LoRA adapter alone (adapter/), not export/")


def _push(args, console) -> int:
    from instructune.recipes import push

    res = push.main(args.inputs[0], args.repo, args.private, args.adapter)
    say(console, f"uploaded {len(res['files'])} files of {res['folder']} → {res['url']}")
    return 0


def _config_flags(p):
    p.add_argument("--explain", action="store_true", help="print each field's value and what it means")


def _config(args, console) -> int:
    import yaml

    if args.explain:
        from instructune.config.docs import explain

        say(console, "\n".join(explain(args.cfg)))
        return 0
    say(console, yaml.safe_dump(to_dict(args.cfg), sort_keys=False))
    return 0


_FILES = "files (any format), or starter:train / starter:heldout"
VERBS: dict[str, Verb] = {
    "quickstart": Verb("the whole pipeline on the embedded defaults", _quickstart, _quickstart_flags,
                       recipe="quickstart", threads=True),
    "run": Verb("the loop as one recipe: ingest → synth → quality → review → train → eval → report, cached and "
                "resumable", _run, _run_flags, threads=True),
    "ingest": Verb("input files → canonical records JSONL", _ingest, _ingest_flags, _FILES, 1, config=False,
                   libraries=False),
    "prepare": Verb("records → tokenized dataset on disk", _prepare, _prepare_flags),
    "dedup": Verb("drop exact and near-duplicate records", _dedup, _dedup_flags, _FILES, 1, config=False,
                  libraries=False),
    "stats": Verb("counts, token-length histograms and shares of a dataset", _stats, _stats_flags, _FILES, 0,
                  config=False),
    "train": Verb("train (LoRA or full)", _train, _train_flags, threads=True, precheck=_train_precheck),
    "eval": Verb("compare base and tuned on held-out records", _eval, _eval_flags, threads=True),
    "generate": Verb("batched generation", _generate, _generate_flags, threads=True),
    "chat": Verb("interactive chat", _chat, _model_flag, threads=True),
    "serve": Verb("OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions)", _serve, _serve_flags,
                  threads=True),
    "quality": Verb("score records → accepted / flagged / deferred / rejected with reasons", _quality, _quality_flags,
                    "files (any format) or starter:SPLIT", 1, threads=True),
    "review": Verb("local web page to approve / reject / edit flagged records", _review, _review_flags,
                   "an `instructune quality` output dir", 1, config=False, libraries=False),
    "augment": Verb("add verifiable constraints to records, with responses checked to meet them", _augment,
                    _augment_flags, _FILES, 1, threads=True),
    "synth": Verb("grow a dataset with an LLM: Self-Instruct or Evol-Instruct", _synth, _synth_flags, threads=True),
    "diversity": Verb("how varied grown instructions are against their seeds: ROUGE-L, verbs and objects, "
                      "embedding spread", _diversity, _diversity_flags, "grown records: files (any format)", 1,
                      config=False),
    "ablate": Verb("arms × seeds of a recipe → ablation.json and report.html with intervals", _ablate,
                   _ablate_flags, threads=True),
    "report": Verb("run dirs → one self-contained HTML report", _report, _report_flags, "run dirs", 1,
                   config=False),
    "export": Verb("a run's merged model → one GGUF file (f16 or q8_0) for llama.cpp", _export, _export_flags,
                   "a run dir (or a merged checkpoint dir)", 1, config=False),
    "push": Verb("upload a run's export/ (or adapter) with its model card to the Hugging Face hub", _push,
                 _push_flags, "a run dir", 1, config=False),
    "config": Verb("print the resolved config (--explain: with each field's documentation)", _config,
                   _config_flags, libraries=False),
}


# --- parsing ------------------------------------------------------------------------------

def verb_parser(name: str, verb: Verb) -> argparse.ArgumentParser:
    """The parser of one verb: its flags, positional inputs and (with a config) overrides."""
    p = argparse.ArgumentParser(prog=f"instructune {name}", description=verb.help)
    verb.flags(p)
    if verb.threads:
        p.add_argument("--threads", type=int, metavar="N",
                       help="CPU threads for torch (the `threads` key; 0 or unset: a share of the cores)")
    if verb.config:
        p.add_argument("--recipe", default=verb.recipe,
                       help=f"a shipped recipe ({', '.join(list_recipes())}) or a YAML path")
    what = (verb.inputs + "; " if verb.inputs else "") + ("key=value config overrides (train.lr=1e-4)"
                                                          if verb.config else "")
    p.add_argument("positionals", nargs="*", metavar="INPUT|key=value" if verb.inputs else "key=value", help=what)
    return p


def top_parser() -> argparse.ArgumentParser:
    """`instructune --help`: the verbs and their one-line help."""
    p = argparse.ArgumentParser(prog="instructune", description="Instruction fine-tuning toolkit.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="verbs:\n" + "\n".join(f"  {n:<11} {v.help}" for n, v in VERBS.items())
                                + "\n\n`instructune VERB --help` for a verb's arguments.")
    p.add_argument("verb", choices=list(VERBS), metavar="VERB")
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    """Parsed args of `argv` (verb first); `inputs`, `overrides` and, with a config, `cfg` set."""
    if not argv or argv[0] not in VERBS:
        top_parser().parse_args(argv[:1] or ["--help"])
    name, verb = argv[0], VERBS[argv[0]]
    p = verb_parser(name, verb)
    args = p.parse_intermixed_args(argv[1:])
    args.verb = name
    args.overrides = [a for a in args.positionals if verb.config and is_override(a)]
    args.inputs = [a for a in args.positionals if a not in args.overrides]
    misspelt = [m for a in args.inputs if verb.config and (m := misspelt_override(a))]
    if misspelt:
        p.error("; ".join(misspelt))
    if args.inputs and verb.inputs is None:
        p.error(f"unexpected argument(s): {' '.join(args.inputs)} (overrides look like section.key=value)")
    if len(args.inputs) < verb.min_inputs:
        p.error(f"give at least {verb.min_inputs} INPUT ({verb.inputs})")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    try:
        # The config first: a bad key or value is answered before the ML libraries are imported.
        if VERBS[args.verb].config:
            args.cfg = load_config(args.recipe, args.overrides)
        if VERBS[args.verb].precheck is not None:
            VERBS[args.verb].precheck(args)
        if VERBS[args.verb].libraries:
            quiet_libraries()
        if VERBS[args.verb].threads:
            if args.threads is not None:
                args.cfg.threads = args.threads
                args.cfg.__post_init__()  # the same range check as the key
            from instructune.cpu import set_threads

            set_threads(args.cfg.threads)
        return VERBS[args.verb].run(args, Console())
    except (ConfigError, DataError, FileNotFoundError) as e:
        print(f"instructune {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the conventional exit code, no traceback
        print(f"instructune {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
