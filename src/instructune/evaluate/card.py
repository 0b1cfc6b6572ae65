"""The model card of a run: `export/README.md` (and `adapter/README.md` for LoRA runs), with
the front matter the Hugging Face hub reads.

    write_cards(run_dir)            # train writes it at export; eval rewrites it with eval.json
    card_text(run_dir, adapter=True)

Everything comes from files already in the run dir (config.yaml, train_summary.json,
eval.json, addons/), so the card can be rebuilt at any time (`instructune push` does, before it
uploads) and never needs the model loaded. What it records: the base model and the method
(LoRA rank or full), the add-ons and extra objectives, the data sources with record counts,
the template, the eval table with intervals and the forgetting figure when eval.json exists,
and the command that reproduces the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from instructune.atomic import atomic_path
from instructune.evaluate.results_table import columns, result_rows
from instructune.rundir import RunDir, saved_config

CARD = "README.md"


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON file's object; {} when it is missing (a run without eval, say)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def entry_name(entry: Any) -> str:
    """A data entry of config.yaml (a path, or a source mapping with `path`) as a name."""
    return str(entry.get("path", "")) if isinstance(entry, dict) else str(entry)


def enabled_addons(cfg: dict) -> list[str]:
    """Names of the add-ons switched on in a saved config."""
    return [name for name, sec in (cfg.get("addons") or {}).items() if isinstance(sec, dict) and sec.get("enabled")]


def enabled_objectives(cfg: dict) -> dict[str, str]:
    """{objective: its setting} for the extra loss terms switched on (a weight above 0, or a
    multitask mode other than "none")."""
    out = {}
    for name, sec in (cfg.get("objectives") or {}).items():
        if not isinstance(sec, dict):
            continue
        if sec.get("mode", "none") != "none":
            out[name] = f"mode {sec['mode']}"
        elif (sec.get("weight") or 0) > 0:
            out[name] = f"weight {sec['weight']}"
    return out


def method_line(cfg: dict) -> str:
    """"LoRA rank 16 (alpha 32, ...)" or "full fine-tuning"."""
    train, lora = cfg.get("train", {}), cfg.get("lora", {})
    if train.get("method", "lora") == "full":
        return "full fine-tuning (every weight trained)"
    targets = lora.get("target_modules", "all-linear")
    targets = targets if isinstance(targets, str) else ", ".join(targets)
    return (f"LoRA rank {lora.get('r')} (alpha {lora.get('alpha')}, dropout {lora.get('dropout')}, "
            f"on {targets}), merged into the base weights in export/")


def base_license(name: str) -> str:
    """The license in the base model's own card front matter (a local model dir); "other"
    when it cannot be read offline, and the card then says to check the base model's."""
    readme = Path(name) / CARD
    if readme.is_file():
        text = readme.read_text(errors="replace")
        if text.startswith("---"):
            try:
                meta = yaml.safe_load(text.split("---", 2)[1]) or {}
            except yaml.YAMLError:
                meta = {}
            if isinstance(meta, dict) and meta.get("license"):
                return str(meta["license"])
    return "other"


def front_matter(cfg: dict, adapter: bool) -> dict[str, Any]:
    """The hub's metadata block: base_model, datasets, license, tags, library_name."""
    base = cfg.get("model", {}).get("name", "")
    train = cfg.get("train", {})
    tags = ["instructune", "instruction-tuning", train.get("method", "lora"),
            f"template-{cfg.get('template', {}).get('name', 'chat')}"]
    if adapter:
        tags.append("lora")
    return {"base_model": base, "datasets": [entry_name(e) for e in cfg.get("data", {}).get("train", [])],
            "license": base_license(base), "tags": tags, "library_name": "peft" if adapter else "transformers"}


def data_lines(cfg: dict, summary: dict) -> list[str]:
    """The data section: each training source, and the records trained on and held out."""
    data = cfg.get("data", {})
    counts = summary.get("data", {})
    sources = [entry_name(e) for e in data.get("train", [])]
    lines = ["| split | source | records |", "|---|---|---|"]
    trained = counts.get("train_records")
    if len(sources) == 1 and not counts.get("mixture"):
        lines.append(f"| train | `{sources[0]}` | {trained if trained is not None else '?'} |")
    elif counts.get("mixture"):
        lines += mixture_rows(counts["mixture"])
        lines.append(f"| train | all sources, mixed and tokenized | {trained if trained is not None else '?'} |")
    else:  # a run from before the summary kept the mixture: no per-source counts to give
        for s in sources:
            lines.append(f"| train | `{s}` | (in the mixture) |")
        lines.append(f"| train | all sources, mixed | {trained if trained is not None else '?'} |")
    for name, n in counts.get("heldout_records", {}).items():
        files = data.get("heldout", []) if name == "heldout" else cfg.get("eval", {}).get("sets", {}).get(name, [])
        lines.append(f"| {name} | {', '.join(f'`{entry_name(f)}`' for f in files) or '(prepared)'} | {n} |")
    lines.append("")
    lines.append("Records are counted after tokenization: a record left with no trained token "
                 f"(at max_length {data.get('max_length')}) is dropped."
                 + (" A mixture's per-source counts are the records each source gave before that." if counts.get("mixture")
                    else ""))
    return lines


