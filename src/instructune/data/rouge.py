"""ROUGE-L over Unicode text: the one tokenizer, LCS and score the project uses.

    tokens("Größe 这是")            # ['grösse', '这', '是']
    rouge_l("the cat is on the mat", "the cat sat on the mat")  # 5/6

Evaluation (`evaluate.metrics.rouge_l`), the Self-Instruct filter (`synth.filters`) and
near-duplicate removal (`data.dedup`, method "rouge") all score with this module, so a
threshold such as 0.7 means the same thing in each.

Tokens. The text is NFKC-normalised and case-folded, then split into:
- words: runs of Unicode letters and digits (`\\w` without `_`) together with the combining
  marks inside them, so "Größe", "हिन्दी" (Devanagari vowel signs and virama are marks) and
  "كَتَبَ" (Arabic harakat) stay one token each;
- single characters for scripts written without spaces between words: CJK ideographs,
  Hiragana, Katakana, Hangul syllables, Thai, Lao, Khmer and Myanmar; each such character,
  with any combining marks after it, is its own token (per-character ROUGE is the usual
  practice for Chinese and Japanese, where no word segmenter is assumed);
- everything else (punctuation, symbols, spaces, `_`) separates tokens and is dropped.
On ASCII text this is exactly rouge-score's tokenizer (lowercase runs of [a-z0-9]), so
scores on English equal rouge-score's.

Score. ROUGE-L as rouge-score computes it: with LCS the longest common subsequence of the
token lists, precision = LCS / len(prediction), recall = LCS / len(reference),
F1 = 2PR / (P + R); 0 when either side has no tokens. The LCS is bit-parallel (one big-int
operation per token of one side), so long texts and many comparisons stay cheap.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter, defaultdict
from functools import cache
from typing import NamedTuple

# Scripts tokenised per character (code point ranges, inclusive).
_SINGLE_RANGES = (
    (0x0E00, 0x0EFF),    # Thai, Lao
    (0x1000, 0x109F),    # Myanmar
    (0x1780, 0x17FF),    # Khmer
    (0x19E0, 0x19FF),    # Khmer symbols
    (0x2E80, 0x2FDF),    # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),    # 々 〆 〇
    (0x3040, 0x30FF),    # Hiragana, Katakana (with ー)
    (0x31F0, 0x31FF),    # Katakana phonetic extensions
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xA9E0, 0xA9FF),    # Myanmar extended-B
    (0xAA60, 0xAA7F),    # Myanmar extended-A
    (0xAC00, 0xD7AF),    # Hangul syllables
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0x1AFF0, 0x1B16F),  # Kana extensions and supplement
    (0x20000, 0x323AF),  # CJK extensions B-H, compatibility supplement
)


def _char_class(ranges) -> str:
    """A regex character-class body for code point ranges."""
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


@cache
def _mark_class() -> str:
    """A regex character-class body for every combining mark (categories Mn, Mc, Me).

    Python's `re` has no `\\p{M}`, so the ranges are read from `unicodedata` once (~0.1 s).
    """
    ranges, start = [], None
    for cp in range(sys.maxunicode + 2):
        is_mark = cp <= sys.maxunicode and unicodedata.category(chr(cp))[0] == "M"
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            ranges.append((start, cp - 1))
            start = None
    return _char_class(ranges)


@cache
def _token_re() -> re.Pattern:
    """One token: a per-character-script character with its marks, or a run of word
    characters (letters, digits; not `_`, not per-character scripts) and marks."""
    single, marks = _char_class(_SINGLE_RANGES), _mark_class()
    return re.compile(f"[{single}][{marks}]*|(?:[^\\W_{single}]|[{marks}])+")


def tokens(text: str) -> list[str]:
    """ROUGE tokens of `text` (see the module docstring): NFKC, case-folded words, with one
    token per character in scripts written without spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _token_re().findall(text)


def position_masks(toks: list[str]) -> dict[str, int]:
    """For each token, the bit mask of the positions it holds in `toks`."""
    masks: dict[str, int] = {}
    for i, t in enumerate(toks):
        masks[t] = masks.get(t, 0) | (1 << i)
    return masks


