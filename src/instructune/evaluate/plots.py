"""Plots as inline SVG strings (matplotlib, Agg), so an HTML report needs no other file and
fetches nothing."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# One deterministic id prefix per figure: matplotlib otherwise names clip paths with random
# hashes, and two SVGs in one page must not share ids.
_COUNTER = [0]


def to_svg(fig) -> str:
    """The figure as an `<svg>` element (no XML prolog), then closed."""
    _COUNTER[0] += 1
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"fig{_COUNTER[0]}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def line_plot(series: dict[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str,
              ylabel: str) -> str:
    """One line per series name → (xs, ys)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=name)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return to_svg(fig)


def grouped_bars(groups: list[str], series: dict[str, list[float]], title: str, ylabel: str,
                 errors: dict[str, list[tuple[float, float]]] | None = None,
                 ylim: tuple[float, float] | None = (0.0, 1.0)) -> str:
    """Bars per group (x) and series (colour); `errors` gives (lo, hi) per bar; `ylim` fixes
    the value axis (accuracies: [0, 1]; None lets it follow the data)."""
    fig, ax = plt.subplots(figsize=(max(6.4, 0.35 * len(groups) * len(series)), 3.8))
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
        yerr = None
        if errors and name in errors:
            yerr = [[v - lo for v, (lo, _) in zip(values, errors[name])],
                    [hi - v for v, (_, hi) in zip(values, errors[name])]]
        ax.bar(xs, values, width, label=name, yerr=yerr, capsize=2)
    ax.set_xticks(range(len(groups)), groups, rotation=60, ha="right", fontsize=7)
    ax.set(title=title, ylabel=ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return to_svg(fig)


def scatter_with_errors(points: dict[str, tuple[float, float, tuple[float, float], tuple[float, float]]],
                        title: str, xlabel: str, ylabel: str) -> str:
    """One labelled point per name → (x, y, (x_lo, x_hi), (y_lo, y_hi))."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, (x, y, (xlo, xhi), (ylo, yhi)) in points.items():
        ax.errorbar([x], [y], xerr=[[x - xlo], [xhi - x]], yerr=[[y - ylo], [yhi - y]], fmt="o", capsize=3)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    return to_svg(fig)
