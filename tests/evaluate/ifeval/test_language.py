"""Language verdicts: bit-identical to seeded langdetect, deterministic, and without touching
langdetect's global state."""

from __future__ import annotations

import subprocess
import sys

import pytest
from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

from instructune.evaluate.ifeval.language import (_language_of, _prepared, detect_language, extract_ngrams,
                                                  language_probabilities)

# Short, mixed text on which unseeded langdetect answers "so" about 3 times in 4 and "fr" otherwise.
AMBIGUOUS = "Hola amigo bon jour"

TEXTS = [
    "The sun rises slowly over the mountains and the valley wakes up.",
    "Le soleil se lève lentement sur les montagnes et la vallée se réveille.",
    "Die Sonne geht langsam über den Bergen auf, und das Tal erwacht.",
    "El sol sale lentamente sobre las montañas y el valle despierta.",
    "Il sole sorge lentamente sulle montagne e la valle si sveglia.",
    "O sol nasce lentamente sobre as montanhas e o vale acorda.",
    "Jua linachomoza polepole juu ya milima na bonde linaamka.",
    "Солнце медленно встаёт над горами, и долина просыпается.",
    "太陽が山の上にゆっくりと昇り、谷が目を覚ます。",
    "सूरज धीरे-धीरे पहाड़ों के ऊपर उगता है और घाटी जाग जाती है।",
    "الشمس تشرق ببطء فوق الجبال ويستيقظ الوادي.",
    "Aurinko nousee hitaasti vuorten yllä ja laakso herää.",
    "Tiếng Việt có dấu: Mặt trời mọc chậm trên những ngọn núi.",
    "THE SKY IS BLUE BECAUSE AIR SCATTERS BLUE LIGHT THE MOST.",
    "the sky is blue because air scatters blue light the most.",
    "**Bold** start, *stars* inside, and a [placeholder] at https://example.com/x?y=1 or me@example.org.",
    "NASA and ESA fly; I LOVE well-known songs 123 456.",
    "Mixed: bonjour my friend, wie geht es dir today? Muy bien.",
    AMBIGUOUS,
    "a",
    "  Leading spaces, double  spaces,, commas... and a trailing space ",
    "Ok " * 400,
    ("A long one. " * 120) + "Bien sûr que oui, c'est la vie.",
]


def stock_detector():
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory


@pytest.fixture(scope="module")
def stock():
    return stock_detector()


@pytest.mark.parametrize("text", TEXTS)
def test_bit_identical_to_seeded_langdetect(stock, text):
    d = stock.create()
    d.append(text)
    d.cleaning_text()
    ngrams = extract_ngrams(_prepared(text).text)
    assert ngrams == d._extract_ngrams()
    d = stock.create()
    d.append(text)
    try:
        expected = d.detect()
    except LangDetectException:
        assert detect_language(text) is None
        return
    assert language_probabilities(tuple(ngrams)) == d.langprob  # exact floats, every language
    assert detect_language(text) == expected


def test_same_text_same_language_every_time():
    first = detect_language(AMBIGUOUS)
    for _ in range(20):
        _language_of.cache_clear()  # detect afresh, not from the cache
        assert detect_language(AMBIGUOUS) == first


def test_same_language_in_a_fresh_process():
    code = f"from instructune.evaluate.ifeval.language import detect_language as d; print(d({AMBIGUOUS!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == detect_language(AMBIGUOUS)


def test_undetectable_text_and_global_seed_untouched():
    assert detect_language("123 456 !!!") is None
    assert DetectorFactory.seed is None  # the seed lives on instructune's own factory
