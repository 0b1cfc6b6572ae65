"""IFEval-style verifiable instruction following, built in: the 25 instruction types of Google's
IFEval (same ids and arguments), strict and loose verdicts, prompt- and instruction-level
accuracy with Wilson intervals, and a prompt set written for instructune.

    from instructune.evaluate import ifeval

    prompts = ifeval.load_prompts()                      # the shipped set, or a path to IFEval's file
    verdicts, summary = ifeval.score(prompts, ifeval.load_responses("responses.jsonl"))
    ifeval.write_verdicts("out/ifeval_verdicts.jsonl", verdicts)
    print(ifeval.format_summary(summary))

    # or, files in and out in one call:
    verdicts, summary = ifeval.run_suite("responses.jsonl", prompts=None, output_dir="out")
"""

from __future__ import annotations

from instructune.evaluate.ifeval.check import Verdict, check
from instructune.evaluate.ifeval.errors import InstructionError
from instructune.evaluate.ifeval.io import (SHIPPED_PROMPTS, load_prompts, load_responses, write_summary,
                                            write_verdicts)
from instructune.evaluate.ifeval.loose import loose_variants
from instructune.evaluate.ifeval.prompt import Prompt, make_prompt
from instructune.evaluate.ifeval.registry import GROUPS, INSTRUCTIONS, Instruction, resolve_kwargs
from instructune.evaluate.ifeval.report import format_summary
from instructune.evaluate.ifeval.score import score, summarize
from instructune.evaluate.ifeval.suite import SUMMARY_FILE, VERDICTS_FILE, run_suite

__all__ = ["GROUPS", "INSTRUCTIONS", "SHIPPED_PROMPTS", "SUMMARY_FILE", "VERDICTS_FILE", "Instruction",
           "InstructionError", "Prompt", "Verdict", "check", "format_summary", "load_prompts",
           "load_responses", "loose_variants", "make_prompt", "resolve_kwargs", "run_suite", "score",
           "summarize", "write_summary", "write_verdicts"]
