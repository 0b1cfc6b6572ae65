"""`instructune eval`: base and tuned models side by side, with intervals.

    instructune eval --tuned RUN_DIR [--base MODEL] [key=value ...]
    instructune eval --suite ifeval --responses RESPONSES.jsonl [--prompts PROMPTS.jsonl] --output DIR

Suites (`eval.suites`), per model:
- loss: teacher-forced response loss and perplexity on each held-out set (`data.heldout` is
  the set "heldout", `eval.sets` adds named ones);
- generation: greedy generations scored with ROUGE-L and exact match (for chain-of-thought
  records, on the final answer after the rationale);
- ifeval: verifiable instruction checks (IFEval's 25 types) on the shipped prompt set or
  `eval.ifeval_prompts`, strict and loose, prompt and instruction level;
- forgetting: general-text perplexity on the shipped reference corpus or `eval.forgetting_corpus`;
- temperature (asked for, on a run with the temperature head): `evaluate/temperature.py`.
A run with add-ons that change the forward is also scored without them ("tuned_plain", what
its plain transformers export/ gives; `eval.without_addons`), and eval.json's
"comparison_addons" holds tuned − tuned_plain.
Every proportion carries a Wilson interval, every mean a bootstrap interval, and every
tuned − base difference a paired bootstrap interval over the same items.

With `--tuned RUN_DIR`, the run's saved config.yaml supplies what the command line does not
(its held-out data, its template) and the results go to RUN_DIR: eval.json,
eval_generations.jsonl, eval_items.json (per-item scores), ifeval_verdicts.jsonl (tuned) and
ifeval_verdicts_base.jsonl.
`--responses` scores existing responses (any model's, e.g. from vLLM) without loading a model.

A dir that already holds eval outputs is refused unless `overwrite` (`--overwrite`) replaces
them: only eval's entries and the report made from them are removed (rundir.clear), never the
model or the training files beside them, and only once the new results are ready to write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from instructune.config import Config
from instructune.data.jsonio import write_json, write_jsonl
from instructune.data.record import Record
from instructune.evaluate import ifeval
from instructune.evaluate.card import write_cards
from instructune.evaluate.compare import compare
from instructune.evaluate.harness import ModelEval, changes_forward
from instructune.evaluate.item_scores import item_table
from instructune.evaluate.text_corpus import load_corpus
from instructune.recipes.builders import heldout_sets, inference_kwargs
from instructune.recipes.checks import check_output_dir
from instructune.rundir import IFEVAL_SUMMARY, RunDir, clear


def main(cfg: Config, tuned: str | None = None, base: str | None = None, out_dir: str | None = None,
         console: Console | None = None, with_base: bool = True, overwrite: bool = False) -> dict:
    """Evaluate `base` (default `model.name`) and `tuned` (a run dir or model); write eval.json.

    Args:
        cfg: the config (eval, data, template, model sections).
        tuned: a run dir, export dir, path or hub id; None evaluates the base model alone.
        base: the base model (default `model.name`).
        out_dir: where to write (default: `tuned` when it is a run dir, else `output_dir`).
        console: progress lines go here.
        with_base: False skips the base model (the ablation runner evaluates it once).
        overwrite: replace the eval outputs already in the output dir (else they are refused).
    Returns:
        {"base": {...}, "tuned": {...}, "comparison": {...}, "meta": {...}}
    Raises:
        CheckError: the output dir holds eval outputs and `overwrite` is false.
    """
    out = Path(out_dir or (tuned if tuned and Path(tuned).is_dir() else cfg.output_dir))
    check_output_dir("eval", out, overwrite=overwrite, key="output dir")
    console = console or Console()
    say = lambda s: console.print(s, markup=False, highlight=False)  # noqa: E731
    sets = heldout_sets(cfg) if {"loss", "generation", "temperature"} & set(cfg.eval.suites) else {}
    if {"loss", "generation", "temperature"} & set(cfg.eval.suites) and not sets:
        raise ValueError("no held-out records to evaluate (data.heldout and eval.sets are empty)")
    prompts = ifeval.load_prompts(cfg.eval.ifeval_prompts) if "ifeval" in cfg.eval.suites else []
    prompts = prompts[:cfg.eval.ifeval_max_prompts] if cfg.eval.ifeval_max_prompts else prompts
    docs = load_corpus(cfg.eval.forgetting_corpus) if "forgetting" in cfg.eval.suites else []
    models = {}
    if with_base:
        models["base"] = base or cfg.model.name
    if tuned:
        models["tuned"] = tuned
        if cfg.eval.without_addons and changes_forward(tuned):  # what a plain transformers / vLLM deployment of export/ runs
            models["tuned_plain"] = tuned
    evals: dict[str, ModelEval] = {}
    for label, name in models.items():
        say(f"evaluating {label}: {name}" + (" without its add-ons" if label == "tuned_plain" else ""))
        ev = ModelEval(name, cfg.eval, cfg.template, cfg.data.max_length, inference_kwargs(cfg), say,
                       plain=label == "tuned_plain")
        ev.run(sets, prompts, docs)
        del ev.model  # free it before the next model loads
        evals[label] = ev
    results: dict[str, Any] = {label: ev.metrics for label, ev in evals.items()}
    if "base" in evals and "tuned" in evals:
        e = cfg.eval
        results["comparison"] = compare(evals["base"].items, evals["tuned"].items, e.seed, e.bootstrap, e.confidence)
    if "tuned_plain" in evals:  # tuned − tuned_plain: what the add-ons buy at inference
        e = cfg.eval
        results["comparison_addons"] = compare(evals["tuned_plain"].items, evals["tuned"].items, e.seed,
                                               e.bootstrap, e.confidence)
    results["meta"] = {"models": models, "sets": {k: len(v) for k, v in sets.items()}, "ifeval_prompts": len(prompts),
                       "forgetting_documents": scored_documents(evals), "forgetting_corpus_documents": len(docs),
                       "confidence": cfg.eval.confidence}
    clear(out, "eval")  # only now: a failed eval leaves the earlier results as they were
    write_outputs(out, results, evals, sets)
    say(f"wrote {RunDir(out).eval}")
    if RunDir(out).has_export() and RunDir(out).summary.exists():  # a trained run: its card gets the table
        say("updated the model card: " + ", ".join(str(p) for p in write_cards(out)))
    return results


def write_outputs(out: Path, results: dict, evals: dict[str, ModelEval], sets: dict[str, list[Record]]) -> None:
    """eval.json, eval_generations.jsonl (records × models), eval_items.json (per-item scores of
    each model, what `ablate` pairs across arms) and the IFEval verdict files."""
    run = RunDir(out)
    write_json(run.eval, results)
    write_json(run.items, {label: item_table(ev.items, ev.verdicts, ev.ids) for label, ev in evals.items()})
    write_jsonl(run.generations, (
        {"set": name, "id": r.id, "task": r.task, "instruction": r.instruction, "reference": r.response,
         **{label: ev.generations[name][i] for label, ev in evals.items() if name in ev.generations}}
        for name, records in sets.items() for i, r in enumerate(records)))
    for label, ev in evals.items():
        if ev.verdicts:
            ifeval.write_verdicts(run.verdicts("tuned" if len(evals) == 1 else label), ev.verdicts)


def scored_documents(evals: dict[str, ModelEval]) -> int:
    """How many corpus documents the forgetting suite scored (the same for every model: the
    token budget takes the leading documents); 0 when it did not run."""
    return next((ev.metrics["forgetting"]["documents"] for ev in evals.values() if "forgetting" in ev.metrics), 0)


def score_responses(responses: str, prompts: str | None, out_dir: str, overwrite: bool = False) -> dict[str, Any]:
    """`eval --suite ifeval --responses R`: score existing responses, no model; writes
    ifeval_verdicts.jsonl and ifeval_summary.json to `out_dir` (refused where eval outputs are,
    unless `overwrite`)."""
    run = RunDir(out_dir)
    check_output_dir("eval", run.root, overwrite=overwrite)
    verdicts, summary = ifeval.run_suite(responses, prompts=prompts)
    clear(run.root, "eval")  # only once scoring worked (a file matching no prompt raises above)
    ifeval.write_verdicts(run.verdicts(), verdicts)
    ifeval.write_summary(run.root / IFEVAL_SUMMARY, summary)
    return summary


