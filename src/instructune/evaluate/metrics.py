"""Text metrics of generations against references: ROUGE-L F1 and exact match."""

from __future__ import annotations

import re
import string

from instructune.data import rouge

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 in [0, 1] over Unicode words, one token per CJK / kana / Hangul / Thai
    character (`data.rouge`; equal to rouge-score's on ASCII text)."""
    return rouge.rouge_l(prediction, reference)


def normalize(text: str) -> str:
    """SQuAD-style normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize(prediction) == normalize(reference))


def final_answer(text: str, separator: str) -> str:
    """The part of a chain-of-thought generation after the last answer separator."""
    sep = separator.strip()
    return text.rsplit(sep, 1)[1].strip() if sep and sep in text else text.strip()
