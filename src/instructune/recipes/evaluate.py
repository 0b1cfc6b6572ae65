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
eval_generations.jsonl, ifeval_verdicts.jsonl (tuned) and ifeval_verdicts_base.jsonl.
`--responses` scores existing responses (any model's, e.g. from vLLM) without loading a model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from instructune.config import Config
from instructune.data.jsonio import write_json, write_jsonl
from instructune.data.record import Record
from instructune.data.render import render_prompt_segments
from instructune.data.templates import get_template, template_options
from instructune.data.tokenized import tokenize_records
from instructune.evaluate import ifeval
from instructune.evaluate.compare import compare
from instructune.evaluate.forgetting import corpus_perplexity
from instructune.evaluate.intervals import mean_ci_bootstrap, wilson
from instructune.evaluate.loss import response_loss
from instructune.evaluate.metrics import exact_match, final_answer, rouge_l
from instructune.evaluate.temperature import temperature_report
from instructune.evaluate.text_corpus import load_corpus
from instructune.generation.batched import generate_text
from instructune.generation.load import load_for_inference
from instructune.generation.params import GenParams
from instructune.model.addons.store import saved_sections
from instructune.recipes.builders import heldout_sets, inference_kwargs

LABELS = {"response_loss": "response loss", "perplexity": "perplexity", "rouge_l": "ROUGE-L",
          "exact_match": "exact match"}
IFEVAL_LEVELS = ("prompt_level_strict", "prompt_level_loose", "instruction_level_strict", "instruction_level_loose")


def proportion(successes: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(successes, n) if n else (None, None)
    return {"accuracy": successes / n if n else None, "successes": successes, "n": n, "lo": lo, "hi": hi}


class ModelEval:
    """One loaded model and the suites run on it; keeps per-item values for pairing.

    Attributes:
        metrics: what goes into eval.json for this model.
        items: per-item values (`compare.compare`'s input).
        generations: set name → generated texts, in record order.
        verdicts: IFEval verdicts, in prompt order.
    """

    def __init__(self, cfg: Config, name: str, say: Callable[[str], None], plain: bool = False):
        self.cfg, self.say = cfg, say
        self.model, self.tokenizer = load_for_inference(name, addons=not plain, **inference_kwargs(cfg))
        self.template, self.opts = get_template(cfg.template.name), template_options(cfg.template)
        self.metrics: dict[str, Any] = {"sets": {}}
        self.items: dict[str, Any] = {}
        self.generations: dict[str, list[str]] = {}
        self.verdicts: list = []

    def generate(self, records: list[Record], max_new_tokens: int) -> list[str]:
        rendered = [render_prompt_segments(r, self.tokenizer, self.template, self.opts) for r in records]
        params = GenParams(max_new_tokens=max_new_tokens, temperature=0.0)
        return generate_text(self.model, self.tokenizer, [p for p, _ in rendered], params, self.cfg.eval.batch_size,
                             [s for _, s in rendered])

    def loss(self, name: str, records: list[Record]) -> None:
        ds, _ = tokenize_records(records, self.tokenizer, self.template, self.cfg.data.max_length, self.opts)
        device = next(self.model.parameters()).device
        res = response_loss(self.model, ds, self.tokenizer.pad_token_id, self.cfg.eval.batch_size, device)
        self.metrics["sets"].setdefault(name, {}).update(
            {k: res[k] for k in ("response_loss", "perplexity", "tokens", "records")})
        self.items[f"sets.{name}.response_loss"] = (res["row_nll"], res["row_tokens"])

    def generation(self, name: str, records: list[Record]) -> None:
        texts = self.generate(records, self.cfg.eval.max_new_tokens)
        preds = [final_answer(t, self.opts.rationale_separator) if r.rationale else t for t, r in zip(texts, records)]
        rouge = [rouge_l(p, r.response) for p, r in zip(preds, records)]
        em = [exact_match(p, r.response) for p, r in zip(preds, records)]
        e = self.cfg.eval
        self.metrics["sets"].setdefault(name, {}).update(
            {"rouge_l": mean_ci_bootstrap(rouge, e.seed, e.bootstrap, e.confidence),
             "exact_match": proportion(int(sum(em)), len(em))})
        self.items[f"sets.{name}.rouge_l"], self.items[f"sets.{name}.exact_match"] = rouge, em
        self.generations[name] = texts

    def ifeval(self, prompts: list) -> None:
        records = [Record(id=f"ifeval-{p.key}", instruction=p.prompt, response="") for p in prompts]
        texts = self.generate(records, self.cfg.eval.ifeval_max_new_tokens)
        self.verdicts, summary = ifeval.score(prompts, {p.prompt: t for p, t in zip(prompts, texts)})
        self.metrics["ifeval"] = summary
        self.items["ifeval.prompt_level_strict"] = [float(v.follow_all_instructions) for v in self.verdicts]
        self.items["ifeval.prompt_level_loose"] = [float(v.follow_all_instructions_loose) for v in self.verdicts]
        self.items["ifeval.instruction_level_strict"] = [float(x) for v in self.verdicts for x in v.follow_instruction_list]
        self.items["ifeval.instruction_level_loose"] = [float(x) for v in self.verdicts
                                                        for x in v.follow_instruction_list_loose]

    def temperature(self, records: list[Record]) -> None:
        e = self.cfg.eval
        self.metrics["temperature"] = temperature_report(
            self.model, self.tokenizer, records,
            lambda r: render_prompt_segments(r, self.tokenizer, self.template, self.opts),
            e.max_new_tokens, e.batch_size, e.seed, e.bootstrap, e.confidence)

    def forgetting(self, docs: list[str]) -> None:
        e = self.cfg.eval
        res = corpus_perplexity(self.model, self.tokenizer, docs, e.forgetting_max_length, e.forgetting_max_tokens or None)
        self.metrics["forgetting"] = {k: res[k] for k in ("perplexity", "nll", "tokens", "documents", "max_length")}
        self.items["forgetting"] = res

    def run(self, sets: dict[str, list[Record]], prompts: list, docs: list[str]) -> None:
        suites = self.cfg.eval.suites
        steps: list[tuple[str, Callable[[], None]]] = []
        for name, records in sets.items():
            if "loss" in suites:
                steps.append((f"loss on {name} ({len(records)} records)", lambda n=name, r=records: self.loss(n, r)))
            if "generation" in suites:
                steps.append((f"generation on {name}", lambda n=name, r=records: self.generation(n, r)))
        if "ifeval" in suites and prompts:
            steps.append((f"verifiable instructions ({len(prompts)} prompts)", lambda: self.ifeval(prompts)))
        if "temperature" in suites and "temperature_head" in self.model.addons:
            held = sets.get("heldout") or next(iter(sets.values()), [])
            steps.append((f"temperature head ({len(held)} records)", lambda: self.temperature(held)))
        if "forgetting" in suites and docs:
            steps.append((f"forgetting ({len(docs)} documents)", lambda: self.forgetting(docs)))
        for label, fn in steps:
            t0 = time.perf_counter()
            fn()
            self.say(f"  {label}: {time.perf_counter() - t0:.1f} s")
        self.metrics.update(flat_heldout(self.metrics))


def changes_forward(run_dir: str) -> bool:
    """Whether the run saved add-ons that change the model's logits (not a side head alone)."""
    from instructune.model.addons import ADDONS

    return any(ADDONS[name].changes_forward for name in saved_sections(run_dir))


def flat_heldout(metrics: dict[str, Any]) -> dict[str, Any]:
    """The "heldout" set's figures at the top of a model's results, as eval.json always had them."""
    h = metrics["sets"].get("heldout") or next(iter(metrics["sets"].values()), {})
    out = {k: h[k] for k in ("response_loss", "perplexity", "records") if k in h}
    for k, key in (("rouge_l", "mean"), ("exact_match", "accuracy")):
        if k in h:
            out[k] = h[k][key]
    return out


def main(cfg: Config, tuned: str | None = None, base: str | None = None, out_dir: str | None = None,
         console: Console | None = None, with_base: bool = True) -> dict:
    """Evaluate `base` (default `model.name`) and `tuned` (a run dir or model); write eval.json.

    Args:
        cfg: the config (eval, data, template, model sections).
        tuned: a run dir, export dir, path or hub id; None evaluates the base model alone.
        base: the base model (default `model.name`).
        out_dir: where to write (default: `tuned` when it is a run dir, else `output_dir`).
        console: progress lines go here.
        with_base: False skips the base model (the ablation runner evaluates it once).
    Returns:
        {"base": {...}, "tuned": {...}, "comparison": {...}, "meta": {...}}
    """
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
        ev = ModelEval(cfg, name, say, plain=label == "tuned_plain")
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
                       "forgetting_documents": len(docs), "confidence": cfg.eval.confidence}
    out = Path(out_dir or (tuned if tuned and Path(tuned).is_dir() else cfg.output_dir))
    write_outputs(out, results, evals, sets)
    say(f"wrote {out / 'eval.json'}")
    return results


def write_outputs(out: Path, results: dict, evals: dict[str, ModelEval], sets: dict[str, list[Record]]) -> None:
    """eval.json, eval_generations.jsonl (records × models) and the IFEval verdict files."""
    write_json(out / "eval.json", results)
    write_jsonl(out / "eval_generations.jsonl", (
        {"set": name, "id": r.id, "task": r.task, "instruction": r.instruction, "reference": r.response,
         **{label: ev.generations[name][i] for label, ev in evals.items() if name in ev.generations}}
        for name, records in sets.items() for i, r in enumerate(records)))
    for label, ev in evals.items():
        if ev.verdicts:
            ifeval.write_verdicts(out / ("ifeval_verdicts.jsonl" if label == "tuned" or len(evals) == 1
                                         else f"ifeval_verdicts_{label}.jsonl"), ev.verdicts)


def score_responses(responses: str, prompts: str | None, out_dir: str) -> dict[str, Any]:
    """`eval --suite ifeval --responses R`: score existing responses, no model; writes
    ifeval_verdicts.jsonl and ifeval_summary.json to `out_dir`."""
    _, summary = ifeval.run_suite(responses, prompts=prompts, output_dir=out_dir)
    return summary


def _cell(m: dict | None, key: str) -> str:
    if not m or key not in m:
        return ""
    v = m[key]
    if isinstance(v, dict):
        point = v.get("accuracy", v.get("mean"))
        return "" if point is None else f"{point:.3f} [{v['lo']:.2f},{v['hi']:.2f}]"
    return f"{v:.4f}"


def results_table(results: dict[str, Any]) -> Table:
    """Rows: every figure; columns: base, tuned, tuned − base with its paired interval."""
    labels = [k for k in ("base", "tuned", "tuned_plain") if k in results]
    comp = results.get("comparison", {})
    table = Table(title="evaluation (95% intervals)")
    table.add_column("", justify="left", no_wrap=True)
    for col in (*labels, "tuned − base"):
        table.add_column(col, justify="right")

    def diff(key: str) -> str:
        d = comp.get(key)
        if not d:
            return ""
        return f"{d['diff']:+.3f} [{d['lo']:+.2f},{d['hi']:+.2f}]" + ("" if d["significant"] else " n.s.")

    names = sorted({s for k in labels for s in results[k].get("sets", {})}, key=lambda s: (s != "heldout", s))
    for s in names:
        for metric, label in LABELS.items():
            cells = [_cell(results[k]["sets"].get(s), metric) for k in labels]
            if any(cells):
                table.add_row(f"{s}: {label}", *cells, diff(f"sets.{s}.{metric}"))
    for level in IFEVAL_LEVELS:
        cells = [_cell(results[k].get("ifeval"), level) for k in labels]
        if any(cells):
            table.add_row(f"IFEval {level.replace('_level_', ' ')}", *cells, diff(f"ifeval.{level}"))
    temp = results.get("tuned", {}).get("temperature")
    if temp:  # the tuned model's own figures: in its column; the diff column holds auto − fixed
        at = ["" if k != "tuned" else "{}" for k in labels]
        rho = temp["spearman"]
        table.add_row("temperature: Spearman pred/target",
                      *[c.format(f"{rho['rho']:+.3f} [{rho['lo']:+.2f},{rho['hi']:+.2f}]") for c in at], "")
        for setting, v in temp.get("mixed", {}).get("rouge_l", {}).items():
            d = temp["mixed"]["auto_minus_fixed"].get(setting)
            diff_cell = "" if d is None else (f"auto {d['diff']:+.3f} [{d['lo']:+.2f},{d['hi']:+.2f}]"
                                              + ("" if d["significant"] else " n.s."))
            table.add_row(f"mixed ROUGE-L at T={setting}",
                          *[c.format(f"{v['mean']:.3f} [{v['lo']:.2f},{v['hi']:.2f}]") for c in at], diff_cell)
    cells = [_cell(results[k].get("forgetting"), "perplexity") for k in labels]
    if any(cells):
        table.add_row("general-text ppl", *cells, diff("forgetting.relative_change") + " rel.")
    return table


def print_results(results: dict[str, Any], console: Console | None = None) -> None:
    (console or Console()).print(results_table(results))
