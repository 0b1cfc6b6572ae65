"""Language-check speed: the IF checks that ask langdetect, on synthetic responses.

    python bench/language_speed.py [--responses 2000] [--seed 0]

The data: the shipped prompts whose instructions detect a language (language:response_language,
change_case:english_capital, change_case:english_lowercase), recycled until there are
--responses of them, each with one synthetic response from bench/ifeval_speed.py (the same
generator: chatty first lines, markdown, capitals, lowercase, French / German / Spanish text).

What is timed (wall clock and this process's CPU time, one run each, after a warm-up that loads
langdetect's profiles):

- `check` on every (prompt, response), strict and loose, with the language cache cleared first
  (what scoring a set costs);
- the same again with the cache warm (what a second model's identical responses, or a rescore,
  costs);
- `detect_language` on each distinct text the checks asked about, once, cache cleared, next to
  plain seeded langdetect (`DetectorFactory` + `Detector.detect`) on the same texts: the floor
  without any caching.

It also prints how many detections the checks asked for and how many distinct texts they were.
Run it at two commits to compare implementations (the functions it calls exist at both).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ifeval_speed.py, the response generator

LANGUAGE_CHECKS = {"language:response_language", "change_case:english_capital", "change_case:english_lowercase"}


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call of `fn`."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def clear_cache() -> None:
    """Empty every cache the language module keeps, whatever its implementation calls them."""
    from instructune.evaluate.ifeval import language

    for name in dir(language):
        obj = getattr(language, name)
        if callable(getattr(obj, "cache_clear", None)) and name not in ("_factory", "_profile_matrix"):
            obj.cache_clear()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--responses", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    from ifeval_speed import make_response, word_pool
    from instructune.evaluate.ifeval import check, language, load_prompts

    shipped = [p for p in load_prompts() if LANGUAGE_CHECKS & set(p.instruction_id_list)]
    rng, pool = random.Random(args.seed), word_pool()
    pairs = [(p, make_response(rng, pool, p)) for p in (shipped[i % len(shipped)] for i in range(args.responses))]

    asked: list[str] = []
    real = language.detect_language

    def counting(text: str):
        asked.append(text)
        return real(text)

    language.detect_language = counting  # count what the checks ask (change_case imports it by name too)
    import instructune.evaluate.ifeval.change_case as change_case
    change_case.detect_language = counting
    for p, r in pairs[:20]:
        check(p, r)  # warm-up: profiles, imports
    asked.clear()
    clear_cache()
    cold = timed(lambda: [check(p, r) for p, r in pairs])
    calls, distinct = len(asked), list(dict.fromkeys(asked))
    warm = timed(lambda: [check(p, r) for p, r in pairs])
    language.detect_language = change_case.detect_language = real

    clear_cache()
    ours = timed(lambda: [real(t) for t in distinct])
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)

    def plain(text: str) -> str | None:
        d = factory.create()
        d.append(text)
        try:
            return d.detect()
        except LangDetectException:
            return None

    stock = timed(lambda: [plain(t) for t in distinct])
    agree = sum(real(t) == plain(t) for t in distinct)

    print(f"{len(pairs)} responses to {len(shipped)} language-checking prompts; the checks asked for "
          f"{calls} detections of {len(distinct)} distinct texts")
    print(f"check(), cache cold:       {cold[0]:7.2f} s wall ({cold[1]:.2f} s CPU)")
    print(f"check(), cache warm:       {warm[0]:7.2f} s wall ({warm[1]:.2f} s CPU)")
    print(f"detect_language, distinct: {ours[0]:7.2f} s wall ({ours[1]:.2f} s CPU), "
          f"{1000 * ours[0] / max(len(distinct), 1):.2f} ms a text")
    print(f"plain langdetect, same:    {stock[0]:7.2f} s wall ({stock[1]:.2f} s CPU), "
          f"{1000 * stock[0] / max(len(distinct), 1):.2f} ms a text")
    print(f"verdicts equal to plain langdetect: {agree} of {len(distinct)}")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall > CPU when shared)")


if __name__ == "__main__":
    sys.exit(main())
