"""length_constraints:* — counts of sentences, words and paragraphs, and a paragraph's first word.

Words are IFEval's (runs of word characters) and paragraphs for `nth_paragraph_first_word`
are blocks between blank lines, both from `instructune.text`. Sentences are split by
`instructune.text.sentences` (regular expressions) where IFEval uses NLTK's punkt model: the two
agree on ordinary prose, and may differ by one on abbreviations punkt knows and the splitter
does not.
"""

from __future__ import annotations

import re

from instructune.evaluate.ifeval.relation import compare
from instructune.text import count_words, paragraphs, sentences

# IFEval's markdown divider between paragraphs, with one optional space either side.
_DIVIDER = re.compile(r"\s?\*\*\*\s?")
# Characters that end IFEval's "first word" of a paragraph.
_FIRST_WORD_STOP = frozenset(".,?!'\"")


def number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    """The response has `relation` `num_sentences` sentences."""
    return compare(len(sentences(response)), relation, num_sentences)


def number_words(response: str, *, num_words: int, relation: str) -> bool:
    """The response has `relation` `num_words` words."""
    return compare(count_words(response), relation, num_words)


def number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    """Exactly `num_paragraphs` paragraphs separated by the divider ***.

    An empty piece before the first or after the last divider is not a paragraph; an empty piece
    between two dividers makes the response fail (as in IFEval).
    """
    pieces = _DIVIDER.split(response)
    found = 0
    for i, piece in enumerate(pieces):
        if piece.strip():
            found += 1
        elif 0 < i < len(pieces) - 1:
            return False
    return found == num_paragraphs


def paragraph_first_word(paragraph: str) -> str:
    """IFEval's first word of a paragraph: the first whitespace token without leading quotes,
    cut at the first . , ? ! ' or ", lower-cased ("'Hello, world" → "hello")."""
    token = paragraph.split()[0].lstrip("'").lstrip('"')
    out = []
    for ch in token:
        if ch in _FIRST_WORD_STOP:
            break
        out.append(ch.lower())
    return "".join(out)


def nth_paragraph_first_word(response: str, *, num_paragraphs: int, nth_paragraph: int,
                             first_word: str) -> bool:
    """Exactly `num_paragraphs` paragraphs (split on blank lines) and paragraph `nth_paragraph`
    (1-based) starts with `first_word` (case-insensitive)."""
    found = paragraphs(response)
    if len(found) != num_paragraphs or nth_paragraph > len(found):
        return False
    return paragraph_first_word(found[nth_paragraph - 1]) == first_word.lower()
