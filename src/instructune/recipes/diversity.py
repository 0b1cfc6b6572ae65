"""`instructune diversity`: how varied grown instructions are against their seeds
(`synth/diversity.py`).

    instructune diversity runs/si/records.jsonl --seeds seed_tasks.jsonl [--output DIR]
    instructune diversity grown.jsonl --seeds starter:train --no-parse --no-embed   # ROUGE-L only

Prints each view (ROUGE-L to the nearest seed, distinct verbs and verb-object pairs at equal
size, embedding spread) for the grown set beside the seeds' own figures; with `--output`, also
writes DIR/diversity.json. Inputs are any supported format; only the instructions are read.
"""

from __future__ import annotations

from pathlib import Path

from instructune.data.errors import DataError
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json


def instructions(inputs: list[str], fmt: str | None = None) -> list[str]:
    """The instructions of every record of `inputs` (files or starter:SPLIT), in order."""
    return [r.instruction for r in load_inputs(inputs, fmt)]


def main(grown_inputs: list[str], seed_inputs: list[str], output: str | Path | None = None, parse: bool = True,
         embed: bool = True, fmt: str | None = None) -> dict:
    """The diversity report of `grown_inputs` against `seed_inputs`, written under `output` when given.

    Raises:
        FileNotFoundError: a missing input, or spaCy / its pipeline missing when `parse`.
        DataError: a bad input row, or fewer than two instructions on either side.
    """
    from instructune.synth.diversity import diversity_report, load_parser

    grown, seeds = instructions(grown_inputs, fmt), instructions(seed_inputs, fmt)
    for names, texts in ((grown_inputs, grown), (seed_inputs, seeds)):
        if len(texts) < 2:
            raise DataError(", ".join(names), f"{len(texts)} instruction(s); diversity needs at least 2 on each side")
    parser = load_parser() if parse else None  # before the slow part: a missing spaCy fails first
    embedder = None
    if embed:
        from instructune.embed import load_embedder

        embedder = load_embedder()
    report = diversity_report(grown, seeds, parser, embedder)
    report["inputs"] = {"grown": grown_inputs, "seeds": seed_inputs}
    if output:
        write_json(Path(output) / "diversity.json", report)
        report["file"] = str(Path(output) / "diversity.json")
    return report


def _interval(ci: dict) -> str:
    return f"{ci['mean']:.3f} [{ci['lo']:.3f}, {ci['hi']:.3f}]"


def _top_verb(table: dict) -> str:
    """The most common verb, its share and interval: 'write' 29% [19%, 40%] of the 70 with a verb."""
    if not table["top"]:
        return "none (no instruction with a verb)"
    lo, hi = table["top_verb_share_ci"]
    return (f"{table['top'][0]['verb']!r} {table['top_verb_share']:.0%} [{lo:.0%}, {hi:.0%}] of the "
            f"{table['with_verb']} with a verb")


def format_report(report: dict) -> str:
    """The report as the lines `instructune diversity` prints."""
    n, ov = report["n"], report["overlap"]
    g, s = ov["grown_to_nearest_seed"], ov["seed_to_nearest_other_seed"]
    lines = [f"{n['grown']} grown instructions against {n['seeds']} seeds",
             f"ROUGE-L to the nearest seed: {_interval(g['mean'])}, median {g['median']:.2f}, "
             f"{g['share_at_least_0.7']:.0%} at 0.7 or more (seeds to the nearest other seed: {_interval(s['mean'])})"]
    if "verbs" in report:
        v = report["verbs"]
        for kind in ("verbs", "pairs"):
            same = v["same_size"][kind]
            lines.append(f"distinct {'verbs' if kind == 'verbs' else 'verb-object pairs'} in {same['at']} of each: "
                         f"grown {same['grown']:.1f}, seeds {same['seeds']:.1f}")
        lines.append("most common verb: " + "; ".join(f"{side} {_top_verb(v[side])}" for side in ("grown", "seeds")))
        lines.append("grown top verbs: " + ", ".join(
            f"{t['verb']} {t['count']}" + (f" ({', '.join(o for o, _ in t['objects'])})" if t["objects"] else "")
            for t in v["grown"]["top"][:8]))
    if "embedding" in report:
        e = report["embedding"]
        lines.append(f"embedding spread (mean cosine distance): grown {_interval(e['spread']['grown'])}, "
                     f"seeds {_interval(e['spread']['seeds'])}; grown to the nearest seed: cosine "
                     f"{_interval(e['nearest_seed_cosine'])}")
    if "file" in report:
        lines.append(f"wrote {report['file']}")
    return "\n".join(lines)
