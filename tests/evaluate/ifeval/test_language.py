"""Language verdicts: those of plain seeded langdetect, text for text, deterministic, cached
without changing an answer, and without touching langdetect's global state."""

from __future__ import annotations

import json
import subprocess
import sys

from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

from instructune.evaluate.ifeval.language import detect_language, response_language

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
    "Sure! Here it is:\nLa lune brille sur le lac et les barques dorment.",
    "Dzień dobry, jak się masz?",
    "Ok merci",
    "ciao",
    AMBIGUOUS,
    "a",
    "  Leading spaces, double  spaces,, commas... and a trailing space ",
    "Ok " * 400,
    ("A long one. " * 120) + "Bien sûr que oui, c'est la vie.",
    "123 456 !!!",
    "",
]


def plain_langdetect(texts: list[str]) -> list[str | None]:
    """What `langdetect.detect` answers with the documented seeding (`DetectorFactory.seed = 0`),
    in a fresh interpreter so that this process's global factory is left alone; None where it
    raises (no features)."""
    code = ("import json, sys\nfrom langdetect import DetectorFactory, detect\n"
            "from langdetect.lang_detect_exception import LangDetectException\nDetectorFactory.seed = 0\n"
            "def one(t):\n    try:\n        return detect(t)\n    except LangDetectException:\n        return None\n"
            "print(json.dumps([one(t) for t in json.load(sys.stdin)]))")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def test_verdicts_are_plain_seeded_langdetects():
    detect_language.cache_clear()
    assert [detect_language(t) for t in TEXTS] == plain_langdetect(TEXTS)


def test_the_cache_changes_no_verdict():
    detect_language.cache_clear()
    fresh = [detect_language(t) for t in TEXTS]
    assert [detect_language(t) for t in TEXTS] == fresh  # now answered from the cache
    assert detect_language.cache_info().hits >= len(set(TEXTS))


def test_same_text_same_language_every_time():
    first = detect_language(AMBIGUOUS)
    for _ in range(20):
        detect_language.cache_clear()  # detect afresh, not from the cache
        assert detect_language(AMBIGUOUS) == first


def test_same_language_in_a_fresh_process():
    code = f"from instructune.evaluate.ifeval.language import detect_language as d; print(d({AMBIGUOUS!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == detect_language(AMBIGUOUS)


def test_undetectable_text_passes_and_global_seed_untouched():
    assert detect_language("123 456 !!!") is None
    assert response_language("123 456 !!!", language="fr")  # as in IFEval
    assert response_language(TEXTS[1], language="fr") and not response_language(TEXTS[1], language="de")
    assert DetectorFactory.seed is None  # the seed lives on instructune's own factory


def test_a_stock_factory_agrees_in_process():
    """The same answers from a second private factory built the documented way."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    for text in TEXTS[:8]:
        d = factory.create()
        d.append(text)
        try:
            expected = d.detect()
        except LangDetectException:
            expected = None
        assert detect_language(text) == expected, text
