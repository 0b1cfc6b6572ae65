"""The terminal table of an eval.json: every figure per model, and tuned − base with its
paired interval (`instructune eval` and the quickstart print it)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

LABELS = {"response_loss": "response loss", "perplexity": "perplexity", "rouge_l": "ROUGE-L",
          "exact_match": "exact match"}
IFEVAL_LEVELS = ("prompt_level_strict", "prompt_level_loose", "instruction_level_strict", "instruction_level_loose")


def _cell(m: dict | None, key: str) -> str:
    if not m or key not in m:
        return ""
    v = m[key]
    if isinstance(v, dict):
        point = v.get("accuracy", v.get("mean"))
        return "" if point is None else f"{point:.3f} [{v['lo']:.2f},{v['hi']:.2f}]"
    return f"{v:.4f}"


class _Rows:
    """Collects rows as `Table.add_row` would, so one walk over the results feeds both layouts."""

    def __init__(self):
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)


def columns(results: dict[str, Any]) -> list[str]:
    """The column heads after the row label: each model evaluated, then tuned − base."""
    return [*(k for k in ("base", "tuned", "tuned_plain") if k in results), "tuned − base"]


def results_table(results: dict[str, Any]) -> Table:
    """Rows: every figure; columns: base, tuned, tuned − base with its paired interval."""
    table = Table(title="evaluation (95% intervals)")
    table.add_column("", justify="left", no_wrap=True)
    for col in columns(results):
        table.add_column(col, justify="right")
    for row in result_rows(results):
        table.add_row(*row)
    return table


def result_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """(label, one cell per model, the tuned − base cell) per figure of an eval.json."""
    labels = [k for k in ("base", "tuned", "tuned_plain") if k in results]
    comp = results.get("comparison", {})
    table = _Rows()

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
        shown = (f"undefined: {rho['undefined']}" if rho.get("undefined")
                 else f"{rho['rho']:+.3f} [{rho['lo']:+.2f},{rho['hi']:+.2f}]")
        table.add_row("temperature: Spearman pred/target", *[c.format(shown) for c in at], "")
        for setting, v in temp.get("mixed", {}).get("rouge_l", {}).items():
            d = temp["mixed"]["auto_minus_fixed"].get(setting)
            diff_cell = "" if d is None else (f"auto {d['diff']:+.3f} [{d['lo']:+.2f},{d['hi']:+.2f}]"
                                              + ("" if d["significant"] else " n.s."))
            table.add_row(f"mixed ROUGE-L at T={setting}",
                          *[c.format(f"{v['mean']:.3f} [{v['lo']:.2f},{v['hi']:.2f}]") for c in at], diff_cell)
    cells = [_cell(results[k].get("forgetting"), "perplexity") for k in labels]
    if any(cells):
        table.add_row("general-text ppl", *cells, diff("forgetting.relative_change") + " rel.")
    return table.rows


def result_lines(results: dict[str, Any]) -> list[str]:
    """The same figures one per line ("label: base X | tuned Y | tuned − base Z"), for a pipe or
    a log, where a table wider than the page would be cut or folded."""
    heads = columns(results)
    return [f"{row[0]}: " + " | ".join(f"{h} {c}" for h, c in zip(heads, row[1:]) if c)
            for row in result_rows(results)]


# A table narrower than this wraps its cells into several lines each; below it, one line per figure.
TABLE_MIN_WIDTH = 110


def print_results(results: dict[str, Any], console: Console | None = None) -> None:
    """The table on a terminal wide enough for it; otherwise (piped, or narrow) one line per figure."""
    console = console or Console()
    if console.is_terminal and console.width >= TABLE_MIN_WIDTH:
        console.print(results_table(results))
        return
    console.print("evaluation (95% intervals)")
    for line in result_lines(results):
        console.print(line, soft_wrap=True, markup=False, highlight=False)
