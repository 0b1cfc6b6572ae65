"""Filters that keep generated data new, usable and honest; each names its reason.

Self-Instruct candidates (Wang et al., 2023) are rejected for: length out of bounds
(`too_short`, `too_long`), a start that is not a letter or digit (`bad_start`), a word a
text-only model cannot act on (`blocklist`: image, file, draw, ...; the list is
`self_instruct.blocklist`), or ROUGE-L above a threshold against any instruction already in
the pool (`rouge`).

Evol-Instruct evolutions (Xu et al., 2023) are eliminated when the evolved prompt copies the
rewriting prompt's own wording (`copied_prompt`), the model refused (`refusal`), it adds no
information over its parent (`no_new_info`), it is already known (`duplicate`), or its
response is too short (`response_too_short`) or nonsensical (`response_nonsense`).

Every check returns a `Reject(reason, detail)` or None, so callers count reasons.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rouge_score.tokenizers import DefaultTokenizer

from instructune.data.dedup import lcs_length, position_masks

_TOKENIZER = DefaultTokenizer(use_stemmer=False)  # the tokenizer ROUGE-L uses in evaluate/metrics.py

COPIED_WORDING = ("#rewritten prompt#", "#given prompt#", "#created prompt#", "given prompt",
                  "rewritten prompt", "created prompt", "new prompt", "original prompt")
REFUSALS = ("i'm sorry", "i am sorry", "as an ai", "as a language model", "i cannot", "i can't",
            "i am unable", "i'm unable", "i apologize", "i'm not able", "i am not able")
# Words that carry no content: a response made only of these (and punctuation) is nonsense.
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been it its "
    "this that these those i you he she we they me my your our their not no yes so do does did "
    "can will would should could there here what which who how why when".split())


@dataclass(frozen=True)
class Reject:
    """Why something was rejected.

    Attributes:
        reason: a short key that is counted (e.g. "rouge", "blocklist").
        detail: what triggered it (the matched word, the near-copy and its score, ...).
    """

    reason: str
    detail: str = ""


def tokens(text: str) -> list[str]:
    """ROUGE tokens: lowercase alphanumeric words (rouge-score's default tokenizer)."""
    return _TOKENIZER.tokenize(text)


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (dedup's bit-parallel LCS)."""
    return lcs_length(a, position_masks(b), len(b))


def rouge_l_tokens(pred: list[str], ref: list[str]) -> float:
    """ROUGE-L F1 of two token lists, computed as rouge-score does (2PR / (P + R))."""
    if not pred or not ref:
        return 0.0
    lcs = _lcs(pred, ref)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(pred), lcs / len(ref)
    return 2 * p * r / (p + r)


class RougePool:
    """Instructions seen so far, for "is this candidate a near-copy of any of them?".

    Exact ROUGE-L is computed only for pool members that could exceed the threshold: ROUGE-L
    F1 is 2·LCS / (m + n) and LCS is at most the multiset overlap of the two token lists, so
    an inverted index (token → members holding it) gives every member's overlap in one pass,
    and members whose bound 2·overlap / (m + n) is not above the threshold are skipped. With
    thousands of instructions this checks a handful of members instead of all of them.

    Args:
        threshold: a candidate with ROUGE-L > threshold against any member is a near-copy.
    """

    def __init__(self, threshold: float = 0.7):
        self.threshold = threshold
        self.texts: list[str] = []
        self._tokens: list[list[str]] = []
        self._index: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, text: str) -> None:
        """Put `text` in the pool."""
        toks = tokens(text)
        i = len(self.texts)
        self.texts.append(text)
        self._tokens.append(toks)
        for tok, n in Counter(toks).items():
            self._index[tok].append((i, n))

    def extend(self, texts: Iterable[str]) -> None:
        for t in texts:
            self.add(t)

    def best_above(self, text: str) -> tuple[float, str] | None:
        """The most similar member whose ROUGE-L with `text` exceeds the threshold.

        Returns:
            (score, member text), or None when no member is above the threshold.
        """
        toks = tokens(text)
        overlap: Counter[int] = Counter()
        for tok, n in Counter(toks).items():
            for i, m in self._index.get(tok, ()):
                overlap[i] += min(n, m)
        bounds = sorted(((2 * o / (len(toks) + len(self._tokens[i])), i) for i, o in overlap.items()),
                        reverse=True)
        best: tuple[float, int] | None = None
        for bound, i in bounds:
            if bound <= self.threshold or (best and bound <= best[0]):
                break
            score = rouge_l_tokens(toks, self._tokens[i])
            if score > self.threshold and (best is None or score > best[0]):
                best = (score, i)
        return (best[0], self.texts[best[1]]) if best else None


def length_check(text: str, min_words: int, max_words: int) -> Reject | None:
    """`too_short` / `too_long` when the word count is outside [min_words, max_words]."""
    n = len(text.split())
    if n < min_words:
        return Reject("too_short", f"{n} words < {min_words}")
    if n > max_words:
        return Reject("too_long", f"{n} words > {max_words}")
    return None


def start_check(text: str) -> Reject | None:
    """`bad_start` when the text does not start with an ASCII letter or digit (list debris,
    punctuation, another script)."""
    return None if text[:1].isascii() and text[:1].isalnum() else Reject("bad_start", text[:10])


def blocklist_pattern(words: Iterable[str]) -> re.Pattern | None:
    """A regex matching any of `words` as whole words (case-insensitive); None for no words."""
    words = [w for w in words if w.strip()]
    if not words:
        return None
    alts = "|".join(r"\s+".join(map(re.escape, w.split())) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alts})\b", re.IGNORECASE)


