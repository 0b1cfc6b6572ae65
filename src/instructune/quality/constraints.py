"""Constraints an instruction states about its answer, and checks of a response against them.

    for c in parse_constraints("List three fruits in under 10 words."):
        problem = c.check("Apples, pears, plums")      # None when satisfied, else a message

What is recognised (English phrasing, case-insensitive):
- word counts: "in / within / at most / no more than / up to N words" (≤ N), "under / fewer than /
  less than N words" (< N), "N words or less", "at least / more than N words", "exactly N words",
  "in one word" / "a single word" / "one-word answer" (exactly 1);
- sentences: "in one sentence", "a two-sentence story", "at most N sentences";
- lines: "a four-line poem", "in N lines", "write a haiku" (3 lines), "write a limerick" (5);
- paragraphs: "in N paragraphs", "a two-paragraph ...";
- items: "list / give / suggest / name / brainstorm ... N <things>", "N ideas / ways / tips /
  reasons / examples ..." (counted as numbered lines, bullets, lines, or comma-separated parts);
- JSON: "in / as / into / to JSON", "return / output / format ... JSON" (not in a question:
  "How do I convert CSV to JSON?" asks for an explanation);
- "answer yes or no"; "bulleted list" / "bullet points"; "numbered list";
- "in uppercase / all caps", "in lowercase";
- field templates: "Format: Name: ..., Email: ..." (each label must appear in the response).

Numbers may be digits or words up to "twenty" and the tens. What is not recognised is not
checked; `format` and `complexity` both read these. Words, sentences and paragraphs are counted,
JSON parsed and case tested by `instructune.text`, the same functions the IFEval checks use (so a
word count here is IFEval's: runs of word characters, "don't" is 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from instructune.quality._text import COUNT, count_value, lines, sentences, words
from instructune.text import count_words, is_lowercase, is_uppercase, json_error, paragraphs

_FLAGS = re.I


@dataclass
class Constraint:
    """One stated constraint.

    Attributes:
        kind: "words", "sentences", "lines", "paragraphs", "items", "json", "yes_no", "bullets",
            "numbered", "uppercase", "lowercase" or "fields".
        label: what it asks, in words ("at most 10 words").
        check: response → None when satisfied, else what is wrong ("has 14 words").
    """

    kind: str
    label: str
    check: Callable[[str], str | None]


def _bounds_label(lo: int | None, hi: int | None, unit: str) -> str:
    unit = unit.removesuffix("s") if (hi if hi is not None else lo) == 1 else unit
    if lo is not None and lo == hi:
        return f"exactly {lo} {unit}"
    if lo is not None and hi is not None:
        return f"{lo} to {hi} {unit}"
    return f"at most {hi} {unit}" if hi is not None else f"at least {lo} {unit}"


def _count_check(kind: str, unit: str, lo: int | None, hi: int | None,
                 count: Callable[[str], int]) -> Constraint:
    def check(response: str) -> str | None:
        n = count(response)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            return f"has {n} {unit.removesuffix('s') if n == 1 else unit}"
        return None

    return Constraint(kind, _bounds_label(lo, hi, unit), check)


# --- counting in the response -------------------------------------------------------------

_NUMBERED_LINE = re.compile(r"^\(?(\d+)[.)]\s")
_BULLET_LINE = re.compile(r"^[-*•]\s")
_INLINE_NUMBER = re.compile(r"(?:^|\s)(\d+)[.)]\s")


def count_items(text: str) -> int:
    """Items of a list answer: numbered lines, else bullets, else inline "1. a 2. b", else
    lines (an intro line ending in ':' not counted), else comma / semicolon / "and" parts."""
    ls = lines(text)
    for pattern in (_NUMBERED_LINE, _BULLET_LINE):
        hits = [ln for ln in ls if pattern.match(ln)]
        if len(hits) >= 2:
            return len(hits)
    inline = [int(n) for n in _INLINE_NUMBER.findall(text)]
    run = 0
    for n in inline:  # count "1. … 2. … 3. …" in sequence, not stray numbers
        run = n if n == run + 1 else run
    if run >= 2:
        return run
    body = [ln for ln in ls if not ln.endswith(":")]
    if len(body) >= 2:
        return len(body)
    one = body[0] if body else ""
    return len([p for p in re.split(r"\s*[;,]\s*|\s+and\s+", one.rstrip(".")) if p.strip()])


def count_paragraphs(text: str) -> int:
    """Paragraphs: blocks separated by blank lines."""
    return len(paragraphs(text))


def _json_problem(response: str) -> str | None:
    reason = json_error(response)
    return None if reason is None else f"is not valid JSON ({reason})"


def _case_problem(response: str, upper: bool) -> str | None:
    if (is_uppercase if upper else is_lowercase)(response):
        return None
    if not any(ch.isupper() or ch.islower() for ch in response):
        return "has no letters"
    return "has lowercase letters" if upper else "has uppercase letters"


# --- rules: instruction pattern → constraint ------------------------------------------------

_WORD_RULES = (  # (pattern, which bound, offset applied to N)
    (rf"\bexactly\s+{COUNT}\s+words?\b", "exact", 0),
    (r"\b(?:in|with|using|as)\s+(?:one|a single|1)\s+word\b|\bone[- ]word\s+(?:answer|response|reply)\b"
     r"|\bsingle[- ]word\s+(?:answer|response|reply)\b", "one", 0),
    (rf"\b(?:under|below|fewer than|less than)\s+{COUNT}\s+words?\b", "hi", -1),
    (rf"\b(?:in|within|at most|no more than|not more than|maximum of|up to|no longer than)\s+"
     rf"{COUNT}\s+words?\b", "hi", 0),
    (rf"\b{COUNT}\s+words?\s+or\s+(?:less|fewer)\b", "hi", 0),
    (rf"\b(?:at least|no fewer than|no less than|minimum of)\s+{COUNT}\s+words?\b", "lo", 0),
    (rf"\bmore than\s+{COUNT}\s+words?\b", "lo", 1),
)


def _word_constraint(instruction: str) -> Constraint | None:
    lo = hi = None
    for pattern, bound, offset in _WORD_RULES:
        m = re.search(pattern, instruction, _FLAGS)
        if not m:
            continue
        n = 1 if bound == "one" else count_value(m.group(1)) + offset
        if bound in ("exact", "one"):
            return _count_check("words", "words", n, n, count_words)
        if bound == "hi" and hi is None:
            hi = n
        if bound == "lo" and lo is None:
            lo = n
    if lo is None and hi is None:
        return None
    return _count_check("words", "words", lo, hi, count_words)


def _unit_constraint(instruction: str, unit: str, kind: str, count: Callable[[str], int]) -> Constraint | None:
    """Sentences / paragraphs: "at most N units" (upper bound), "N-unit" / "in N units" (exact)."""
    m = re.search(rf"\b(?:at most|no more than|up to|fewer than|less than)\s+{COUNT}\s+{unit}s?\b",
                  instruction, _FLAGS)
    if m:
        return _count_check(kind, f"{unit}s", None, count_value(m.group(1)), count)
    # "these two sentences" / "the following sentences" point at the input, not the answer.
    m = re.search(rf"(?<!these )(?<!those )(?<!following )(?<!both )\b{COUNT}[- ]{unit}s?\b",
                  instruction, _FLAGS)
    if m:
        n = count_value(m.group(1))
        return _count_check(kind, f"{unit}s", n, n, count)
    return None


def _line_constraint(instruction: str) -> Constraint | None:
    m = re.search(rf"\b{COUNT}[- ]line\b|\b(?:in|of)\s+{COUNT}\s+lines\b", instruction, _FLAGS)
    if m:
        n = count_value(m.group(1) or m.group(2))
    elif re.search(r"\b(?:write|compose|create)\s+(?:a|an|one|me a)\s+haiku\b", instruction, _FLAGS):
        n = 3
    elif re.search(r"\b(?:write|compose|create)\s+(?:a|an|one|me a)\s+limerick\b", instruction, _FLAGS):
        n = 5
    else:
        return None
    return _count_check("lines", "lines", n, n, lambda t: len(lines(t)))


_ITEM_VERBS = r"(?:list|give|suggest|name|brainstorm|provide|generate|offer|share|propose|recommend|" \
              r"identify|outline|come up with|think of)"
_ITEM_NOUNS = r"(?:ideas|ways|tips|examples|reasons|benefits|names|things|facts|questions|suggestions|" \
              r"options|items|advantages|disadvantages|strategies|methods|features|topics|steps|" \
              r"activities|themes|titles|slogans|synonyms|antonyms)"
_NOT_ITEMS = r"(?!(?:sentences?|lines?|paragraphs?|times?|words? or|minutes?|hours?|days?)\b)"


def _item_constraint(instruction: str) -> Constraint | None:
    m = (re.search(rf"\b{_ITEM_VERBS}\s+(?:me\s+|us\s+)?{COUNT}\s+{_NOT_ITEMS}\w", instruction, _FLAGS)
         or re.search(rf"(?<!these )(?<!the )\b{COUNT}\s+(?:[a-z-]+\s+){{0,2}}{_ITEM_NOUNS}\b",
                      instruction, _FLAGS))
    if not m or m.group(1).lower() == "single":
        return None
    n = count_value(m.group(1))
    return _count_check("items", "items", n, n, count_items)


def _json_constraint(instruction: str) -> Constraint | None:
    text = instruction.strip()
    if text.endswith("?") or re.match(r"(?:how|what|why|explain|describe|define)\b", text, _FLAGS):
        return None
    if re.search(r"\b(?:in|as|into|to|using)\s+(?:an?\s+|valid\s+|the\s+)*JSON\b"
                 r"|\b(?:return|output|respond|reply|answer|format|formatted)\b[^.?!]{0,30}\bJSON\b", text, _FLAGS):
        return Constraint("json", "valid JSON", _json_problem)
    return None


def _simple_constraints(instruction: str) -> list[Constraint]:
    out = []
    if re.search(r"\b(?:answer|reply|respond)\s+(?:only\s+)?(?:with\s+)?[\"']?yes[\"']?\s+or\s+[\"']?no\b",
                 instruction, _FLAGS):
        out.append(Constraint("yes_no", "an answer starting with yes or no", lambda t: None if (
            words(t)[:1] and words(t)[0].lower() in ("yes", "no")) else "does not start with yes or no"))
    if re.search(r"\bbullet(?:ed)?[- ]?(?:points?|list)\b|\bas bullets\b", instruction, _FLAGS):
        out.append(Constraint("bullets", "a bulleted list", lambda t: None if sum(
            bool(_BULLET_LINE.match(ln)) for ln in lines(t)) >= 2 else "has no bulleted lines"))
    if re.search(r"\bnumbered list\b", instruction, _FLAGS):
        out.append(Constraint("numbered", "a numbered list", lambda t: None if sum(
            bool(_NUMBERED_LINE.match(ln)) for ln in lines(t)) >= 2 else "has no numbered lines"))
    if re.search(r"\b(?:in|using|all)\s+(?:all\s+)?(?:upper[- ]?case|capital letters|caps)\b", instruction, _FLAGS):
        out.append(Constraint("uppercase", "uppercase only", lambda t: _case_problem(t, upper=True)))
    if re.search(r"\b(?:in|using|all)\s+(?:all\s+)?lower[- ]?case\b", instruction, _FLAGS):
        out.append(Constraint("lowercase", "lowercase only", lambda t: _case_problem(t, upper=False)))
    return out


def _fields_constraint(instruction: str) -> Constraint | None:
    m = re.search(r"\bFormat:\s*(.+)$", instruction, re.M)
    labels = re.findall(r"([A-Za-z][\w ]*?):\s*\.\.\.", m.group(1)) if m else []
    if not labels:
        return None

    def check(response: str) -> str | None:
        missing = [lab for lab in labels if not re.search(rf"\b{re.escape(lab)}\s*:", response, _FLAGS)]
        return f"lacks the field(s) {', '.join(missing)}" if missing else None

    return Constraint("fields", "the fields " + ", ".join(labels), check)


def parse_constraints(instruction: str) -> list[Constraint]:
    """The constraints `instruction` states about its answer (see the module docstring)."""
    found = [
        _word_constraint(instruction),
        _unit_constraint(instruction, "sentence", "sentences", lambda t: len(sentences(t))),
        _unit_constraint(instruction, "paragraph", "paragraphs", count_paragraphs),
        _line_constraint(instruction),
        _item_constraint(instruction),
        _json_constraint(instruction),
        _fields_constraint(instruction),
        *_simple_constraints(instruction),
    ]
    return [c for c in found if c is not None]
