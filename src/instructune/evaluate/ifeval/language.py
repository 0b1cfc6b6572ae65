"""language:response_language, and the language detection the English-case checks share.

Detection is langdetect's (what IFEval uses), seeded, on a private detector factory: the same
text always gets the same language, and no other langdetect user in the process is affected.
As in IFEval, a text langdetect cannot read (no letters) counts as following the instruction.

langdetect is the slowest part of scoring (~2-10 ms a text, and loose scoring may ask for
eight variants of a response), so two of its steps are re-done here in faster Python that gives
bit-identical results on langdetect 1.0.9 (a test compares them on many texts):

- n-gram extraction (`Detector._extract_ngrams` with `NGram.add_char`), with each character's
  normalisation looked up once;
- the seeded sampling (`Detector._detect_block`): the same random calls in the same order and the
  same float operations per language, done with list comprehensions instead of index loops.

Text preparation (URL and e-mail removal, the 10,000-character cap, non-Latin cleaning) and the
final choice of language stay langdetect's own. Verdicts are cached by n-gram sequence, so
variants that differ only in markdown stars (which langdetect reads as spaces) cost one detection.
"""

from __future__ import annotations

import functools
import random

from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.utils.ngram import NGram

SEED = 0
_N_TRIAL = 7  # Detector.n_trial
_NORMALISED: dict[str, str] = {}  # character → NGram.normalize(character)


@functools.lru_cache(maxsize=1)
def _factory() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(SEED)
    return factory


def known_languages() -> list[str]:
    """The ISO 639-1 codes (plus zh-cn / zh-tw) langdetect can return."""
    return _factory().get_lang_list()


def _prepared(text: str) -> Detector:
    """A detector holding `text` as langdetect prepares it (append + cleaning_text)."""
    detector = _factory().create()
    detector.append(text)
    detector.cleaning_text()
    return detector


def extract_ngrams(text: str, known: dict[str, list[float]]) -> list[str]:
    """The 1- to 3-grams langdetect samples from a prepared text, in its order.

    Same result as `Detector._extract_ngrams`: characters are normalised as `NGram.normalize`
    does; a space resets the buffer; grams inside words of two or more capitals are skipped;
    only grams with a profile (`known`) are kept.
    """
    out: list[str] = []
    grams, capital = " ", False
    for ch in text:
        c = _NORMALISED.get(ch)
        if c is None:
            c = _NORMALISED[ch] = NGram.normalize(ch)
        last = grams[-1]
        if last == " ":
            grams, capital = " ", False
            if c == " ":
                continue
        elif len(grams) >= NGram.N_GRAM:
            grams = grams[1:]
        grams += c
        if c.isupper():
            if last.isupper():
                capital = True
        else:
            capital = False
        if capital:
            continue
        if c != " " and c in known:
            out.append(c)
        if len(grams) >= 2:
            if grams[-2:] in known:
                out.append(grams[-2:])
            if len(grams) >= 3 and grams in known:  # the buffer never holds more than 3
                out.append(grams)
    return out


def _normalise(prob: list[float]) -> tuple[list[float], float]:
    """`Detector._normalize_prob`: probabilities over their sum (built-in, left-to-right sum), and the largest."""
    total = sum(prob)
    prob = [p / total for p in prob]
    return prob, max(prob)


def language_probabilities(ngrams: tuple[str, ...]) -> list[float]:
    """`Detector._detect_block` after n-gram extraction: per language (factory order), the mean
    over 7 seeded trials of the probability reached by sampling n-grams until one language passes
    0.99999 or 1,000 steps."""
    factory = _factory()
    rows = [factory.word_lang_prob_map[w] for w in ngrams]
    n_lang = len(factory.langlist)
    rng = random.Random()
    rng.seed(SEED)
    langprob = [0.0] * n_lang
    for _ in range(_N_TRIAL):
        prob = [1.0 / n_lang] * n_lang
        weight = (Detector.ALPHA_DEFAULT + rng.gauss(0.0, 1.0) * Detector.ALPHA_WIDTH) / Detector.BASE_FREQ
        i = 0
        while True:
            row = rng.choice(rows)
            prob = [p * (weight + q) for p, q in zip(prob, row)]
            if i % 5 == 0:
                prob, top = _normalise(prob)
                if top > Detector.CONV_THRESHOLD or i >= Detector.ITERATION_LIMIT:
                    break
            i += 1
        langprob = [acc + p / _N_TRIAL for acc, p in zip(langprob, prob)]
    return langprob


@functools.lru_cache(maxsize=256)
def _language_of(ngrams: tuple[str, ...]) -> str:
    detector = _factory().create()
    detector.langprob = language_probabilities(ngrams)
    return detector.detect()  # langdetect's own choice: most probable above 0.1, else "unknown"


def detect_language(text: str) -> str | None:
    """The language langdetect (seeded) finds in `text`, or None when it finds no n-grams to go on.

    Args:
        text: any text.

    Returns:
        A code such as "en", "fr", "zh-cn" ("unknown" when no language passes 0.1); None for text
        without letters (langdetect raises there).
    """
    factory = _factory()
    ngrams = extract_ngrams(_prepared(text).text, factory.word_lang_prob_map)
    return _language_of(tuple(ngrams)) if ngrams else None


def response_language(response: str, *, language: str) -> bool:
    """The whole response is in `language` (undetectable text passes, as in IFEval).

    Args:
        response: the model's response.
        language: an ISO 639-1 code, e.g. "fr".
    """
    found = detect_language(response)
    return found is None or found == language
