"""Dataset statistics: counts per task and source, token-length histograms, rationale and
multi-turn shares; as a dict, as terminal text and as a PNG.

    st = dataset_stats([("data.jsonl", "alpaca", records)], tokenizer)
    print(format_stats(st))
    plot_lengths(st, "lengths.png")

Lengths are in tokens of `tokenizer` (no special tokens added) for the final exchange:
the instruction, the context (over records that have one) and the response. Histogram bins
double in width (0-7, 8-15, 16-31, ... , 2048+), so short and long records both show.
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

from instructune.data.mixture import SourcePlan, format_mixture
from instructune.data.record import Record

LENGTH_FIELDS = ("instruction", "context", "response")
EDGES = (0, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)  # bin i holds EDGES[i] <= n < EDGES[i + 1]
BAR_WIDTH = 40


def bin_labels() -> list[str]:
    """'0-7', '8-15', ..., '2048+'."""
    return [f"{lo}-{hi - 1}" for lo, hi in zip(EDGES, EDGES[1:])] + [f"{EDGES[-1]}+"]


def histogram(lengths: list[int]) -> list[int]:
    """Counts of `lengths` per bin of `EDGES` (the last bin is open-ended)."""
    counts = [0] * len(EDGES)
    for n in lengths:
        counts[max(i for i, lo in enumerate(EDGES) if n >= lo)] += 1
    return counts


def summarize(lengths: list[int]) -> dict:
    """count, min, mean, median, max and the histogram of a list of lengths."""
    if not lengths:
        return {"count": 0, "min": 0, "mean": 0.0, "median": 0.0, "max": 0, "histogram": histogram([])}
    return {"count": len(lengths), "min": min(lengths), "mean": round(statistics.fmean(lengths), 2),
            "median": float(statistics.median(lengths)), "max": max(lengths), "histogram": histogram(lengths)}


def token_lengths(texts: list[str], tokenizer, batch_size: int = 1000) -> list[int]:
    """Token counts of `texts` (no special tokens), one tokenizer call per batch."""
    out: list[int] = []
    for i in range(0, len(texts), batch_size):
        out += [len(ids) for ids in tokenizer(texts[i:i + batch_size], add_special_tokens=False)["input_ids"]]
    return out


def dataset_stats(sources: list[tuple[str, str, list[Record]]], tokenizer) -> dict:
    """Statistics over the records of several sources.

    Args:
        sources: (file, format, records) per input file.
        tokenizer: HF tokenizer used to count tokens.
    Returns:
        {"records", "tasks": {task: n}, "sources": {"file (format)": n},
         "with_context", "with_rationale", "multi_turn": {"count", "share"},
         "lengths": {field: summarize(...)}, "bins": bin labels, "tokenizer": name}
    """
    records = [r for _, _, recs in sources for r in recs]
    n = len(records)

    def share(count: int) -> dict:
        return {"count": count, "share": round(count / n, 4) if n else 0.0}

    lengths = {
        "instruction": token_lengths([r.instruction for r in records], tokenizer),
        "context": token_lengths([r.context for r in records if r.context], tokenizer),
        "response": token_lengths([r.response for r in records], tokenizer),
    }
    return {
        "records": n,
        "tasks": dict(sorted(Counter(r.task or "(none)" for r in records).items())),
        "sources": {f"{path} ({fmt})": len(recs) for path, fmt, recs in sources},
        "with_context": share(sum(1 for r in records if r.context)),
        "with_rationale": share(sum(1 for r in records if r.rationale)),
        "multi_turn": share(sum(1 for r in records if r.is_multi_turn)),
        "lengths": {f: summarize(lengths[f]) for f in LENGTH_FIELDS},
        "bins": bin_labels(),
        "tokenizer": getattr(tokenizer, "name_or_path", ""),
    }


def bar(count: int, top: int) -> str:
    """A bar of up to BAR_WIDTH blocks, at least one for a non-zero count."""
    if not count:
        return ""
    return "█" * max(1, round(BAR_WIDTH * count / top))


def shown_bins(st: dict) -> int:
    """How many bins to show: up to the last one that any field fills (at least one)."""
    filled = [i for s in st["lengths"].values() for i, c in enumerate(s["histogram"]) if c]
    return max(filled, default=0) + 1


def format_stats(st: dict) -> str:
    """The statistics as terminal text (counts, shares, one histogram per field)."""
    lines = []
    if st.get("mixture"):
        lines.append("mixture (records per input: read, cap, weight, planned, realised):")
        lines += format_mixture([SourcePlan(**p) for p in st["mixture"]])
    lines += [f"records: {st['records']}", "tasks:"]
    lines += [f"  {k}: {v}" for k, v in st["tasks"].items()]
    lines.append("sources:")
    lines += [f"  {k}: {v}" for k, v in st["sources"].items()]
    for key in ("with_context", "with_rationale", "multi_turn"):
        lines.append(f"{key.replace('_', ' ')}: {st[key]['count']} ({st[key]['share']:.1%})")
    lines.append(f"token lengths (tokenizer {st['tokenizer']}):")
    n_bins = shown_bins(st)
    width = max(len(b) for b in st["bins"][:n_bins])
    for field, s in st["lengths"].items():
        lines.append(f"{field}: {s['count']} records, min {s['min']}, mean {s['mean']}, "
                     f"median {s['median']:g}, max {s['max']}")
        top = max(s["histogram"]) or 1
        for label, c in zip(st["bins"][:n_bins], s["histogram"]):
            lines.append(f"  {label:>{width}} | {bar(c, top)} {c}".rstrip())
    return "\n".join(lines)


def plot_lengths(st: dict, path: str | Path) -> Path:
    """Save the three length histograms side by side as a PNG (matplotlib, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(4.2 * len(st["lengths"]), 3.6), layout="constrained")
    FigureCanvasAgg(fig)  # render off-screen; no GUI backend is touched
    axes = fig.subplots(1, len(st["lengths"]), sharey=False)
    n_bins = shown_bins(st)  # the same x range in every panel
    for ax, (field, s) in zip(axes, st["lengths"].items()):
        bars = ax.bar(range(n_bins), s["histogram"][:n_bins], color="#4c72b0")
        ax.bar_label(bars, fontsize=7)
        ax.set_xticks(range(n_bins), st["bins"][:n_bins], rotation=45, fontsize=8)
        ax.set_title(f"{field} (n={s['count']}, median {s['median']:g})", fontsize=9)
        ax.set_xlabel("tokens")
        ax.set_ylabel("records")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"token lengths, {st['records']} records", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, format="png")  # the path may be a temp name
    return path