def blocklist_check(text: str, pattern: re.Pattern | None) -> Reject | None:
    """`blocklist` naming the first blocked word found in `text`."""
    m = pattern.search(text) if pattern else None
    return Reject("blocklist", m.group(0).lower()) if m else None


class InstructionFilter:
    """The Self-Instruct candidate filter: length, start, blocklist, then ROUGE-L vs the pool.

    Args:
        threshold: ROUGE-L above which a candidate is a near-copy.
        blocklist: words (or phrases) that reject a candidate.
        min_words, max_words: allowed instruction length in words.
    """

    def __init__(self, threshold: float, blocklist: Iterable[str], min_words: int, max_words: int):
        self.pool = RougePool(threshold)
        self.pattern = blocklist_pattern(blocklist)
        self.min_words, self.max_words = min_words, max_words

    def check(self, text: str) -> Reject | None:
        """Why `text` is rejected, or None when it passes (it is not added to the pool)."""
        if r := length_check(text, self.min_words, self.max_words) or start_check(text):
            return r
        if r := blocklist_check(text, self.pattern):
            return r
        if hit := self.pool.best_above(text):
            return Reject("rouge", f"{hit[0]:.3f} vs {hit[1]!r}")
        return None


# ---------------------------------------------------------------- Evol-Instruct elimination


def copied_prompt_check(text: str) -> Reject | None:
    """`copied_prompt` when `text` repeats the rewriting prompt's wording ("given prompt", ...)."""
    low = text.lower()
    hit = next((w for w in COPIED_WORDING if w in low), None)
    return Reject("copied_prompt", hit) if hit else None


def refusal_check(text: str, max_words: int = 80) -> Reject | None:
    """`refusal` when a text of at most `max_words` words holds a refusal phrase ("I'm sorry",
    "As an AI", ...); a long answer that merely contains one is not a refusal."""
    low = text.lower().replace("’", "'")
    hit = next((p for p in REFUSALS if p in low), None)
    return Reject("refusal", hit) if hit and len(text.split()) <= max_words else None


def no_new_info_check(parent: str, child: str, max_rouge: float, min_new_words: int) -> Reject | None:
    """`no_new_info` when the child adds fewer than `min_new_words` words that are not in the
    parent, or is a near-copy of it (ROUGE-L > `max_rouge`)."""
    p, c = tokens(parent), tokens(child)
    new = len(set(c) - set(p))
    if new < min_new_words:
        return Reject("no_new_info", f"{new} new words")
    score = rouge_l_tokens(c, p)
    if score > max_rouge:
        return Reject("no_new_info", f"ROUGE-L {score:.3f} vs parent")
    return None


def response_check(response: str, min_words: int) -> Reject | None:
    """`response_too_short` below `min_words` words; `response_nonsense` when the response has
    no content words or loops (at least 20 tokens of which under a quarter are distinct)."""
    n = len(response.split())
    if n < min_words:
        return Reject("response_too_short", f"{n} words < {min_words}")
    toks = tokens(response)
    if not toks or all(t in STOPWORDS for t in toks):
        return Reject("response_nonsense", "no content words")
    if len(toks) >= 20 and len(set(toks)) / len(toks) < 0.25:
        return Reject("response_nonsense", f"{len(set(toks))} distinct of {len(toks)} tokens")
    return None
