"""The ablation page: what each arm bought (learning) and what it cost (forgetting,
parameters, time per step), each with its interval over seeds and its paired difference from
the baseline arm."""

from __future__ import annotations

from typing import Any

from instructune.evaluate import html as H
from instructune.evaluate.plots import scatter_with_errors

# (metric key, label, lower is better), in the order the page shows them
LEARNING = [("heldout.response_loss", "held-out response loss", True),
            ("ifeval.prompt_level_strict", "IF accuracy, prompt strict", False),
            ("ifeval.prompt_level_loose", "IF accuracy, prompt loose", False),
            ("ifeval.instruction_level_strict", "IF accuracy, instruction strict", False),
            ("ifeval.instruction_level_loose", "IF accuracy, instruction loose", False)]
COST = [("forgetting.relative_change", "general-text perplexity change", True),
        ("params.trainable", "trainable parameters", True),
        ("params.added", "parameters added to the model", True),
        ("time.step_s", "seconds per optimizer step", True)]


def _cell(entry: dict, key: str, digits: int) -> str:
    m = entry["metrics"].get(key)
    if m is None:
        return ""
    if key.startswith("params."):  # counts: whole numbers, the same at every seed
        return H.esc(f"{m['mean']:,.0f} (n={m['n']})")
    return H.esc(H.with_interval(m["mean"], m["lo"], m["hi"], m["n"], digits))


def arms_table(summary: dict[str, Any], rows: list[tuple[str, str, bool]], digits: int = 4) -> str:
    """Rows: metrics; columns: each arm's mean [interval] and, off the baseline, its difference."""
    arms = summary["arms"]
    base = summary["baseline"]
    header = ["metric"] + [f"{a} (baseline)" if a == base else a for a in arms] + \
             [f"{a} − {base}" for a in arms if a != base]
    out = []
    for key, label, _ in rows:
        if not any(key in e["metrics"] for e in arms.values()):
            continue
        out.append([H.esc(label)] + [_cell(e, key, digits) for e in arms.values()]
                   + [H.difference(e["vs_baseline"].get(key), digits) for a, e in arms.items() if a != base])
    return H.table(header, out, text_cols=(0,), raw=True)


def learning_vs_forgetting(summary: dict[str, Any], learning_key: str, label: str) -> str:
    """One point per arm: forgetting (x) against learning (y), with their intervals."""
    points = {}
    for arm, e in summary["arms"].items():
        x, y = e["metrics"].get("forgetting.relative_change"), e["metrics"].get(learning_key)
        if x and y:
            points[arm] = (x["mean"], y["mean"], (x["lo"], x["hi"]), (y["lo"], y["hi"]))
    if not points:
        return ""
    return scatter_with_errors(points, f"learning vs forgetting ({label})",
                               "general-text perplexity change (tuned/base − 1)", label)


def ablation_page(summary: dict[str, Any], title: str, setup: list[tuple[str, str]]) -> str:
    """The whole page. `setup`: (name, value) rows saying what was run (recipe, arms, seeds, data)."""
    seeds = max((len(e["seeds"]) for e in summary["arms"].values()), default=0)
    note = (f"Mean over {seeds} seeds with a {summary['confidence']:.0%} Student-t interval; differences are "
            "paired by seed (same data order and init). Green: the interval excludes 0. Grey: no difference.")
    plots = [learning_vs_forgetting(summary, "heldout.response_loss", "held-out response loss"),
             learning_vs_forgetting(summary, "ifeval.prompt_level_loose", "IF accuracy, prompt loose")]
    return H.page(title,
                  H.section("Setup", H.table(["", ""], setup, text_cols=(0, 1))),
                  H.section("What each arm bought: learning", arms_table(summary, LEARNING), note=note),
                  H.section("What it cost", arms_table(summary, COST, digits=4), note=note),
                  H.section("Learning against forgetting", f'<div class="plots">{"".join(plots)}</div>'))
