"""Text measurements shared by the quality scorers and the IFEval checks: one implementation of
each (words, sentences, paragraphs, lines, JSON bodies, letter case).

    from instructune.text import count_words, sentences, paragraphs, json_error, is_uppercase
"""

from __future__ import annotations

from instructune.text.case import is_lowercase, is_uppercase
from instructune.text.json_body import json_body, json_error
from instructune.text.split import count_words, lines, paragraphs, sentences, words

__all__ = ["count_words", "is_lowercase", "is_uppercase", "json_body", "json_error", "lines",
           "paragraphs", "sentences", "words"]