def lcs_length(a: list[str], b_masks: dict[str, int], len_b: int) -> int:
    """Length of the longest common subsequence of `a` and `b`, bit-parallel over `b`.

    Args:
        a: tokens.
        b_masks: for each token of b, a bit mask of its positions in b (`position_masks`).
        len_b: len(b).
    Each token of `a` updates a bit vector V over b's positions (Allison-Dix / Hyyrö):
    V' = (V + (V & M)) | (V & ~M); the LCS is the number of zero bits left in V.
    """
    full = (1 << len_b) - 1
    v = full
    for t in a:
        u = v & b_masks.get(t, 0)
        v = ((v + u) | (v - u)) & full
    return len_b - v.bit_count()


class Score(NamedTuple):
    """ROUGE-L of a prediction against a reference (rouge-score's `Score`)."""

    precision: float
    recall: float
    fmeasure: float


def _score(lcs: int, len_pred: int, len_ref: int) -> Score:
    """P, R and F1 from an LCS length, with rouge-score's arithmetic (so floats match it)."""
    if lcs == 0:
        return Score(0.0, 0.0, 0.0)
    p, r = lcs / len_pred, lcs / len_ref
    return Score(p, r, 2 * p * r / (p + r))


def rouge_l_score(pred: list[str], ref: list[str]) -> Score:
    """ROUGE-L precision, recall and F1 of two token lists; all 0 when either is empty."""
    if not pred or not ref:
        return Score(0.0, 0.0, 0.0)
    return _score(lcs_length(pred, position_masks(ref), len(ref)), len(pred), len(ref))


def rouge_l_tokens(pred: list[str], ref: list[str]) -> float:
    """ROUGE-L F1 of two token lists."""
    return rouge_l_score(pred, ref).fmeasure


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 in [0, 1] of two texts (`tokens` on each)."""
    return rouge_l_tokens(tokens(prediction), tokens(reference))


class RougeIndex:
    """Token lists added over time; finds the one most similar to a query by ROUGE-L F1.

    Exact ROUGE-L is computed only for members that could reach the threshold: F1 is
    2·LCS / (m + n) and the LCS is at most the multiset overlap of the two token lists, so an
    inverted index (token → members holding it) gives every member's overlap in one pass, and
    members whose bound 2·overlap / (m + n) is below the threshold are skipped. With
    thousands of members this checks a handful instead of all of them.

    A member that shares no token with the query scores 0 and is never returned.
    """

    def __init__(self):
        self._lengths: list[int] = []
        self._masks: list[dict[str, int]] = []
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, toks: list[str]) -> int:
        """Add a member; returns its position (0, 1, ... in the order added)."""
        k = len(self._lengths)
        self._lengths.append(len(toks))
        self._masks.append(position_masks(toks))
        for tok, n in Counter(toks).items():
            self._postings[tok].append((k, n))
        return k

    def _bounds(self, toks: list[str]) -> list[tuple[float, int]]:
        """(upper bound on F1, position) of every member sharing a token, best bound first,
        earlier member first among equal bounds."""
        overlap: Counter[int] = Counter()
        for tok, n in Counter(toks).items():
            for k, m in self._postings.get(tok, ()):
                overlap[k] += min(n, m)
        return sorted(((2 * o / (len(toks) + self._lengths[k]), k) for k, o in overlap.items()),
                      key=lambda bk: (-bk[0], bk[1]))

    def best(self, toks: list[str], threshold: float, strict: bool = False) -> tuple[int, float] | None:
        """The member most similar to `toks` with ROUGE-L F1 at or above `threshold` (above it
        when `strict`); the earliest member on a tie.

        Returns:
            (position, F1), or None when no member is similar enough.
        """
        def enough(x: float) -> bool:
            return x > threshold if strict else x >= threshold

        best: tuple[int, float] | None = None
        for bound, k in self._bounds(toks):
            if not enough(bound) or (best is not None and bound < best[1]):
                break  # bounds only fall from here
            lcs = lcs_length(toks, self._masks[k], self._lengths[k])
            f1 = _score(lcs, len(toks), self._lengths[k]).fmeasure
            if enough(f1) and (best is None or f1 > best[1] or (f1 == best[1] and k < best[0])):
                best = (k, f1)
        return best
