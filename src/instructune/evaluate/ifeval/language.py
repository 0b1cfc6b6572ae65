"""language:response_language, and the language detection the English-case checks share.

Detection is langdetect's (what IFEval uses), seeded, on a private detector factory: the same
text always gets the same language, and no other langdetect user in the process is affected.
As in IFEval, a text langdetect cannot read (no letters) counts as following the instruction.

langdetect is the slowest part of scoring (~2-10 ms a text, and loose scoring may ask for
eight variants of a response), so two of its steps are re-done here in faster Python that gives
bit-identical results on langdetect 1.0.9 (a test compares them on many texts):

- n-gram extraction (`Detector._extract_ngrams` with `NGram.add_char`): normalisation through
  one translate table, and each distinct word scanned once;
- the seeded sampling (`Detector._detect_block`): the same random calls in the same order and the
  same float operations per language, on numpy vectors instead of index loops.

Text preparation (URL and e-mail removal, the 10,000-character cap, non-Latin cleaning) and the
final choice of language stay langdetect's own. Verdicts are cached by n-gram sequence, so
variants that differ only in markdown stars (which langdetect reads as spaces) cost one detection.
"""

from __future__ import annotations

import functools
import random

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.utils.ngram import NGram

SEED = 0
_N_TRIAL = 7  # Detector.n_trial
_NORMALISED: dict[int, str] = {}  # ord(character) → NGram.normalize(character), a str.translate table


@functools.lru_cache(maxsize=1)
def _factory() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(SEED)
    return factory


@functools.lru_cache(maxsize=1)
def _profile_matrix() -> tuple[dict[str, int], np.ndarray]:
    """langdetect's n-gram profiles as one (n-grams, languages) float64 matrix (~40 MB), and the row
    of each n-gram: a text's rows are then gathered in one step instead of converted list by list."""
    profiles = _factory().word_lang_prob_map
    return {w: k for k, w in enumerate(profiles)}, np.array(list(profiles.values()))


def known_languages() -> list[str]:
    """The ISO 639-1 codes (plus zh-cn / zh-tw) langdetect can return."""
    return _factory().get_lang_list()


def _prepared(text: str) -> Detector:
    """A detector holding `text` as langdetect prepares it (append + cleaning_text)."""
    detector = _factory().create()
    detector.append(text)
    detector.cleaning_text()
    return detector


def _scan(normalised: str, known: dict[str, list[float]]) -> list[str]:
    """`Detector._extract_ngrams` on already normalised characters, from a fresh buffer: a space
    resets it; grams inside words of two or more capitals are skipped; only grams with a profile
    (`known`) are kept."""
    out: list[str] = []
    grams, capital = " ", False
    for c in normalised:
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


@functools.lru_cache(maxsize=65536)
def _word_ngrams(word: str, followed_by_space: bool) -> tuple[str, ...]:
    return tuple(_scan(word + " " if followed_by_space else word, _factory().word_lang_prob_map))


def extract_ngrams(text: str) -> list[str]:
    """The 1- to 3-grams langdetect samples from a prepared text, in its order (the result of
    `Detector._extract_ngrams`).

    The buffer restarts at every space, so a word's grams depend on the word alone: text is
    normalised in one `str.translate` (characters mapped as `NGram.normalize` maps them), split
    on spaces, and each distinct word is scanned once.
    """
    new = [ch for ch in set(text) if ord(ch) not in _NORMALISED]
    if new:
        _NORMALISED.update({ord(ch): NGram.normalize(ch) for ch in new})
    pieces = text.translate(_NORMALISED).split(" ")
    out: list[str] = []
    for k, word in enumerate(pieces):
        if word:  # every piece but the last one is followed by a space
            out += _word_ngrams(word, k < len(pieces) - 1)
    return out


def language_probabilities(ngrams: tuple[str, ...]) -> list[float]:
    """`Detector._detect_block` after n-gram extraction: per language (factory order), the mean
    over 7 seeded trials of the probability reached by sampling n-grams until one language passes
    0.99999 or 1,000 steps.

    Same random calls in the same order, and the same IEEE operations per language (numpy's
    elementwise multiply, add and divide round exactly as Python's floats do; the normalising sum
    stays Python's left-to-right `sum`, since numpy's pairwise sum rounds differently).
    """
    row_of, matrix = _profile_matrix()
    unique = list(dict.fromkeys(ngrams))
    profiles = matrix[[row_of[w] for w in unique]]  # (distinct n-grams, languages)
    local = {w: k for k, w in enumerate(unique)}
    rows = [local[w] for w in ngrams]  # choosing among these draws exactly as choosing among `ngrams`
    n_lang = profiles.shape[1]
    rng = random.Random(SEED)
    langprob = [0.0] * n_lang
    for _ in range(_N_TRIAL):
        prob = np.full(n_lang, 1.0 / n_lang)
        alpha = Detector.ALPHA_DEFAULT + rng.gauss(0.0, 1.0) * Detector.ALPHA_WIDTH
        factors = alpha / Detector.BASE_FREQ + profiles  # langdetect's `weight + lang_prob_map[i]`
        i = 0
        while True:
            np.multiply(prob, factors[rng.choice(rows)], out=prob)
            if i % 5 == 0:
                prob /= sum(prob.tolist())
                if prob.max() > Detector.CONV_THRESHOLD or i >= Detector.ITERATION_LIMIT:
                    break
            i += 1
        langprob = [acc + p / _N_TRIAL for acc, p in zip(langprob, prob.tolist())]
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
    ngrams = extract_ngrams(_prepared(text).text)
    return _language_of(tuple(ngrams)) if ngrams else None


def response_language(response: str, *, language: str) -> bool:
    """The whole response is in `language` (undetectable text passes, as in IFEval).

    Args:
        response: the model's response.
        language: an ISO 639-1 code, e.g. "fr".
    """
    found = detect_language(response)
    return found is None or found == language
