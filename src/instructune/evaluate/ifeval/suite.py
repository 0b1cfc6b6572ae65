"""`run_suite`: files in, verdicts and summary out — what `instructune eval --suite ifeval` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from instructune.data.errors import DataError
from instructune.evaluate.ifeval.check import Verdict
from instructune.evaluate.ifeval.io import load_prompts, load_responses, write_summary, write_verdicts
from instructune.evaluate.ifeval.score import score
from instructune.rundir import IFEVAL_SUMMARY, VERDICTS

VERDICTS_FILE, SUMMARY_FILE = VERDICTS, IFEVAL_SUMMARY  # names in the run dir layout (rundir.py)


def run_suite(responses: str | Path, prompts: str | Path | None = None,
              output_dir: str | Path | None = None, workers: int = 1) -> tuple[list[Verdict], dict[str, Any]]:
    """Score a responses file against a prompt set, and write the results.

    Args:
        responses: IFEval-style responses file ({"prompt", "response"} per line).
        prompts: IFEval-style prompts file; None for the shipped set.
        output_dir: where to write `ifeval_verdicts.jsonl` and `ifeval_summary.json` (created if
            needed); None to write nothing.
        workers: processes to check in (`check_all`); 1 checks in this one.

    Returns:
        (verdicts, summary) as from `score`; the summary also names its inputs.

    Raises:
        DataError: a bad prompts or responses file (file, line and field named), or no response
            that answers a prompt of the set (nothing to score: written nowhere).
    """
    prompt_set = load_prompts(prompts)
    verdicts, summary = score(prompt_set, load_responses(responses), workers)
    if not verdicts:
        raise DataError(str(responses), f"no response answers a prompt of the set "
                        f"({'shipped' if prompts is None else prompts}, {len(prompt_set)} prompts): a response "
                        f"is matched to its prompt by the exact prompt text; nothing was scored")
    summary = {"prompts_file": str(prompts) if prompts is not None else "shipped",
               "responses_file": str(responses), **summary}
    if output_dir is not None:
        out = Path(output_dir)
        write_verdicts(out / VERDICTS_FILE, verdicts)
        write_summary(out / SUMMARY_FILE, summary)
    return verdicts, summary
