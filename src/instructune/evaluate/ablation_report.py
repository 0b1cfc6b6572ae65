"""The ablation page: what each arm bought (learning) and what it cost (forgetting,
parameters, time per step), each with its interval and its paired difference from the baseline
arm: the interval's method (over seeds × items, or over seeds alone), the p-value, Holm's
adjustment for the headline figures, and, where nothing was found, the minimum detectable effect
("n.s.: nothing larger than ±X")."""

from __future__ import annotations

from typing import Any

from instructune.evaluate import html as H
from instructune.evaluate.plots import scatter_with_errors
from instructune.evaluate.two_way_bootstrap import has_width

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


def _num(x: float, digits: int) -> str:
    return H.fmt(float(x), digits)


def _p(p: float) -> str:
    return f"{p:.2g}" if p < 0.01 else f"{p:.2f}"


def difference_cell(d: dict | None, digits: int = 4) -> str:
    """arm − baseline as raw HTML: value [interval] (method, n), p; for the headline family
    Holm's p and interval; green when it holds (after Holm where adjusted), grey otherwise, and
    then the MDE: what a difference would have had to be to be found at 80% power."""
    if not d:
        return ""
    parts = [f"{'+' if d['diff'] >= 0 else ''}{_num(d['diff'], digits)} [{_num(d['lo'], digits)}, "
             f"{_num(d['hi'], digits)}] ({d.get('method', 't over seeds')}, n={d['n']}"
             + (f" × {d['n_items']} items" if "n_items" in d else "") + ")"]
    if "p" in d:
        parts.append(f"p {_p(d['p'])}")
    holm = d.get("holm")
    if holm:
        parts.append(f"Holm p {_p(holm['p'])} [{_num(holm['lo'], digits)}, {_num(holm['hi'], digits)}]")
    found = holm["significant"] if holm else d.get("significant")
    if found:
        verdict = ""
    elif holm and d.get("significant"):
        mde = f": nothing larger than ±{_num(holm['mde'], digits)}" if holm.get("mde") else ""
        verdict = "n.s. after Holm" + mde
    elif not has_width(d["lo"], d["hi"]) and d["diff"] != 0:
        verdict = "the same at every seed: no spread to test"
    elif d.get("mde"):
        verdict = f"n.s.: nothing larger than ±{_num(d['mde'], digits)}"
    else:
        verdict = "no difference"
    text = " · ".join(parts + ([verdict] if verdict else []))
    return f'<span class="{"sig" if found else "nosig"}">{H.esc(text)}</span>'


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
                   + [difference_cell(e["vs_baseline"].get(key), digits) for a, e in arms.items() if a != base])
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
    note = (f"Mean over {seeds} seeds with a {summary['confidence']:.0%} interval: 'bootstrap over seeds x items' "
            "resamples the seeds and, independently, the evaluation items (records, prompts, documents); "
            "'t over seeds' is a Student-t interval over the seeds alone (figures without per-item scores). "
            "Differences are paired by seed (same data order and init) and by item. p: two-sided, the t test "
            "on the bootstrap standard error. Holm: adjusted over the headline family (" + ", ".join(summary.get("holm", {}).get(
                "metrics", [])) + f" for every arm). Green: the difference holds (after Holm where adjusted). "
            f"Grey: not found; the MDE is the smallest difference the test finds with {summary.get('power', 0.8):.0%} "
            "power, so 'nothing larger than ±X' is what was ruled out.")
    plots = [learning_vs_forgetting(summary, "heldout.response_loss", "held-out response loss"),
             learning_vs_forgetting(summary, "ifeval.prompt_level_loose", "IF accuracy, prompt loose")]
    return H.page(title,
                  H.section("Setup", H.table(["", ""], setup, text_cols=(0, 1))),
                  H.section("What each arm bought: learning", arms_table(summary, LEARNING), note=note),
                  H.section("What it cost", arms_table(summary, COST, digits=4), note=note),
                  H.section("Learning against forgetting", f'<div class="plots">{"".join(plots)}</div>'))
