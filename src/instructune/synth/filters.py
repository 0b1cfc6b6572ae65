"""Filters that keep generated data new, usable and honest; each names its reason.

Self-Instruct candidates (Wang et al., 2023) are rejected for: length out of bounds
(`too_short`, `too_long`), a start that is not a letter or digit (`bad_start`), a word a
text-only model cannot act on (`blocklist`: image, file, draw, ...; the list is
`self_instruct.blocklist`), or ROUGE-L above a threshold against any instruction already in
the pool (`rouge`).

Evol-Instruct evolutions (Xu et al., 2023) are eliminated when the evolved prompt copies the
rewriting prompt's own wording (`copied_prompt`: its headers, or a run of `ECHO_WORDS` words of
the request), the model refused (`refusal`), it adds no
information over its parent (`no_new_info`), it is already known (`duplicate`), or its
response is too short (`response_too_short`) or nonsensical (`response_nonsense`).

Every check returns a `Reject(reason, detail)` or None, so callers count reasons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The project's one ROUGE-L (also used by evaluation and dedup), so thresholds agree.
from instructune.data.rouge import RougeIndex, rouge_l_tokens, tokens

# The scaffolding of our rewriting prompts (synth/prompts.py: "Original task:", "Harder task:",
# "New task:") and the headers other Evol-Instruct prompts use, which models trained on their
# output repeat.
COPIED_WORDING = ("original task", "harder task", "new task:", "#rewritten prompt#", "#given prompt#",
                  "#created prompt#", "given prompt", "rewritten prompt", "created prompt", "new prompt",
                  "original prompt")
# A run of this many words of the rewriting request in an evolved prompt is an echo of it.
ECHO_WORDS = 4
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


class RougePool:
    """Instructions seen so far, for "is this candidate a near-copy of any of them?".

    Only members that share enough tokens with a candidate to exceed the threshold are
    scored (`data.rouge.RougeIndex`), so thousands of instructions stay cheap.

    Args:
        threshold: a candidate with ROUGE-L > threshold against any member is a near-copy.
    """

    def __init__(self, threshold: float = 0.7):
        self.threshold = threshold
        self.texts: list[str] = []
        self._index = RougeIndex()

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, text: str) -> None:
        """Put `text` in the pool."""
        self.texts.append(text)
        self._index.add(tokens(text))

    def extend(self, texts: Iterable[str]) -> None:
        for t in texts:
            self.add(t)

    def best_above(self, text: str) -> tuple[float, str] | None:
        """The most similar member whose ROUGE-L with `text` exceeds the threshold.

        Returns:
            (score, member text), or None when no member is above the threshold.
        """
        hit = self._index.best(tokens(text), self.threshold, strict=True)
        return (hit[1], self.texts[hit[0]]) if hit else None


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


def echoed_request_check(text: str, request: str, parent: str, n: int = ECHO_WORDS) -> Reject | None:
    """`copied_prompt` when `text` holds `n` consecutive words of the rewriting request that the
    parent's own text does not: the model repeated the instructions it was given ("it may grow by
    20 words at most") instead of, or besides, writing a new prompt. Unlike `COPIED_WORDING` it
    follows whatever the prompt says, so a reworded prompt is checked as strictly as the old one.

    Args:
        text: the evolved prompt (instruction, then context on a line of its own).
        request: the user message that asked for it (`synth/prompts.py`).
        parent: the parent's instruction and context, likewise (words it had are no echo).
        n: words in a run.
    """
    def runs(t: str) -> set[tuple[str, ...]]:  # within a line: a run across two fields is no echo
        out = set()
        for line in t.splitlines():
            toks = tokens(line)
            out.update(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))
        return out

    hit = (runs(text) & runs(request)) - runs(parent)
    return Reject("copied_prompt", " ".join(min(hit))) if hit else None


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
