"""The README's learning-against-forgetting figures, from the ablation summaries in
bench/results/ablations/ (each the `ablation.json` of one `instructune ablate` run; the commands
are in the README's objectives section).

    python bench/plot_learning_forgetting.py            # writes docs/learning_forgetting.svg
                                                         # and docs/learning_forgetting_terms.svg
    python bench/plot_learning_forgetting.py --out DIR  # the same two files under DIR

One point per arm: general-text perplexity change against the base model (x) and held-out
response loss (y), each the mean over 3 seeds with its 95% t interval. The first figure holds
the regularisers and full fine-tuning, with a symlog x axis (full fine-tuning at lr 1e-3 moves
perplexity by +160%, the LoRA arms by a few percent). The second holds the batch objectives
and the add-ons, each against the same LoRA baseline, on linear axes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ablations"
DOCS = HERE.parent / "docs"

FORGETTING = [("forget", {"lora": "LoRA", "l2sp": "LoRA + L2-SP 0.1", "ewc_0.1": "LoRA + EWC 0.1",
                          "ewc_1": "LoRA + EWC 1", "ewc_10": "LoRA + EWC 10"}),
              ("forget-full", {"full": "full, lr 1e-4"}),
              ("forget-hi", {"full_lr1e-3": "full, lr 1e-3", "full_lr1e-3_ewc": "full + EWC 0.1",
                             "full_lr1e-3_l2sp": "full + L2-SP 0.1"}),
              ("forget-hi2", {"full_lr1e-3_ewc_1": "full + EWC 1"}),
              ("forget-hi3", {"full_lr1e-3_l2sp_1": "full + L2-SP 1"})]
TERMS = [("terms", {"lora": "LoRA", "dual": "dual objective", "multitask_learned": "multi-task, learned",
                    "multitask_invfreq": "multi-task, inverse freq."}),
         ("rep", {"representation": "representation loss"}),
         ("addons", {"segment_embedding": "segment embedding", "instruction_attention": "instruction attention",
                     "two_stream": "two-stream", "two_stream_minilm": "two-stream, MiniLM",
                     "reasoning_head": "reasoning head",
                     "temperature_head": "temperature head"})]


def points(sources) -> dict[str, tuple[dict, dict]]:
    """{label: (forgetting metric, held-out loss metric)} for the named arms of each summary."""
    out = {}
    for name, arms in sources:
        summary = json.loads((RESULTS / f"{name}.json").read_text())
        for arm, label in arms.items():
            m = summary["arms"][arm]["metrics"]
            out[label] = (m["forgetting.relative_change"], m["heldout.response_loss"])
    return out


def figure(pts: dict, title: str, out: Path, symlog: bool) -> None:
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    for i, (label, (x, y)) in enumerate(pts.items()):
        ax.errorbar([x["mean"]], [y["mean"]], xerr=[[x["mean"] - x["lo"]], [x["hi"] - x["mean"]]],
                    yerr=[[y["mean"] - y["lo"]], [y["hi"] - y["mean"]]], fmt="o", capsize=3, label=label,
                    color=plt.cm.tab20(i % 20))
    if symlog:
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xticks([-0.1, -0.05, 0, 0.05, 0.1, 1.0, 2.0])
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(title=title, xlabel="general-text perplexity change against the base model (tuned/base − 1)",
           ylabel="held-out response loss")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:+.0%}"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {out} ({len(pts)} arms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DOCS, help="folder for the two SVG files (default: docs/)")
    out = ap.parse_args().out
    figure(points(FORGETTING), "Regularisers and full fine-tuning (3 seeds, 95% CI)",
           out / "learning_forgetting.svg", symlog=True)
    figure(points(TERMS), "Objectives and add-ons on LoRA (3 seeds, 95% CI)",
           out / "learning_forgetting_terms.svg", symlog=False)


if __name__ == "__main__":
    main()
