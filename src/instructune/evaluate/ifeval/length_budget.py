"""How many new tokens a prompt's instructions need, and the generation cap each prompt gets.

    tokens_needed(prompt)                 # "at least 300 words" → 576
    prompt_caps(prompts, fixed=0)         # per prompt: max(192, its need), rounded up to 64

A response cut off by the generation cap cannot follow "at least 300 words", however good the
model, so the eval gives each prompt at least what its instructions ask for. The need is an
estimate in English words, turned into tokens of the default tokenizer (SmolLM2's):

- length asked for: the largest of the "at least" counts (words; sentences, paragraphs,
  sections, bullets at typical lengths; keyword, letter and capital-word counts spread through
  prose), doubled when two responses are asked for; "less than" asks for nothing;
- plus what is written on top (the repeated request, a title, a postscript, the closing phrase);
- times the tokens a word takes: 1.5 in English (the default tokenizer gives 1.18 on the
  shipped general-text corpus, 1.35 on OASST answers, 1.47 on the starter set's 190 short
  English answers, 1.35 with its 8 long ones),
  2.5 in other Latin-script languages and 6 in other scripts (one-sentence samples: French,
  German, Spanish ~2; Finnish 3.3, Russian 5.4, Arabic 5.7);
- times 1.2 (margin) and 1.3 more for JSON's keys and punctuation, plus 16 tokens of slack.

Caps are rounded up to a multiple of 64 so that prompts share few distinct caps and batch well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from instructune.evaluate.ifeval.prompt import Prompt
from instructune.text import count_words

FLOOR = 192  # the fixed cap every prompt had before caps were fitted: no prompt gets less
STEP = 64  # caps are multiples of this
TOKENS_PER_WORD = 1.5  # English, the default tokenizer (measured range in the module docstring)
LATIN_TOKENS_PER_WORD = 2.5  # other languages written in Latin script
OTHER_TOKENS_PER_WORD = 6.0  # Cyrillic, Arabic, Greek, Devanagari, CJK, ...
MARGIN = 1.2
JSON_OVERHEAD = 1.3
SLACK = 16

WORDS_PER_SENTENCE = 15
WORDS_PER_PARAGRAPH = 40  # also a section's
WORDS_PER_BULLET = 12
WORDS_PER_MENTION = 10  # prose around each required mention of a keyword or capital word
WORDS_PER_LETTER = 3  # an English word holds ~0.3 of a common letter
WORDS_PER_HIGHLIGHT = 8
WORDS_PER_PLACEHOLDER = 4
POSTSCRIPT_WORDS, TITLE_WORDS = 15, 8

LATIN_SCRIPT = frozenset("af ca cs cy da de en es et fi fr hr hu id it lt lv nl no pl pt ro sk sl so sq sv sw tl tr"
                         .split())


def _length_words(instruction_id: str, kw: dict[str, Any]) -> int:
    """Words one instruction needs the response to run to (0 when it sets no minimum)."""
    at_least = kw.get("relation", kw.get("let_relation", kw.get("capital_relation"))) == "at least"
    needs = {
        "length_constraints:number_words": lambda: kw["num_words"] if at_least else 0,
        "length_constraints:number_sentences": lambda: kw["num_sentences"] * WORDS_PER_SENTENCE if at_least else 0,
        "length_constraints:number_paragraphs": lambda: kw["num_paragraphs"] * WORDS_PER_PARAGRAPH,
        "length_constraints:nth_paragraph_first_word": lambda: kw["num_paragraphs"] * WORDS_PER_PARAGRAPH,
        "detectable_format:multiple_sections": lambda: kw["num_sections"] * WORDS_PER_PARAGRAPH,
        "detectable_format:number_bullet_lists": lambda: kw["num_bullets"] * WORDS_PER_BULLET,
        "detectable_format:number_highlighted_sections": lambda: kw["num_highlights"] * WORDS_PER_HIGHLIGHT,
        "detectable_content:number_placeholders": lambda: kw["num_placeholders"] * WORDS_PER_PLACEHOLDER,
        "keywords:frequency": lambda: kw["frequency"] * WORDS_PER_MENTION if at_least else 0,
        "keywords:letter_frequency": lambda: kw["let_frequency"] * WORDS_PER_LETTER if at_least else 0,
        "change_case:capital_word_frequency": lambda: kw["capital_frequency"] * WORDS_PER_MENTION if at_least else 0,
    }
    return needs[instruction_id]() if instruction_id in needs else 0


def _added_words(instruction_id: str, kw: dict[str, Any]) -> int:
    """Words one instruction adds on top of the answer itself."""
    added = {
        "combination:repeat_prompt": lambda: count_words(kw["prompt_to_repeat"]),
        "detectable_content:postscript": lambda: POSTSCRIPT_WORDS,
        "detectable_format:title": lambda: TITLE_WORDS,
        "startend:end_checker": lambda: count_words(kw["end_phrase"]),
    }
    return added[instruction_id]() if instruction_id in added else 0


def tokens_per_word(prompt: Prompt) -> float:
    """Tokens a word of the response takes: by the language it must be written in."""
    language = next((kw["language"] for iid, kw in zip(prompt.instruction_id_list, prompt.kwargs)
                     if iid == "language:response_language"), "en")
    if language == "en":
        return TOKENS_PER_WORD
    return LATIN_TOKENS_PER_WORD if language in LATIN_SCRIPT else OTHER_TOKENS_PER_WORD


def tokens_needed(prompt: Prompt) -> int:
    """New tokens a response following every instruction of `prompt` needs (an estimate with a
    margin; see the module docstring).

    Args:
        prompt: a validated prompt.

    Returns:
        The tokens, unrounded; `SLACK` for a prompt that asks for no length.
    """
    pairs = list(zip(prompt.instruction_id_list, prompt.kwargs))
    length = max((_length_words(iid, kw) for iid, kw in pairs), default=0)
    if "combination:two_responses" in prompt.instruction_id_list:
        length *= 2
    words = length + sum(_added_words(iid, kw) for iid, kw in pairs)
    scale = tokens_per_word(prompt) * MARGIN
    if "detectable_format:json_format" in prompt.instruction_id_list:
        scale *= JSON_OVERHEAD
    return math.ceil(words * scale) + SLACK


def prompt_caps(prompts: Sequence[Prompt], fixed: int = 0) -> list[int]:
    """The generation cap of each prompt.

    Args:
        prompts: the prompt set.
        fixed: `eval.ifeval_max_new_tokens`: 0 fits each prompt (its need, at least `FLOOR`,
            rounded up to a multiple of `STEP`); N > 0 gives every prompt N, need or not.

    Returns:
        One cap per prompt, in order.
    """
    if fixed:
        return [fixed] * len(prompts)
    return [max(FLOOR, STEP * math.ceil(tokens_needed(p) / STEP)) for p in prompts]


def short_of(prompts: Sequence[Prompt], caps: Sequence[int]) -> list[Prompt]:
    """The prompts whose cap is below what their instructions need (a fixed cap can cut them)."""
    return [p for p, cap in zip(prompts, caps) if cap < tokens_needed(p)]
