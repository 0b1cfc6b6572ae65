"""`instructune report`: run dirs → one self-contained HTML page.

    html = run_report([Path("runs/a"), Path("runs/b")])

For each run it reads what training and `instructune eval` left there (README, run dir):
metrics.jsonl (train loss, eval_loss and eval_loss/<set> per step, objective terms),
eval.json (per model: held-out sets, verifiable-instruction accuracies, forgetting; and the
paired base-vs-tuned comparison) and eval_generations.jsonl. With several runs, one table
compares their tuned models. A missing file leaves its section out, with a note.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from instructune.evaluate import html as H
from instructune.evaluate.plots import grouped_bars, line_plot
from instructune.rundir import RunDir

IFEVAL_LEVELS = ("prompt_level_strict", "prompt_level_loose", "instruction_level_strict", "instruction_level_loose")
# metrics.jsonl keys that are not curves
_NOT_CURVES = {"step", "epoch", "lr", "grad_norm", "trained_tokens", "nonpad_share", "tokens_per_s"}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def value_of(iv: Any) -> float | None:
    """The point value of an interval dict ({"accuracy"|"mean"|"value", "lo", "hi", "n"}) or a number."""
    if isinstance(iv, dict):
        for k in ("accuracy", "mean", "value"):
            if k in iv:
                return iv[k]
        return None
    return iv


def interval_text(iv: Any, digits: int = 4) -> str:
    if isinstance(iv, dict):
        return H.with_interval(value_of(iv), iv.get("lo"), iv.get("hi"), iv.get("n"), digits)
    return H.fmt(iv, digits)


# --- sections ------------------------------------------------------------------------------

def curves_section(runs: dict[str, Path]) -> str:
    """Train loss and every eval_* / objective term over steps, one plot per metric."""
    by_metric: dict[str, dict[str, tuple[list, list]]] = {}
    for label, run in runs.items():
        for row in read_jsonl(RunDir(run).metrics):
            for k, v in row.items():
                if k in _NOT_CURVES or not isinstance(v, (int, float)) or "step" not in row:
                    continue
                xs, ys = by_metric.setdefault(k, {}).setdefault(label, ([], []))
                xs.append(row["step"])
                ys.append(v)
    if not by_metric:
        return H.section("Loss curves", note="no metrics.jsonl in these run dirs")
    order = sorted(by_metric, key=lambda k: (k != "loss", not k.startswith("eval_loss"), k))
    plots = [line_plot(by_metric[k], k, "optimizer step", k) for k in order]
    return H.section("Loss curves", f'<div class="plots">{"".join(plots)}</div>')


def eval_table_section(label: str, ev: dict) -> str:
    """Base | tuned | tuned − base for every held-out set, IFEval level and forgetting."""
    models = [m for m in ("base", "tuned", "tuned_plain") if m in ev]
    comp = ev.get("comparison", {})
    rows = []
    names = sorted({s for m in models for s in ev[m].get("sets", {})}, key=lambda s: (s != "heldout", s))
    for s in names:
        for metric in ("response_loss", "perplexity", "rouge_l", "exact_match"):
            cells = [interval_text(ev[m].get("sets", {}).get(s, {}).get(metric)) for m in models]
            if any(cells):
                rows.append([f"{s}: {metric}", *cells, H.difference(comp.get(f"sets.{s}.{metric}"))])
    for level in IFEVAL_LEVELS:
        cells = [interval_text(ev[m].get("ifeval", {}).get(level)) for m in models]
        if any(cells):
            rows.append([f"IFEval {level.replace('_', ' ')}", *cells, H.difference(comp.get(f"ifeval.{level}"))])
    cells = [H.fmt((ev[m].get("forgetting") or {}).get("perplexity")) for m in models]
    if any(cells):
        rel = comp.get("forgetting.relative_change")
        rows.append(["general-text perplexity (forgetting)", *cells,
                     H.difference(rel) + (" relative change" if rel else "")])
    header = ["metric", *models, "tuned − base (paired 95% interval)"]
    escaped = [[H.esc(r[0]), *[H.esc(c) for c in r[1:-1]], r[-1]] for r in rows]
    return H.section(f"Evaluation: {label}", H.table(header, escaped, text_cols=(0,), raw=True),
                     note="Proportions carry Wilson intervals, means bootstrap intervals; differences are "
                          "paired over the same items. A difference whose interval holds 0 is no difference.")


def ifeval_types_section(label: str, ev: dict) -> str:
    models = [m for m in ("base", "tuned") if ev.get(m, {}).get("ifeval")]
    if not models:
        return ""
    per = {m: ev[m]["ifeval"].get("per_instruction", {}) for m in models}
    ids = [i for i in per[models[0]] if any(per[m].get(i, {}).get("strict", {}).get("n") for m in models)]
    rows = [[i, *[interval_text(per[m][i]["strict"], 2) for m in models],
             *[interval_text(per[m][i]["loose"], 2) for m in models]] for i in ids]
    chart = grouped_bars(ids, {m: [value_of(per[m][i]["strict"]) or 0.0 for i in ids] for m in models},
                         f"{label}: strict accuracy per instruction type", "accuracy")
    header = ["instruction", *[f"{m} strict" for m in models], *[f"{m} loose" for m in models]]
    return H.section(f"Verifiable instructions per type: {label}", chart, H.table(header, rows, text_cols=(0,)))


def generations_section(label: str, run: Path, n: int) -> str:
    rows = read_jsonl(RunDir(run).generations)[:n]
    if not rows:
        return ""
    cols = [c for c in ("base", "tuned", "tuned_plain") if c in rows[0]]
    table = H.table(["instruction", *cols, "reference"],
                    [[r.get("instruction", ""), *[r.get(c, "") for c in cols], r.get("reference", "")] for r in rows],
                    text_cols=tuple(range(2 + len(cols))))
    return H.section(f"Generations side by side: {label}", table, note=f"the first {len(rows)} held-out records")


def compare_section(evals: dict[str, dict]) -> str:
    """One column per run: its tuned model's figures."""
    keys: list[tuple[str, Any]] = []
    for ev in evals.values():
        t = ev.get("tuned", {})
        for s, m in t.get("sets", {}).items():
            for metric in ("response_loss", "rouge_l", "exact_match"):
                if metric in m and (f"{s}: {metric}", ("sets", s, metric)) not in keys:
                    keys.append((f"{s}: {metric}", ("sets", s, metric)))
        for level in IFEVAL_LEVELS:
            if level in t.get("ifeval", {}) and (f"IFEval {level}", ("ifeval", level)) not in keys:
                keys.append((f"IFEval {level}", ("ifeval", level)))
    keys.append(("forgetting: relative change", ("comparison", "forgetting.relative_change")))

    def get(ev: dict, path: tuple) -> str:
        node: Any = ev if path[0] == "comparison" else ev.get("tuned", {})
        for p in path:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and "diff" in node:
            return H.with_interval(node["diff"], node.get("lo"), node.get("hi"))
        return interval_text(node)

    rows = [[name, *[get(ev, path) for ev in evals.values()]] for name, path in keys]
    return H.section("Runs compared (tuned models)", H.table(["metric", *evals], rows, text_cols=(0,)))


def run_report(run_dirs: list[Path], n_generations: int = 8) -> str:
    """The HTML page for one run, or a comparison of several."""
    runs = {}
    for i, r in enumerate(run_dirs, 1):  # labels are the dir names, numbered where two repeat
        label = r.name or str(r)
        runs[label if label not in runs else f"{label} ({i})"] = r
    evals = {label: read_json(RunDir(run).eval) for label, run in runs.items()}
    parts = [curves_section(runs)]
    if len(runs) > 1:
        parts.append(compare_section({k: v for k, v in evals.items() if v}))
    for label, run in runs.items():
        ev = evals[label]
        if not ev:
            parts.append(H.section(f"Evaluation: {label}", note=f"no eval.json in {run}: run `instructune eval --tuned {run}`"))
            continue
        parts += [eval_table_section(label, ev), ifeval_types_section(label, ev),
                  generations_section(label, run, n_generations)]
    title = "instructune report: " + ", ".join(runs)
    return H.page(title, *parts)
