"""Small text helpers the rule-based scorers share: number words, stopwords, numbers. Words,
sentences and lines come from `instructune.text`, which the IFEval checks use too."""

from __future__ import annotations

import re

from instructune.text import lines, sentences, words

__all__ = ["COUNT", "NEGATIONS", "NUMBER_WORDS", "STOPWORDS", "content_words", "count_value", "lines",
           "norm_words", "numbers", "sentences", "words"]

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}
# A count in an instruction: digits or a number word ("a"/"an" only where a pattern allows it).
COUNT = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|" \
        r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|" \
        r"eighty|ninety|hundred|single)"

NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor",
                       "cannot", "without", "isn't", "aren't", "wasn't", "weren't", "doesn't",
                       "don't", "didn't", "won't", "can't", "couldn't", "shouldn't", "hasn't",
                       "haven't", "hadn't", "wouldn't", "mustn't"})
STOPWORDS = frozenset("""a an the and or but if then so of to in on at by for with from as is are
was were be been being it its this that these those there here he she they we you i me my our
your his her their them us do does did has have had will would can could should may might
must shall very also just than too into over under about after before up down out off again
which who whom what when where why how all any each both few more most other some such only
own same s t""".split())

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")


def norm_words(text: str) -> list[str]:
    """Lower-cased words, for comparisons that ignore case and punctuation."""
    return [w.lower().replace("’", "'") for w in words(text)]


def content_words(text: str) -> set[str]:
    """Lower-cased words that are neither stopwords nor negations."""
    return {w for w in norm_words(text) if w not in STOPWORDS and w not in NEGATIONS}


def count_value(token: str) -> int:
    """The integer a COUNT match names ("five" → 5, "12" → 12)."""
    token = token.lower()
    return int(token) if token.isdigit() else NUMBER_WORDS[token]


def numbers(text: str) -> list[tuple[float, int, int]]:
    """Numbers written with digits ("2,300", "12.5"), as (value, start, end) spans."""
    out = []
    for m in _NUMBER.finditer(text):
        whole = m.group(1).replace(",", "")
        out.append((float(f"{whole}.{m.group(2)}" if m.group(2) else whole), m.start(), m.end()))
    return out
