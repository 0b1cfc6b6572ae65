"""Format validation: patterns every response must pass, and the constraints its instruction states.

Score in [0, 1]: 1.0 when nothing is wrong, else the product of one factor per problem found:

problem found (code) → factor:
- empty or whitespace-only response (empty) → 0.0
- the response repeats the instruction or copies the context unchanged (echo) → 0.1
- degenerate repetition: a line of 4+ words 3+ times, a 6-word phrase 4+ times (repetition) → 0.2
- leftover template / chat tokens: `<|im_end|>`, `</s>`, `[INST]`, `### Response:`,
  `#Rewritten Prompt#`, `{instruction}` (template) → 0.3
- a refusal: "I'm sorry, but I can't", "As an AI language model" (refusal) → 0.5
- an odd number of ``` fences (code_fence) → 0.5
- each violated instruction constraint, see `quality.constraints` (word_limit, sentence_count,
  line_count, paragraph_count, item_count, json, yes_no, bullets, numbered, case, fields) → 0.5

Constraint checks read the final response (not the rationale). The reason lists every problem.
"""

from __future__ import annotations

import re
from collections import Counter

from instructune.data.record import Record
from instructune.quality._text import lines, norm_words
from instructune.quality.constraints import parse_constraints
from instructune.quality.score import Score, ScoringSet

_TEMPLATE = re.compile(
    r"<\|[A-Za-z_]+\|>|</?s>|\[/?INST\]|<</?SYS>>|^#{2,3}\s*(?:Instruction|Response|Input|Assistant)\s*:"
    r"|#(?:Rewritten|Given|Created|New) Prompt#|\{\{?\s*(?:instruction|input|response|context)\s*\}?\}",
    re.M | re.I)
_REFUSAL = re.compile(
    r"^\s*(?:I'?m sorry|I am sorry|Sorry),? (?:but )?I (?:can(?:no|')?t|am unable|won't)|\bas an AI(?: language)? model\b"
    r"|^\s*I (?:can(?:no|')?t|am unable to|won't) (?:help|assist|provide|comply|do that)", re.I)
_CONSTRAINT_CODE = {"words": "word_limit", "sentences": "sentence_count", "lines": "line_count",
                    "paragraphs": "paragraph_count", "items": "item_count", "json": "json",
                    "yes_no": "yes_no", "bullets": "bullets", "numbered": "numbered",
                    "uppercase": "case", "lowercase": "case", "fields": "fields"}
FACTORS = {"empty": 0.0, "echo": 0.1, "repetition": 0.2, "template": 0.3, "refusal": 0.5,
           "code_fence": 0.5, "constraint": 0.5}


def _repetition(text: str) -> str | None:
    """A line of ≥ 4 words seen ≥ 3 times, or a 6-word phrase looping ≥ 4 times."""
    counts = Counter(ln for ln in lines(text) if len(ln.split()) >= 4)
    line, n = counts.most_common(1)[0] if counts else ("", 0)
    if n >= 3:
        return f"the line {line[:40]!r} appears {n} times"
    w = norm_words(text)
    grams = Counter(tuple(w[i:i + 6]) for i in range(len(w) - 5))
    gram, n = grams.most_common(1)[0] if grams else ((), 0)
    if n >= 4:
        return f"the phrase {' '.join(gram)!r} repeats {n} times"
    return None


def _echo(r: Record) -> str | None:
    resp = norm_words(r.response)
    if resp and resp == norm_words(r.instruction):
        return "repeats the instruction"
    # Exact text (spacing aside): a punctuation or one-operator fix is a real change.
    if r.context.strip() and " ".join(r.response.split()) == " ".join(r.context.split()):
        return "copies the context unchanged"
    return None


def check_record(r: Record) -> Score:
    """The format score of one record (see the module docstring)."""
    problems: list[tuple[str, str, float]] = []  # (code, message, factor)
    text = r.response
    if not text.strip():
        return Score(0.0, "format: empty response", ("empty",))
    if msg := _echo(r):
        problems.append(("echo", f"response {msg}", FACTORS["echo"]))
    if msg := _repetition(text):
        problems.append(("repetition", f"degenerate repetition: {msg}", FACTORS["repetition"]))
    if m := _TEMPLATE.search(text):
        problems.append(("template", f"leftover template token {m.group(0)!r}", FACTORS["template"]))
    if _REFUSAL.search(text):
        problems.append(("refusal", "the response refuses", FACTORS["refusal"]))
    if text.count("```") % 2:
        problems.append(("code_fence", "unbalanced ``` code fence", FACTORS["code_fence"]))
    constraints = parse_constraints(r.instruction)
    for c in constraints:
        if msg := c.check(text):
            problems.append((_CONSTRAINT_CODE[c.kind], f"asks for {c.label}; response {msg}",
                             FACTORS["constraint"]))
    value = 1.0
    for _, _, factor in problems:
        value *= factor
    if not problems:
        checked = f"; {len(constraints)} stated constraint(s) met" if constraints else ""
        return Score(1.0, f"format ok{checked}")
    return Score(round(value, 6), "; ".join(m for _, m, _ in problems), tuple(c for c, _, _ in problems))


def score(data: ScoringSet) -> list[Score]:
    """Format scores of every record, in [0, 1] (1 = no problem found)."""
    return [check_record(r) for r in data.records]
