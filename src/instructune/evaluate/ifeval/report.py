"""A summary as text, for the terminal and logs."""

from __future__ import annotations

from typing import Any

from instructune.evaluate.intervals import format_ci

_HEADLINES = (("prompt-level strict", "prompt_level_strict"), ("prompt-level loose", "prompt_level_loose"),
              ("instruction-level strict", "instruction_level_strict"),
              ("instruction-level loose", "instruction_level_loose"))


def _ci(entry: dict[str, Any]) -> str:
    if entry["accuracy"] is None:
        return f"n/a (n={entry['n']})"
    return format_ci(entry["accuracy"], entry["lo"], entry["hi"], entry["n"])


def format_summary(summary: dict[str, Any], per_instruction: bool = True) -> str:
    """The summary of `score` as lines of text.

    Args:
        summary: from `score`.
        per_instruction: add one line per instruction id (else only per group).

    Returns:
        e.g. "prompt-level strict       0.612 [0.55, 0.67] (n=120)" and so on, one per line.
    """
    missing = summary["missing_responses"]["count"]
    out = [f"IFEval: {summary['prompts']} prompts, {summary['scored']} scored"
           + (f", {missing} without a response (not scored)" if missing else "")
           + (f", {summary['unmatched_responses']} responses to unknown prompts (ignored)"
              if summary["unmatched_responses"] else "")]
    out += [f"  {label:<25} {_ci(summary[key])}" for label, key in _HEADLINES]
    sections = [("group", summary["per_group"])]
    if per_instruction:
        sections.append(("instruction", summary["per_instruction"]))
    for title, table in sections:
        out.append(f"  per {title} (strict / loose):")
        width = max((len(name) for name in table), default=0)
        for name, entry in table.items():
            strict, loose = entry["strict"], entry["loose"]
            out.append(f"    {name:<{width}}  {strict['accuracy']:.3f} / {loose['accuracy']:.3f} (n={strict['n']})")
    return "\n".join(out)
