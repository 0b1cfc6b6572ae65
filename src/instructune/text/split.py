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
# Where a sentence may end: after . ! ? (a closing quote or bracket may follow, and stays with it)
# and whitespace. It does end there when the next word starts as `_starts_sentence` says.
_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))(\s+)")
_OPENING = "\"'“‘(["
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


def _starts_sentence(part: str) -> bool:
    """Whether `part` (after an opening quote or bracket) starts with a digit or with a letter that is
    not lowercase: a capital in any cased script, or any letter of an uncased one (CJK, Devanagari)."""
    first = part.lstrip(_OPENING)[:1]
    return first.isdigit() or (first.isalpha() and not first.islower())


def sentences(text: str) -> list[str]:
    """Sentences: a split after . ! ? when the next word starts with a capital (any script) or a
    digit, except after a title, an initial or "e.g."/"i.e.".

    Args:
        text: any text.

    Returns:
        The stripped, non-empty sentences in order.
    """
    pieces = _BREAK.split(text.strip())  # [text, space, text, space, ..., text]
    out = [pieces[0]] if pieces[0] else []
    for space, part in zip(pieces[1::2], pieces[2::2]):
        # Not a sentence start ("it rained. then"), or a split after "Dr." / "J.": join it back.
        # (Only the tail can hold the abbreviation; searching it keeps long texts linear.)
        if out and (not _starts_sentence(part) or _ABBREVIATION.search(out[-1][-10:])):
            out[-1] += space + part
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
