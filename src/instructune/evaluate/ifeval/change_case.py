"""change_case:* — words in capitals, and whole responses in English capitals or lowercase."""

from __future__ import annotations

from instructune.evaluate.ifeval.language import detect_language
from instructune.evaluate.ifeval.relation import compare
from instructune.text import is_lowercase, is_uppercase, words


def capital_words(response: str) -> int:
    """Words written in capitals ("NASA", "I", "WELL-KNOWN" count; "Nasa" does not). Words are
    `instructune.text.words` (IFEval uses NLTK's word_tokenize, which also splits "DON'T" in two)."""
    return sum(1 for w in words(response) if w.isupper())


def capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: str) -> bool:
    """Words in capitals appear `capital_relation` `capital_frequency` times."""
    return compare(capital_words(response), capital_relation, capital_frequency)


def _english(response: str) -> bool:
    found = detect_language(response)
    return found is None or found == "en"  # undetectable counts as followed, as in IFEval


def english_capital(response: str) -> bool:
    """No lowercase letter (and at least one capital), and the language is English."""
    return is_uppercase(response) and _english(response)


def english_lowercase(response: str) -> bool:
    """No capital letter (and at least one lowercase), and the language is English."""
    return is_lowercase(response) and _english(response)
