"""Reading prompt and response files in IFEval's formats, and writing verdicts and summaries.

Prompts (IFEval's input_data.jsonl): one object a line with "key", "prompt",
"instruction_id_list" and "kwargs" (one object per id; null values are dropped).
Responses (IFEval's input_response_data.jsonl): one {"prompt", "response"} a line, matched to
prompts by the prompt text. JSON arrays of the same objects are read too.

Every problem in a file is a `DataError` naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from instructune.data.errors import DataError
from instructune.data.formats._fields import Row
from instructune.data.jsonio import iter_json_rows, write_json, write_jsonl
from instructune.evaluate.ifeval.check import Verdict
from instructune.evaluate.ifeval.errors import InstructionError
from instructune.evaluate.ifeval.prompt import Prompt, make_prompt

SHIPPED_PROMPTS = Path(__file__).with_name("prompts.jsonl")


def _rows(path: str | Path) -> list[Row]:
    path = str(path)
    if not Path(path).is_file():
        raise DataError(path, "no such file")
    return [Row(path, loc, obj) for loc, obj in iter_json_rows(path)]


def _key(row: Row) -> int | str:
    key = row.obj.get("key")
    if key is None:
        raise row.error("missing", "key")
    if isinstance(key, bool) or not isinstance(key, (int, str)) or (isinstance(key, str) and not key.strip()):
        raise row.error(f"expected an integer or a non-empty string, got {key!r}", "key")
    return key


def _prompt(row: Row) -> Prompt:
    key, text = _key(row), row.text("prompt", nonempty=True)
    ids = row.items("instruction_id_list")
    kwargs = row.obj.get("kwargs")
    if kwargs is not None and not isinstance(kwargs, list):
        raise row.error(f"expected a list, got {type(kwargs).__name__}", "kwargs")
    try:
        return make_prompt(key, text, ids, kwargs)
    except InstructionError as e:
        raise row.error(e.message, e.field) from None


def load_prompts(path: str | Path | None = None) -> list[Prompt]:
    """Read and validate a prompts file.

    Args:
        path: an IFEval-style prompts file; None for the set shipped with instructune
            (`SHIPPED_PROMPTS`).

    Returns:
        The prompts in file order.

    Raises:
        DataError: a missing or empty file, bad JSON, a missing or ill-typed field, a duplicate
            key, an unknown instruction id (the message lists the allowed ids) or bad arguments.
    """
    path = SHIPPED_PROMPTS if path is None else path
    prompts: list[Prompt] = []
    first_line: dict[int | str, int] = {}
    for row in _rows(path):
        prompt = _prompt(row)
        where = row.loc.get("line", row.loc.get("index"))
        if prompt.key in first_line:
            raise row.error(f"duplicate key {prompt.key!r} (first at {first_line[prompt.key]})", "key")
        first_line[prompt.key] = where
        prompts.append(prompt)
    if not prompts:
        raise DataError(str(path), "no prompts in the file")
    return prompts


def load_responses(path: str | Path) -> dict[str, str]:
    """Read a responses file: prompt text → response.

    Args:
        path: one {"prompt", "response"} per line (other fields are ignored). An empty response
            is allowed (it follows no instruction).

    Returns:
        The responses by prompt text.

    Raises:
        DataError: a missing file, bad JSON, a missing or non-string field, or a second response
            to the same prompt.
    """
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for row in _rows(path):
        prompt = row.text("prompt", nonempty=True)
        response = row.text("response")
        where = row.loc.get("line", row.loc.get("index"))
        if prompt in out:
            raise row.error(f"a second response to the same prompt (first at {first_line[prompt]})", "prompt")
        out[prompt], first_line[prompt] = response, where
    return out


def write_verdicts(path: str | Path, verdicts: Sequence[Verdict]) -> int:
    """Write one JSON line per verdict with IFEval's field names ("key", "prompt", "response",
    "instruction_id_list", "follow_all_instructions", "follow_instruction_list") plus
    "follow_all_instructions_loose" and "follow_instruction_list_loose"; atomically.

    Returns:
        The number of lines written.
    """
    return write_jsonl(path, (v.to_row() for v in verdicts))


def write_summary(path: str | Path, summary: dict[str, Any]) -> None:
    """Write the summary of `score` as indented JSON, atomically."""
    write_json(path, summary)
