"""The languages augmentation names in a constraint, and how it tells that a response is
already written in one.

    NAMES["fr"]                      # "French"
    written_in("Le pain lève ...")   # "fr"; None for English, code, lists or a few words

langdetect (the IF checker's own detector) labels any text, so a short answer, a list of names
or a code snippet often comes back as Catalan or Danish. A response counts as written in a
language only when it is prose: two or more sentences of four or more words, and langdetect
gives the same language for each sentence and for the whole.
"""

from __future__ import annotations

import re

from instructune.evaluate.ifeval.language import detect_language
from instructune.text import count_words, sentences

# Languages langdetect tells apart reliably on a few sentences: the generator is asked for these.
GENERATED = {"fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese"}
# Every language a constraint may name (langdetect's codes), with its English name.
NAMES = {**GENERATED, "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish",
         "pl": "Polish", "cs": "Czech", "ro": "Romanian", "hu": "Hungarian", "tr": "Turkish", "ru": "Russian",
         "el": "Greek", "ar": "Arabic", "hi": "Hindi", "ja": "Japanese", "ko": "Korean", "zh-cn": "Chinese",
         "vi": "Vietnamese", "id": "Indonesian", "sw": "Swahili", "bn": "Bengali", "uk": "Ukrainian"}
MIN_SENTENCES = 2
MIN_WORDS = 4  # per sentence


# A language's English name as a word, capitalised as English writes it ("in German", "the
# French text", "into English"); lower-case "polish" or "turkey" are other words ("Polish the
# text" at a sentence start is read as the language: a constraint left out, nothing worse).
_NAMED = re.compile(r"\b(" + "|".join(sorted([*NAMES.values(), "English"])) + r")\b")


def names_a_language(text: str) -> bool:
    """Whether `text` names English or a language of `NAMES` (by its capitalised English name)."""
    return _NAMED.search(text) is not None


def written_in(response: str) -> str | None:
    """The language code of a prose response not in English, or None (English, or not prose).

    Args:
        response: the response text.

    Returns:
        A code of `NAMES`, when the whole and each sentence are detected as that language.
    """
    parts = sentences(response)
    if len(parts) < MIN_SENTENCES or any(count_words(p) < MIN_WORDS for p in parts):
        return None
    found = detect_language(response)
    if found in (None, "en") or found not in NAMES:
        return None
    return found if all(detect_language(p) == found for p in parts) else None
