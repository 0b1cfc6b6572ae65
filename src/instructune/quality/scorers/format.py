"""Format validation: patterns every response must pass, and the constraints its instruction states.

Score in [0, 1]: 1.0 when nothing is wrong, else the product of one factor per problem found:

problem found (code) → factor:
- empty or whitespace-only response (empty) → 0.0
- the response repeats the instruction or copies the context unchanged (echo) → 0.1
- the response is a piece of the context, word for word ("olive oil" out of an ingredient list
  for "Write a recipe"), and the instruction does not ask to pick something out of its input
  (find, select, which, classify, yes or no, ... `ASKS_TO_PICK`) (copied) → 0.5; also when it
  does, if the piece opens with one of the context's field names ("Word: excited" out of
  "Word: excited Sentence: ..."): a field's label is input layout, never an answer
- degenerate repetition (repetition) → 0.2: the same line of 4+ words 3+ times in a row, or a
  phrase looping back to back (4+ copies in a row, covering 8+ words). Repeats apart from each
  other are not loops: a weekly plan repeats "Warm-up: 10 minutes" per day, a song its chorus.
- the response stops mid-sentence (truncated) → 0.5: 6+ words, and it ends on an empty list
  marker or a word no sentence ends with ("the", "of", "and", ...); or 12+ words and its last
  line, of 4+ words and not a list item, heading or table row, ends without closing punctuation in a text
  whose other lines mostly do close (a poem's lines need not); or its last line ends on an
  open operator (`=`, `(`, `[`, `{`, a comma, `&`, `+`, a backslash: prose and code alike); or
  its last list item is open where 3+ sibling items all close.
- leftover template / chat tokens: `<|im_end|>`, `</s>`, `[INST]`, `### Response:`,
  `#Rewritten Prompt#`, `{instruction}` (template) → 0.3
- a refusal: "I'm sorry, but I can't", "As an AI language model", "I must decline",
  "against my guidelines" (refusal) → 0.5
- an odd number of ``` fences (code_fence) → 0.5
- each violated instruction constraint, see `quality.constraints` (word_limit, sentence_count,
  line_count, paragraph_count, item_count, json, yes_no, bullets, numbered, case, fields) → 0.5

Constraint checks read the final response (not the rationale). The reason lists every problem.
"""

from __future__ import annotations

import re
from instructune.data.record import Record
from instructune.quality._text import lines, norm_words, words
from instructune.quality.constraints import parse_constraints
from instructune.quality.score import Score, ScoringSet, copied_from_context

_TEMPLATE = re.compile(
    r"<\|[A-Za-z_]+\|>|</?s>|\[/?INST\]|<</?SYS>>|^#{2,3}\s*(?:Instruction|Response|Input|Assistant)\s*:"
    r"|#(?:Rewritten|Given|Created|New) Prompt#|\{\{?\s*(?:instruction|input|response|context)\s*\}?\}",
    re.M | re.I)
_CANT = r"(?:can(?:no|'|’)?t|am (?:not able|unable)|won(?:'|’)t(?: be able)?|must decline|(?:'|’)d rather not|will not)"
_REFUSAL = re.compile(
    # An apology or regret, then "I can't" within the same sentence; or a refusal opening the response.
    rf"^\s*(?:I'?m sorry|I am sorry|Sorry|I apologi[sz]e|Unfortunately|I'?m afraid)\b[^.!?\n]{{0,30}}\bI\s*{_CANT}"
    rf"|\bas an AI(?: language)? model\b|\bagainst my (?:guidelines|policy|policies|programming)\b"
    rf"|^\s*I\s*{_CANT} (?:help|assist|provide|comply|do|answer|fulfil|fulfill|complete|respond)"
    rf"|^\s*That(?:'|’)?s not something I(?:'|’)?m able to", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,2}[.)]|[a-zA-Z][.)]|#)\s*")
# What a finished response may end with: closing punctuation, brackets, quotes, markup, emoji.
_CLOSED = re.compile(r"[.!?…:;)\]}\"'”’»*`>~_-]\s*$|[\u2600-\u27bf\U0001F000-\U0001FAFF]\s*$")
# Words no finished sentence, list item or title ends with: a cut right after one is certain.
_DANGLING = frozenset("""the a an and or nor but of to with for in on at by from that which whose is are was
were as if so than into onto their his her its my your our whose because while when where whether""".split())
# A line ending on an assignment, an open bracket, a comma or a joining operator is unfinished in
# prose and in code alike ("data =", "print(", "apples, pears,").
_OPEN_OPERATOR = re.compile(r"(?:[=(\[{,&+\\]|&&)\s*$")
# An instruction that asks for something out of its input, whose answer may well be a piece of
# the input word for word: a word, an option, a number, a sentence, a label.
ASKS_TO_PICK = re.compile(r"\b(?:find|select|choose|pick|identify|extract|quote|which|return the|output the|"
                          r"yes or no|true or false|classify|label|detect|locate|highlight|copy|repeat)\b", re.I)
_FIELD = re.compile(r"^\s*([A-Z][\w ]{0,24}):")
TRUNCATION_MIN_WORDS = 6  # for a dangling last word
OPEN_END_MIN_WORDS = 12  # for an unclosed last line: shorter texts are titles, names, labels
_CONSTRAINT_CODE = {"words": "word_limit", "sentences": "sentence_count", "lines": "line_count",
                    "paragraphs": "paragraph_count", "items": "item_count", "json": "json",
                    "yes_no": "yes_no", "bullets": "bullets", "numbered": "numbered",
                    "uppercase": "case", "lowercase": "case", "fields": "fields"}
