"""Splitting text into words, sentences, paragraphs and lines (regular expressions only: nothing
is downloaded, so counts are the same on every machine)."""

from __future__ import annotations

import re

# Word tokens for reading text: letters/digits with inner apostrophes, dots and hyphens kept, so
# "don't", "e-mail" and "3.5" stay whole (what negation and yes/no checks need).
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
# Word *counts* follow IFEval (nltk's RegexpTokenizer(r"\w+")): every run of word characters, in
# any script, so "don't" counts 2. Counting limits in instructions are checked with this.
_COUNTED_WORD = re.compile(r"\w+")
# A sentence ends at . ! ? (a closing quote/bracket may follow, and stays) before whitespace and a word that
# starts with a capital or a digit, optionally after an opening quote or bracket.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
# Titles, initials and Latin abbreviations whose dot does not end a sentence ("Dr. Lee", "J. Smith").
_ABBREVIATION = re.compile(r"(?:^|[\s(\"'])(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|e\.g|i\.e|[A-Z])\.$")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def words(text: str) -> list[str]:
    """Word tokens (ASCII letters/digits, inner apostrophes, dots and hyphens kept).

    Args:
        text: any text.

    Returns:
        The tokens in order, e.g. ``words("Don't stop, e-mail me") == ["Don't", "stop", "e-mail", "me"]``.
    """
    return _WORD.findall(text)


def count_words(text: str) -> int:
    """How many words `text` has, counted as IFEval does: runs of word characters (``\\w+``).

    Args:
        text: any text.

    Returns:
        The count; "Don't stop" has 3.
    """
    return len(_COUNTED_WORD.findall(text))


def sentences(text: str) -> list[str]:
    """Sentences: a split after . ! ? when the next word starts with a capital or a digit, except
    after a title, an initial or "e.g."/"i.e.".

    Args:
        text: any text.

    Returns:
        The stripped, non-empty sentences in order.
    """
    out: list[str] = []
    for part in _SENTENCE_END.split(text.strip()):
        part = part.strip()
        if not part:
            continue
        if out and _ABBREVIATION.search(out[-1]):  # the split was after "Dr." or "J.": undo it
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def paragraphs(text: str) -> list[str]:
    """Paragraphs: blocks separated by one or more blank lines.

    Args:
        text: any text.

    Returns:
        The stripped, non-empty paragraphs in order.
    """
    return [p.strip() for p in _BLANK_LINE.split(text) if p.strip()]


def lines(text: str) -> list[str]:
    """Non-empty lines, stripped.

    Args:
        text: any text.

    Returns:
        The lines that hold more than whitespace.
    """
    return [ln.strip() for ln in text.splitlines() if ln.strip()]
