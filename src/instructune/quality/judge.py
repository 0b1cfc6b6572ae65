"""An LLM judge through the `Generator` protocol: does the response follow the instruction?

The judge sees the instruction, the input and the response, and answers one word, yes or no
(greedy). The first yes/no in its reply decides: yes → 1.0, no → 0.0, neither → 0.5 (no
opinion). Small models make weak judges; it is off by default (`quality.judge`).
"""

from __future__ import annotations

import re

from instructune.data.record import Record
from instructune.generation.params import GenParams

PROMPT = (
    "You are checking an instruction-following dataset.\n\n"
    "Instruction:\n{instruction}\n\n{context}Response:\n{response}\n\n"
    "Does the response correctly follow the instruction? Answer with one word: yes or no.")
_VERDICT = re.compile(r"\b(yes|no)\b", re.I)


def judge_prompt(r: Record) -> str:
    """The user message the judge gets for record `r`."""
    context = f"Input:\n{r.context}\n\n" if r.context else ""
    return PROMPT.format(instruction=r.instruction, context=context, response=r.response)


def parse_verdict(reply: str) -> tuple[float, str]:
    """(1.0 / 0.0 / 0.5, a short description) from the judge's reply."""
    m = _VERDICT.search(reply)
    if not m:
        return 0.5, f"no verdict in {reply.strip()[:40]!r}"
    return (1.0, "yes") if m.group(1).lower() == "yes" else (0.0, "no")


def judge_records(generator, records: list[Record], batch_size: int = 32) -> list[tuple[float, str]]:
    """The judge's verdict on each record, in order.

    Args:
        generator: any `generation.generator.Generator` (local model or an HTTP endpoint).
        records: the records to judge.
        batch_size: conversations per `generator.chat` call.
    """
    params = GenParams(max_new_tokens=4, temperature=0.0)
    out: list[tuple[float, str]] = []
    for start in range(0, len(records), batch_size):
        chats = [[{"role": "user", "content": judge_prompt(r)}] for r in records[start:start + batch_size]]
        out.extend(parse_verdict(reply) for reply in generator.chat(chats, params))
    return out
