"""The eval harness: one loaded model and the suites `instructune eval` runs on it.

`ModelEval` loads a model (with or without its run's add-ons), runs the suites asked for in
`eval.suites` (held-out loss, generation scores, verifiable instructions, the temperature head,
general-text perplexity) and keeps, beside the figures for eval.json, the per-item values that
`evaluate/compare.py` pairs across models. The verb (`recipes/evaluate.py`) decides which
models to load and where the files go.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from instructune.config import EvalConfig, TemplateConfig
from instructune.data.record import Record
from instructune.data.render import render_prompt_segments
from instructune.data.templates import get_template, template_options
from instructune.data.tokenized import tokenize_records
from instructune.evaluate import ifeval
from instructune.evaluate.forgetting import corpus_perplexity
from instructune.evaluate.intervals import mean_ci_bootstrap, wilson
from instructune.evaluate.loss import response_loss
from instructune.evaluate.metrics import exact_match, final_answer, rouge_l
from instructune.evaluate.temperature import temperature_report
from instructune.generation.batched import generate_text
from instructune.generation.load import load_for_inference
from instructune.generation.params import GenParams
from instructune.model.addons.store import saved_sections


def proportion(successes: int, n: int) -> dict[str, Any]:
    """A share with its Wilson interval (None bounds when n is 0)."""
    lo, hi = wilson(successes, n) if n else (None, None)
    return {"accuracy": successes / n if n else None, "successes": successes, "n": n, "lo": lo, "hi": hi}


class ModelEval:
    """One loaded model and the suites run on it; keeps per-item values for pairing.

    Attributes:
        metrics: what goes into eval.json for this model.
        items: per-item values (`compare.compare`'s input).
        generations: set name → generated texts, in record order.
        verdicts: IFEval verdicts, in prompt order.
        ids: "sets.<name>" → the ids of the records the generation suite scored, in order.
    """

    def __init__(self, name: str, eval: EvalConfig, template: TemplateConfig, max_length: int,
                 load_kwargs: dict[str, Any], say: Callable[[str], None], plain: bool = False):
        """Load `name` (a run dir, export dir, path or hub id) for the suites.

        Args:
            name: the model to load; with `plain`, a run's add-ons are not attached.
            eval: the `eval` section (batch size, generation lengths, bootstrap settings).
            template: the `template` section the prompts are rendered with.
            max_length: `data.max_length`, the loss suite's truncation.
            load_kwargs: `generation.load.load_for_inference`'s keyword arguments.
            say: where a line per finished suite goes.
        """
        self.eval, self.max_length, self.say = eval, max_length, say
        self.model, self.tokenizer = load_for_inference(name, addons=not plain, **load_kwargs)
        self.template, self.opts = get_template(template.name), template_options(template)
        self.metrics: dict[str, Any] = {"sets": {}}
        self.items: dict[str, Any] = {}
        self.generations: dict[str, list[str]] = {}
        self.verdicts: list = []
        self.ids: dict[str, list[str]] = {}

    def generate(self, records: list[Record], max_new_tokens: int) -> list[str]:
        rendered = [render_prompt_segments(r, self.tokenizer, self.template, self.opts) for r in records]
        params = GenParams(max_new_tokens=max_new_tokens, temperature=0.0)
        return generate_text(self.model, self.tokenizer, [p for p, _ in rendered], params, self.eval.batch_size,
                             [s for _, s in rendered])

    def loss(self, name: str, records: list[Record]) -> None:
        ds, _ = tokenize_records(records, self.tokenizer, self.template, self.max_length, self.opts)
        device = next(self.model.parameters()).device
        res = response_loss(self.model, ds, self.tokenizer.pad_token_id, self.eval.batch_size, device)
        self.metrics["sets"].setdefault(name, {}).update(
            {k: res[k] for k in ("response_loss", "perplexity", "tokens", "records")})
        self.items[f"sets.{name}.response_loss"] = (res["row_nll"], res["row_tokens"])

    def generation(self, name: str, records: list[Record]) -> None:
        texts = self.generate(records, self.eval.max_new_tokens)
        preds = [final_answer(t, self.opts.rationale_separator) if r.rationale else t for t, r in zip(texts, records)]
        rouge = [rouge_l(p, r.response) for p, r in zip(preds, records)]
        em = [exact_match(p, r.response) for p, r in zip(preds, records)]
        e = self.eval
        self.metrics["sets"].setdefault(name, {}).update(
            {"rouge_l": mean_ci_bootstrap(rouge, e.seed, e.bootstrap, e.confidence),
             "exact_match": proportion(int(sum(em)), len(em))})
        self.items[f"sets.{name}.rouge_l"], self.items[f"sets.{name}.exact_match"] = rouge, em
        self.generations[name] = texts
        self.ids[f"sets.{name}"] = [r.id for r in records]

    def ifeval(self, prompts: list) -> None:
        records = [Record(id=f"ifeval-{p.key}", instruction=p.prompt, response="") for p in prompts]
        texts = self.generate(records, self.eval.ifeval_max_new_tokens)
        self.verdicts, summary = ifeval.score(prompts, {p.prompt: t for p, t in zip(prompts, texts)})
        self.metrics["ifeval"] = summary
        self.items["ifeval.prompt_level_strict"] = [float(v.follow_all_instructions) for v in self.verdicts]
        self.items["ifeval.prompt_level_loose"] = [float(v.follow_all_instructions_loose) for v in self.verdicts]
        self.items["ifeval.instruction_level_strict"] = [float(x) for v in self.verdicts for x in v.follow_instruction_list]
        self.items["ifeval.instruction_level_loose"] = [float(x) for v in self.verdicts
                                                        for x in v.follow_instruction_list_loose]

    def temperature(self, records: list[Record]) -> None:
        e = self.eval
        self.metrics["temperature"] = temperature_report(
            self.model, self.tokenizer, records,
            lambda r: render_prompt_segments(r, self.tokenizer, self.template, self.opts),
            e.max_new_tokens, e.batch_size, e.seed, e.bootstrap, e.confidence)

    def forgetting(self, docs: list[str]) -> str:
        """General-text perplexity on the leading `docs` within `eval.forgetting_max_tokens`;
        returns how many documents that was (the budget usually stops short of the corpus)."""
        e = self.eval
        res = corpus_perplexity(self.model, self.tokenizer, docs, e.forgetting_max_length, e.forgetting_max_tokens or None)
        self.metrics["forgetting"] = {k: res[k] for k in ("perplexity", "nll", "tokens", "documents", "max_length")}
        self.items["forgetting"] = res
        return f"{res['documents']} of {len(docs)} documents, {res['tokens']} tokens"

    def run(self, sets: dict[str, list[Record]], prompts: list, docs: list[str]) -> None:
        suites = self.eval.suites
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
            steps.append(("forgetting", lambda: self.forgetting(docs)))
        for label, fn in steps:
            t0 = time.perf_counter()
            scored = fn()
            self.say(f"  {label}{f' ({scored})' if scored else ''}: {time.perf_counter() - t0:.1f} s")
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
