"""Constraints drawn from what a response already is: a keyword it contains, a bound its length
meets, a word it never uses. The response is kept as it is, so it satisfies the constraint by
construction (the strict checker still verifies it).

    kwargs = draw_word_count(response, record, rng)    # {"num_words": 60, "relation": "less than"}

Each is drawn from the final response, after every rewrite of the record (`augmenter.py`).
"""

from __future__ import annotations

import math
import random
import re
import string

from instructune.augment.languages import written_in
from instructune.data.record import Record
from instructune.evaluate.ifeval.change_case import capital_words
from instructune.text import count_words, sentences

# Words too common to make a keyword constraint mean anything.
_COMMON = frozenset("""about above after again against because been before being below between both
could does doing down during each from further have having here into itself just more most once only other
ought same should some such than that their theirs them then there these they this those through under until
very were what when where which while whom with would your yours""".split())
# Candidates for a forbidden word: filler a good answer can do without.
FILLER = ("basically", "actually", "really", "very", "simply", "obviously", "literally", "just", "quite",
          "totally")


def content_words(response: str) -> list[str]:
    """Distinct words of 5+ letters that are not common function words, in order of appearance."""
    seen = dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z]{5,}", response))
    return [w for w in seen if w not in _COMMON]


def _occurrences(word: str, response: str) -> int:
    """As the frequency checker counts: case-insensitive, anywhere, non-overlapping."""
    return len(re.findall(re.escape(word), response, flags=re.I))


def _bound(rng: random.Random, have: int, low: int = 1) -> tuple[str, int] | None:
    """("less than", N > have) or ("at least", low <= N <= have): a bound `have` meets."""
    options = [("less than", max(2, have + rng.randint(1, max(1, have // 3 + 2))))]  # never "fewer than 1"
    if have >= low:
        options.append(("at least", rng.randint(low, have)))
    return rng.choice(options)


def _round_bound(relation: str, n: int, have: int) -> int:
    """Word bounds as a person writes them: a multiple of 10 above (less than) or of 5 below."""
    if relation == "less than":
        return max(10, math.ceil((have + 1) / 10) * 10)
    return max(1, (n // 5) * 5) if n >= 5 else n


def draw_keywords(response: str, record: Record, rng: random.Random) -> dict | None:
    words = content_words(response)
    return {"keywords": rng.sample(words, min(len(words), rng.randint(1, 2)))} if words else None


def draw_keyword_frequency(response: str, record: Record, rng: random.Random) -> dict | None:
    words = content_words(response)
    if not words:
        return None
    word = rng.choice(words)
    relation, n = _bound(rng, _occurrences(word, response))
    return {"keyword": word, "frequency": n, "relation": relation}


def draw_forbidden(response: str, record: Record, rng: random.Random) -> dict | None:
    absent = [w for w in FILLER if not re.search(rf"\b{w}\b", response, flags=re.I)]
    return {"forbidden_words": rng.sample(absent, min(len(absent), rng.randint(1, 2)))} if absent else None


def draw_letter_frequency(response: str, record: Record, rng: random.Random) -> dict | None:
    present = sorted(set(response.lower()) & set(string.ascii_lowercase))
    if not present:
        return None
    letter = rng.choice(present)
    relation, n = _bound(rng, response.lower().count(letter))
    return {"letter": letter, "let_frequency": n, "let_relation": relation}


def draw_word_count(response: str, record: Record, rng: random.Random) -> dict | None:
    have = count_words(response)
    if have < 3:
        return None
    relation, n = _bound(rng, have, low=3)
    return {"num_words": _round_bound(relation, n, have), "relation": relation}


def draw_sentence_count(response: str, record: Record, rng: random.Random) -> dict | None:
    have = len(sentences(response))
    if have < 1:
        return None
    relation, n = _bound(rng, have)
    return {"num_sentences": n, "relation": relation}


def draw_capital_words(response: str, record: Record, rng: random.Random) -> dict | None:
    relation, n = _bound(rng, capital_words(response))
    return {"capital_frequency": n, "capital_relation": relation}


def draw_response_language(response: str, record: Record, rng: random.Random) -> dict | None:
    """"Reply in L" for a response already written in L (not English; `languages.written_in`)."""
    return {"language": found} if (found := written_in(response)) else None
