"""The constraint types: one list in the config and the augmenter, several phrasings each, and
phrasings kept apart from the wording of the shipped IF prompts the eval uses."""

from __future__ import annotations

import json
import random
import re
from importlib import resources

import pytest

from instructune.augment.phrasings import PHRASINGS, fields, phrase
from instructune.augment.types import TYPES
from instructune.config.augment import CONSTRAINT_TYPES
from instructune.evaluate.ifeval.registry import INSTRUCTIONS


def test_the_config_and_the_augmenter_know_the_same_types():
    assert set(CONSTRAINT_TYPES) == set(TYPES) == set(PHRASINGS)
    assert set(TYPES) <= set(INSTRUCTIONS)  # every one is verified by an eval checker


@pytest.mark.parametrize("type_id", sorted(TYPES))
def test_every_type_has_several_phrasings(type_id):
    assert len(PHRASINGS[type_id]) >= 2


def _grams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_no_phrasing_shares_four_words_in_a_row_with_a_shipped_if_prompt():
    """The eval's prompts must not be learned by heart from the training data: a phrasing's own
    words (placeholders left out) share no 4-word run with any shipped prompt."""
    shipped = resources.files("instructune.evaluate.ifeval").joinpath("prompts.jsonl").read_text()
    prompt_grams = set().union(*(_grams(json.loads(line)["prompt"]) for line in shipped.splitlines()))
    shared = {}
    for type_id, templates in PHRASINGS.items():
        for t in templates:
            for literal in re.split(r"\{[a-z_]+\}", t):
                if common := _grams(literal) & prompt_grams:
                    shared[t] = sorted(" ".join(g) for g in common)
    assert not shared, shared


def test_a_phrasing_names_the_drawn_values():
    kw = {"keyword": "yeast", "frequency": 2, "relation": "less than"}
    text = phrase("keywords:frequency", kw, random.Random(0))
    assert "yeast" in text and "fewer than 2" in text
    assert fields({"forbidden_words": ["very", "just"], "_key": "x"})["words"] == '"very" and "just"'
    assert "_key" not in fields({"_key": "x"})
