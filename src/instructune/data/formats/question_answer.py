"""Question / answer rows `{"question", "answer"}` (GSM8K, many QA sets), a JSON array, JSONL,
or any table file (CSV, TSV with a header, parquet).

`question` becomes the instruction and `answer` the response; an optional `rationale`
becomes the record's rationale, and an optional `context` its context. GSM8K writes its
worked solution and its final answer in one field, the answer last after `#### `
("...so 48 + 24 = 72 clips.\\n#### 72"): such an answer is split there, the steps becoming
the rationale and what follows `#### ` the response (unless the row has its own rationale).
"""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "question_answer"
GSM8K_MARK = "\n#### "


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None. Rows that also have a `rationale`
    are FLAN CoT's columns (a TSV with a header, `flan_cot`, which decodes FLAN's escapes);
    `--format question_answer` reads them here."""
    if {"question", "answer"} <= keys and "rationale" not in keys:
        return "has 'question' and 'answer'"
    return None


def split_gsm8k(answer: str) -> tuple[str, str]:
    """(rationale, final answer) of a GSM8K answer; ("", answer) when it has no `#### ` line."""
    steps, mark, final = answer.rpartition(GSM8K_MARK)
    return (steps.strip(), final.strip()) if mark and final.strip() else ("", answer)


def to_records(row: Row) -> list[Record]:
    """One record per row."""
    answer = row.text("answer", nonempty=True)
    rationale = row.text("rationale", required=False)
    if not rationale:
        rationale, answer = split_gsm8k(answer)
    return [Record(
        id=row.record_id(NAME),
        instruction=row.text("question", nonempty=True),
        context=row.text("context", required=False),
        response=answer,
        rationale=rationale,
        source=row.source(NAME),
    )]


# After `p3` (100): none of the earlier formats reads 'question'.
FORMAT = Format(NAME, priority=110, detect=detect, to_records=to_records,
                needs="'question' and 'answer' (and no 'rationale')",
                reads=frozenset(("question", "answer", "rationale", "context")))