def mixture_rows(mixture: list[dict]) -> list[str]:
    """One table row per training source of a mixture: records taken of records read, its cap
    and weight, and its planned and realised share (`mixture.SourcePlan` as saved)."""
    total = sum(p["taken"] for p in mixture) or 1
    rows = []
    for p in mixture:
        how = [f"cap {p['max_records']}"] if p.get("max_records") else []
        how += [f"weight {p['weight']:g}"] if p.get("weight") is not None else []
        rows.append(f"| train | `{p['path']}`{' (' + ', '.join(how) + ')' if how else ''} | {p['taken']} of "
                    f"{p['read']} read; share {p['planned_share']:.1%} planned, {p['taken'] / total:.1%} realised |")
    return rows


def eval_lines(results: dict) -> list[str]:
    """The eval table (base against tuned, intervals as eval.json holds them) and the forgetting
    figure; a note when the run was not evaluated."""
    if not results:
        return ["Not evaluated yet: `instructune eval --tuned RUN` writes eval.json and rewrites this card."]
    conf = results.get("meta", {}).get("confidence", 0.95)
    heads = columns(results)
    lines = [f"Point estimates with {conf:.0%} intervals in brackets (Wilson for proportions, bootstrap for "
             "means); the last column is tuned − base with a paired bootstrap interval (n.s.: the interval "
             "holds 0).", "", "| figure | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    lines += ["| " + " | ".join(cell or "" for cell in row) + " |" for row in result_rows(results)]
    lines.append("")
    lines += forgetting_lines(results)
    return lines


def forgetting_lines(results: dict) -> list[str]:
    """One sentence on general-text perplexity, base against tuned, when the suite ran."""
    base, tuned = results.get("base", {}).get("forgetting"), results.get("tuned", {}).get("forgetting")
    change = results.get("comparison", {}).get("forgetting.relative_change")
    if not (base and tuned):
        return ["Forgetting: not measured (the `forgetting` suite did not run)."]
    line = (f"Forgetting: general-text perplexity {base['perplexity']:.3f} (base) → {tuned['perplexity']:.3f} "
            f"(tuned) on {tuned.get('documents', '?')} documents")
    if change:
        line += f", a relative change of {change['diff']:+.1%} [{change['lo']:+.1%}, {change['hi']:+.1%}]"
    return [line + "."]


def addon_lines(cfg: dict, run: RunDir) -> list[str]:
    """What the add-ons are, and that no plain export (export/, a GGUF) carries them."""
    addons = enabled_addons(cfg)
    if not addons:
        return ["Add-ons: none; export/ is the whole model."]
    return [f"Add-ons: {', '.join(addons)} (weights in the run's `{run.addons.name}/`). They are not in "
            "export/ nor in any GGUF made from it: plain transformers, llama.cpp or vLLM run the model "
            "without them. `instructune generate/chat/serve --model RUN` restores them."]


def card_text(run_dir: str | Path, adapter: bool = False) -> str:
    """The card of the run in `run_dir` (`adapter`: for the adapter folder alone)."""
    run = RunDir(run_dir)
    cfg = saved_config(run.root) or {}
    summary, results = _read_json(run.summary), _read_json(run.eval)
    meta = front_matter(cfg, adapter)
    train, base = cfg.get("train", {}), meta["base_model"]
    objectives = enabled_objectives(cfg)
    what = "the LoRA adapter alone" if adapter else "the merged model (plain transformers loads it)"
    lines = ["---", yaml.safe_dump(meta, sort_keys=False).rstrip(), "---", "",
             f"# {run.root.resolve().name}", "",
             f"Instruction-tuned from `{base}` with instructune. This folder holds {what}.", "",
             "## Training", "",
             f"- Base model: `{base}`" + (" (license: check the base model's card)" if meta["license"] == "other"
                                         else ""),
             f"- Method: {method_line(cfg)}",
             f"- Template: `{cfg.get('template', {}).get('name')}` (saved with the tokenizer as its chat template)",
             "- Objectives: next-token loss on responses"
             + "".join(f"; {k} ({v})" for k, v in objectives.items()),
             f"- Schedule: {summary.get('steps', '?')} optimizer steps, lr {train.get('lr')}, batch "
             f"{train.get('batch_size')} × accumulation {train.get('grad_accum')}, seed {train.get('seed')}",
             f"- {addon_lines(cfg, run)[0]}", "",
             "Sampling defaults (from the run's `generate` section) are in generation_config.json.", "",
             "## Data", "", *data_lines(cfg, summary), "",
             "## Evaluation", "", *eval_lines(results), "",
             "## Reproduce", "",
             "Save the config below as `config.yaml` (it is the run's own `config.yaml`) and run:", "",
             "```", "instructune train --recipe config.yaml", "```", "",
             "<details><summary>config.yaml</summary>", "", "```yaml",
             yaml.safe_dump(cfg, sort_keys=False).rstrip(), "```", "", "</details>", ""]
    return "\n".join(lines)


def write_cards(run_dir: str | Path) -> list[Path]:
    """Write the card into export/ and, for LoRA runs, adapter/; returns the paths written."""
    run = RunDir(run_dir)
    out = []
    for folder, adapter in ((run.export, False), (run.adapter, True)):
        if folder.is_dir():
            with atomic_path(folder / CARD) as tmp:
                tmp.write_text(card_text(run.root, adapter=adapter), encoding="utf-8")
            out.append(folder / CARD)
    return out
