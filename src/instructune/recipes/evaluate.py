"""`instructune eval`: base and tuned models side by side on the held-out records.

For each model: response loss (mean NLL per response token) and perplexity by teacher
forcing, then greedy generations scored against the references with ROUGE-L and exact match
(for chain-of-thought records, on the final answer after the rationale). Writes
`eval.json` ({"base": {...}, "tuned": {...}}) and `eval_generations.jsonl` to the run dir.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from instructune.config import Config, GenerateConfig
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json, write_jsonl
from instructune.data.record import Record
from instructune.data.render import render_prompt
from instructune.data.templates import get_template
from instructune.data.tokenized import tokenize_records
from instructune.evaluate.loss import response_loss
from instructune.evaluate.metrics import exact_match, final_answer, rouge_l
from instructune.model.load import resolve_tuned
from instructune.recipes.builders import model_for_template, template_options
from instructune.serve.generation import generate_text


def evaluate_model(cfg: Config, name: str, records: list[Record]) -> tuple[dict[str, float], list[str]]:
    """Metrics and generations of one model on `records`."""
    model, tokenizer, _ = model_for_template(cfg, name)
    template, opts = get_template(cfg.template.name), template_options(cfg.template)
    ds, _ = tokenize_records(records, tokenizer, template, cfg.data.max_length, opts)
    metrics = response_loss(model, ds, tokenizer.pad_token_id, cfg.eval.batch_size)
    prompts = [render_prompt(r, tokenizer, template, opts) for r in records]
    gcfg = GenerateConfig(max_new_tokens=cfg.eval.max_new_tokens, temperature=0.0, batch_size=cfg.eval.batch_size)
    texts = generate_text(model, tokenizer, prompts, gcfg)
    preds = [final_answer(t, opts.rationale_separator) if r.rationale else t for t, r in zip(texts, records)]
    n = max(len(records), 1)
    metrics["rouge_l"] = sum(rouge_l(p, r.response) for p, r in zip(preds, records)) / n
    metrics["exact_match"] = sum(exact_match(p, r.response) for p, r in zip(preds, records)) / n
    metrics["records"] = len(records)
    return metrics, texts


def main(cfg: Config, tuned: str | None = None, base: str | None = None, out_dir: str | None = None) -> dict:
    """Evaluate `base` (default: cfg.model.name) and `tuned` (a run dir or model); write eval.json."""
    records = load_inputs(cfg.data.heldout, cfg.data.format, cfg.data.reader)
    if cfg.eval.max_records:
        records = records[:cfg.eval.max_records]
    if not records:
        raise ValueError("no held-out records to evaluate (data.heldout is empty)")
    results, generations = {}, {}
    for label, name in (("base", base or cfg.model.name), ("tuned", resolve_tuned(tuned) if tuned else None)):
        if name is None:
            continue
        results[label], generations[label] = evaluate_model(cfg, name, records)
    out = Path(out_dir or cfg.output_dir)
    write_json(out / "eval.json", results)
    write_jsonl(out / "eval_generations.jsonl", (
        {"id": r.id, "task": r.task, "instruction": r.instruction, "reference": r.response,
         **{label: generations[label][i] for label in generations}}
        for i, r in enumerate(records)))
    return results


def results_table(results: dict[str, dict[str, float]]) -> Table:
    """The comparison table (rows base / tuned)."""
    table = Table(title="held-out evaluation")
    for col in ("", "response loss", "perplexity", "ROUGE-L", "exact match"):
        table.add_column(col, justify="right" if col else "left")
    for label, m in results.items():
        table.add_row(label, f"{m['response_loss']:.4f}", f"{m['perplexity']:.2f}",
                      f"{m['rouge_l']:.4f}", f"{m['exact_match']:.4f}")
    return table


def print_results(results: dict[str, dict[str, float]], console: Console | None = None) -> None:
    (console or Console()).print(results_table(results))
