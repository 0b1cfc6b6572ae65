"""language:response_language, and the language detection the English-case checks share.

Detection is langdetect's (what IFEval uses) on a private, seeded detector factory: the same
text always gets the same language, and no other langdetect user in the process is affected.
As in IFEval, a text langdetect cannot read (no letters) counts as following the instruction.
"""

from __future__ import annotations

import functools

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException


@functools.lru_cache(maxsize=1)
def _factory() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)  # langdetect samples n-grams at random; a fixed seed fixes the verdict
    return factory


def known_languages() -> list[str]:
    """The ISO 639-1 codes (plus zh-cn / zh-tw) langdetect can return."""
    return _factory().get_lang_list()


# Verdicts for one response are checked on up to eight loose variants, often equal; detection
# costs ~2 ms, so equal texts are detected once.
@functools.lru_cache(maxsize=4096)
def detect_language(text: str) -> str | None:
    """The language langdetect finds in `text`, or None when it finds no features to go on.

    Args:
        text: any text.

    Returns:
        A code such as "en", "fr", "zh-cn"; None for text without letters.
    """
    detector = _factory().create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException:
        return None


def response_language(response: str, *, language: str) -> bool:
    """The whole response is in `language` (undetectable text passes, as in IFEval).

    Args:
        response: the model's response.
        language: an ISO 639-1 code, e.g. "fr".
    """
    found = detect_language(response)
    return found is None or found == language
