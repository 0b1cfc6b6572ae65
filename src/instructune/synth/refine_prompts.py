"""Prompt texts for Self-Refine (Madaan et al., 2023), and how their replies are read.

Two user messages per round (sent through `Generator.chat`), short and with a fixed reply
format so that a small model has a fair chance:

    critique_prompt("Name three fruits.", "", "Apple, pear.")      # → problems, or "NO ISSUES"
    revise_prompt("Name three fruits.", "", "Apple, pear.", "Only two fruits are named.")
                                                                   # → "Improved response: ..."

`says_nothing_to_fix` reads the critique (stop early), `parse_revision` the revision, and
`copies_feedback` catches a revision that pastes the critique in instead of acting on it.
"""

from __future__ import annotations

import re

NO_ISSUES = "NO ISSUES"
COPY_WORDS = 8  # a run of this many critique words in a revision is a copy, not a coincidence

# A critique that opens with one of these found nothing to fix ...
_NOTHING = re.compile(
    r"^[\W_]*(?:no issues?|no problems?|no errors?|nothing to (?:fix|improve|change|correct)|none|"
    r"the response is (?:already )?(?:correct|complete|fine|good)\b)", re.I)
# ... unless its first sentence goes on to name one ("No problems with grammar, but ...").
_BUT = re.compile(r"\b(?:but|however|except|although|though|apart from)\b", re.I)
_FIRST_SENTENCE = re.compile(r"^.*?(?:[.!?](?:\s|$)|\n|$)", re.S)
_REVISION_HEADER = re.compile(
    r"^[ \t#*_]*(?:(?:here\s+is\s+)?(?:the|an|my)\s+)?(?:improved|revised|rewritten|new|corrected)\s+response"
    r"[ \t*_]*:?[ \t*_]*", re.I | re.M)
# Where a revision ends: the model going on with the prompt's scaffolding.
_REVISION_END = re.compile(r"^[ \t#*_]*(?:feedback|task)[ \t*_]*:", re.I | re.M)


def _given(instruction: str, context: str, response: str) -> str:
    given = f"Task: {instruction}\n\n"
    if context:
        given += f"Input: {context}\n\n"
    return given + f"Response: {response}"


def critique_prompt(instruction: str, context: str, response: str) -> str:
    """Ask for the problems of `response` as an answer to the task, or NO_ISSUES when none.

    Args:
        instruction: the record's instruction.
        context: its input ("" when none).
        response: the response under review (the draft, or the last kept revision).
    """
    return (f"Here is a task and a response to it.\n\n{_given(instruction, context, response)}\n\n"
            "Review the response. Is it correct and complete, and does it follow every requirement "
            "of the task? List each problem on its own line. If there is nothing to fix, reply with "
            f"exactly: {NO_ISSUES}")


def revise_prompt(instruction: str, context: str, response: str, critique: str) -> str:
    """Ask for a response that fixes what `critique` found, starting with "Improved response:"."""
    return (f"Here is a task, a response to it, and feedback on the response.\n\n"
            f"{_given(instruction, context, response)}\n\nFeedback: {critique.strip()}\n\n"
            "Write an improved response that fixes the problems in the feedback and still answers "
            "the task. Reply with the improved response only, starting with \"Improved response:\".")


def says_nothing_to_fix(critique: str) -> bool:
    """Whether a critique reports no problem: it opens with "NO ISSUES" (or "no problems",
    "nothing to fix", "none", "the response is correct", ...) and its first sentence names no
    exception ("but", "however", ...). An empty critique is not read as approval."""
    text = critique.strip()
    if not _NOTHING.match(text):
        return False
    first = _FIRST_SENTENCE.match(text)
    return not _BUT.search(first.group(0) if first else text)


def parse_revision(reply: str) -> str:
    """The revised response in `reply`, stripped; "" when there is none.

    It starts after the first line that opens with an "Improved response:" header (any case,
    markdown emphasis allowed; a preamble before it is dropped), or at the top when there is no
    header, and ends before a second header or a "Feedback:" / "Task:" line: small models often
    go on repeating the prompt's scaffolding.
    """
    first = _REVISION_HEADER.search(reply)
    text = reply[first.end():] if first else reply
    ends = [m.start() for m in (_REVISION_HEADER.search(text), _REVISION_END.search(text)) if m]
    return text[:min(ends)].strip() if ends else text.strip()


_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")


def _grams(text: str, n: int) -> set[tuple[str, ...]]:
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def copies_feedback(revision: str, critique: str, response: str) -> bool:
    """Whether `revision` holds COPY_WORDS consecutive words of `critique` that `response` did
    not: small models append the feedback ("The task is to extract all the dates ... the
    response is correct") to the response, and the embedding scorers reward the extra words
    that repeat the instruction. Text the critique quotes ("Say \"Water boils at 100 °C.\"")
    is a suggested fix and may be copied."""
    copied = _grams(revision, COPY_WORDS) & _grams(_QUOTED.sub(" ", critique), COPY_WORDS)
    return bool(copied - _grams(response, COPY_WORDS))
