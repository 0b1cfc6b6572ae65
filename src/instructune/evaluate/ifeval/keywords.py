"""keywords:* — words that must appear, appear so often, never appear; letter counts.

Matching is IFEval's: case-insensitive; `existence` and `frequency` match anywhere (so "war"
is found in "software"), `forbidden_words` only as a whole word. Keywords are matched
literally (IFEval passes them to `re` unescaped; a keyword with a regex character such as
"C++" would break there).
"""

from __future__ import annotations

import re

from instructune.evaluate.ifeval.relation import compare


def existence(response: str, *, keywords: list[str]) -> bool:
    """Every keyword occurs in the response."""
    return all(re.search(re.escape(k), response, flags=re.IGNORECASE) for k in keywords)


def frequency(response: str, *, keyword: str, frequency: int, relation: str) -> bool:
    """The keyword occurs `relation` `frequency` times (non-overlapping, anywhere)."""
    occurrences = len(re.findall(re.escape(keyword), response, flags=re.IGNORECASE))
    return compare(occurrences, relation, frequency)


def forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    """None of the words occurs as a whole word."""
    return not any(re.search(rf"\b{re.escape(w)}\b", response, flags=re.IGNORECASE)
                   for w in forbidden_words)


def letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    """The character `letter` (any case) occurs `let_relation` `let_frequency` times."""
    return compare(response.lower().count(letter), let_relation, let_frequency)
