"""language:response_language, and the language detection the English-case checks share.

Detection is langdetect's (what IFEval uses) through its public API, seeded, on a private
`DetectorFactory`: the same text always gets the same language, the same one `langdetect.detect`
gives with `DetectorFactory.seed = 0`, and no other langdetect user in the process is affected.
As in IFEval, a text langdetect cannot read (no letters) counts as following the instruction.

langdetect is the slowest part of scoring (several ms a text), and one response is asked about
more than once: by each language-bearing instruction of its prompt, strictly and in its loose
variants, and again when base and tuned models give the same reply. Verdicts are therefore
cached by text; the cache changes no verdict, since a seeded detector gives one answer per text.
"""

from __future__ import annotations

import functools

from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import ErrorCode, LangDetectException

SEED = 0
CACHED_TEXTS = 8192  # distinct texts remembered; a 300-prompt suite for three models asks about ~1,000


@functools.lru_cache(maxsize=1)
def _factory() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(SEED)
    return factory


def known_languages() -> list[str]:
    """The ISO 639-1 codes (plus zh-cn / zh-tw) langdetect can return."""
    return _factory().get_lang_list()


@functools.lru_cache(maxsize=CACHED_TEXTS)
def detect_language(text: str) -> str | None:
    """The language langdetect (seeded) finds in `text`, or None when it finds nothing to go on.

    Args:
        text: any text.

    Returns:
        A code such as "en", "fr", "zh-cn" ("unknown" when no language passes 0.1); None for text
        without letters (langdetect raises there).
    """
    detector = _factory().create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException as e:
        if e.get_code() != ErrorCode.CantDetectError:  # only "No features in text." means undetectable
            raise
        return None


def response_language(response: str, *, language: str) -> bool:
    """The whole response is in `language` (undetectable text passes, as in IFEval).

    Args:
        response: the model's response.
        language: an ISO 639-1 code, e.g. "fr".
    """
    found = detect_language(response)
    return found is None or found == language
