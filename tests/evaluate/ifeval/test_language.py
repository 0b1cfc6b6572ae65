"""Language verdicts are deterministic and do not touch langdetect's global state."""

from __future__ import annotations

import subprocess
import sys

from langdetect import DetectorFactory

from instructune.evaluate.ifeval.language import detect_language

# Short, mixed text on which unseeded langdetect answers "so" about 3 times in 4 and "fr" otherwise.
AMBIGUOUS = "Hola amigo bon jour"


def test_same_text_same_language_every_time():
    detect_language.cache_clear()
    first = detect_language(AMBIGUOUS)
    for _ in range(20):
        detect_language.cache_clear()  # detect afresh, not from the cache
        assert detect_language(AMBIGUOUS) == first


def test_same_language_in_a_fresh_process():
    code = ("from instructune.evaluate.ifeval.language import detect_language as d;"
            f"print(d({AMBIGUOUS!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    detect_language.cache_clear()
    assert out == detect_language(AMBIGUOUS)


def test_undetectable_text_and_global_seed_untouched():
    assert detect_language("123 456 !!!") is None
    assert DetectorFactory.seed is None  # the seed lives on instructune's own factory