FACTORS = {"empty": 0.0, "echo": 0.1, "copied": 0.5, "repetition": 0.2, "template": 0.3, "refusal": 0.5,
           "code_fence": 0.5, "truncated": 0.5, "constraint": 0.5}
LOOP_COPIES, LOOP_WORDS, LOOP_UNIT = 4, 8, 40  # copies in a row, words covered, longest unit


def _line_run(text: str) -> tuple[str, int]:
    """The longest run of the same line (of ≥ 4 words) in a row, blank lines skipped: (line, length)."""
    best, prev, run = ("", 0), None, 0
    for ln in (x.strip() for x in lines(text) if x.strip()):
        run = run + 1 if ln == prev else 1
        prev = ln
        if len(ln.split()) >= 4 and run > best[1]:
            best = (ln, run)
    return best


def loop(w: list[str]) -> tuple[list[str], int] | None:
    """The back-to-back repeat of `w` covering most words: (unit, copies in a row), or None when
    no unit of ≤ LOOP_UNIT words repeats LOOP_COPIES+ times in a row over LOOP_WORDS+ words.

    At lag k, `run` counts consecutive positions with w[i] == w[i + k]; a run of r such
    positions is r // k + 1 copies of a k-word unit. Smallest unit wins a tie.
    """
    best: tuple[int, int, int] | None = None  # (covered words, start, unit length)
    for k in range(1, min(LOOP_UNIT, len(w) // 2) + 1):
        run = 0
        for i in range(len(w) - k):
            run = run + 1 if w[i] == w[i + k] else 0
            copies, covered = run // k + 1, run + k
            if copies >= LOOP_COPIES and covered >= LOOP_WORDS and (best is None or covered > best[0]):
                best = (covered, i - run + 1, k)
    if best is None:
        return None
    covered, start, k = best
    return w[start:start + k], (covered - k) // k + 1


def _repetition(text: str) -> str | None:
    """The same line 3+ times in a row, or a phrase looping back to back (see `loop`)."""
    line, n = _line_run(text)
    if n >= 3:
        return f"the line {line[:40]!r} appears {n} times"
    if found := loop(norm_words(text)):
        unit, n = found
        return f"the phrase {' '.join(unit)[:60]!r} repeats {n} times"
    return None


def _cut_item(body: list[str]) -> bool:
    """Whether the last list item of `body` (its non-empty lines) is open where its siblings
    close: at least 3 other items, every one of them ending with closing punctuation."""
    items = [ln for ln in body[:-1] if _BULLET.match(ln)]
    return (len(items) >= 3 and all(_CLOSED.search(ln) for ln in items)
            and not _CLOSED.search(body[-1]))


def _truncated(text: str) -> str | None:
    """Why `text` looks cut off mid-sentence (see the module docstring), or None."""
    if len(words(text)) < TRUNCATION_MIN_WORDS or text.count("```") % 2:  # an open fence is its own problem
        return None
    body = [ln.strip() for ln in lines(text) if ln.strip()]
    last = body[-1] if body else ""
    tail = norm_words(last)
    if _BULLET.fullmatch(last) or (tail and tail[-1] in _DANGLING and not _CLOSED.search(last)):
        return f"ends mid-sentence: ...{last[-30:]!r}"
    if _OPEN_OPERATOR.search(last):
        return f"ends on an open operator: ...{last[-30:]!r}"
    if _BULLET.match(last) and _cut_item(body):
        return f"its last item stops short: ...{last[-30:]!r}"
    if len(words(text)) < OPEN_END_MIN_WORDS or len(last.split()) < 4 or _BULLET.match(last) or "|" in last or _CLOSED.search(last):
        return None
    if len(body) >= 3 and sum(not _CLOSED.search(ln) for ln in body[:-1]) * 2 >= len(body) - 1:
        return None  # a poem, lyrics or a list without bullets: its lines do not close either
    return f"ends mid-sentence: ...{last[-30:]!r}"


def _echo(r: Record) -> str | None:
    resp = norm_words(r.response)
    if resp and resp == norm_words(r.instruction):
        return "repeats the instruction"
    # Exact text (spacing aside): a punctuation or one-operator fix is a real change.
    if r.context.strip() and " ".join(r.response.split()) == " ".join(r.context.split()):
        return "copies the context unchanged"
    return None


def _copied(r: Record) -> str | None:
    """Why the response looks copied out of its context rather than written for the task, or None."""
    if not copied_from_context(r):
        return None
    if field := _FIELD.match(r.response):  # copied, so the context has the same label
        return f"is a piece of the context that opens with its field name {field.group(1)!r}"
    if not ASKS_TO_PICK.search(r.instruction):
        return "is a piece of the context, word for word, and the instruction asks for no such pick"
    return None


def check_record(r: Record) -> Score:
    """The format score of one record (see the module docstring)."""
    problems: list[tuple[str, str, float]] = []  # (code, message, factor)
    text = r.response
    if not text.strip():
        return Score(0.0, "format: empty response", ("empty",))
    if msg := _echo(r):
        problems.append(("echo", f"response {msg}", FACTORS["echo"]))
    elif msg := _copied(r):
        problems.append(("copied", f"response {msg}", FACTORS["copied"]))
    if msg := _repetition(text):
        problems.append(("repetition", f"degenerate repetition: {msg}", FACTORS["repetition"]))
    if m := _TEMPLATE.search(text):
        problems.append(("template", f"leftover template token {m.group(0)!r}", FACTORS["template"]))
    if msg := _truncated(text):
        problems.append(("truncated", f"the response {msg}", FACTORS["truncated"]))
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
