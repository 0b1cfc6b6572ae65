"""Parsing generated text: golden cases for instruction lists, instances and evolved prompts."""

from __future__ import annotations

import pytest

from instructune.synth.parse import (clean, parse_evolved, parse_instances, parse_instructions,
                                     parse_labelled_instances)


@pytest.mark.parametrize("reply, expected", [
    ("1. Name a colour.\n2. Add 2 and 3.\n3) List three fruits.",
     ["Name a colour.", "Add 2 and 3.", "List three fruits."]),
    ("Task 9: Write a limerick.\nTask 10: Sort the words.", ["Write a limerick.", "Sort the words."]),
    ("Here are some tasks:\n- Spell 'cat' backwards.\n* Give a synonym of happy.\n• Count the vowels.",
     ["Spell 'cat' backwards.", "Give a synonym of happy.", "Count the vowels."]),
    # a continuation line belongs to its item; a blank line ends the list (echoed prompt after it)
    ("9. Explain why the sky\nlooks blue.\n10. Name a river.\n\nWrite 5 new tasks that are different.",
     ["Explain why the sky looks blue.", "Name a river."]),
    # an instance label ends an item
    ("1. Translate the sentence.\nInput: Hello\nOutput: Bonjour\n2. Name a bird.",
     ["Translate the sentence.", "Name a bird."]),
    ("1. **Describe** a \"sunset\".\n2. \"Name a planet.\"", ['Describe a "sunset".', "Name a planet."]),
    # no markers: one instruction per line, preambles ending with ':' left out
    ("Sure, here you go:\nName a colour.\n\nWrite a haiku.", ["Name a colour.", "Write a haiku."]),
    ("15. What is the most popular planet. 16", ["What is the most popular planet."]),
    ("1. Add 2 and 3", ["Add 2 and 3"]),
    ("", []),
])
def test_parse_instructions(reply, expected):
    assert parse_instructions(reply) == expected


@pytest.mark.parametrize("reply, expected", [
    ("Input: 4, 9, 2\nOutput: 9", [("4, 9, 2", "9")]),
    ("Input: None\nOutput: Drink water.", [("", "Drink water.")]),
    ("Input: <noinput>\nOutput: x", [("", "x")]),
    ("Sure! Output: Paris", [("", "Paris")]),
    ("Input: a\nOutput: b\nInput: c\nOutput: d", [("a", "b"), ("c", "d")]),
    # the model starts a new task: the value ends there
    ("Input: cat\nOutput: chat\n\nTask: Translate dog.\nInput: dog", [("cat", "chat")]),
    ("Input: only an input", []),
    ("Input: x\nOutput:", []),
    ("nothing labelled here", []),
])
def test_parse_instances(reply, expected):
    assert parse_instances(reply) == expected


@pytest.mark.parametrize("reply, expected", [
    ("Class label: positive\nInput: I loved every minute.", [("I loved every minute.", "positive")]),
    ("Label: No.\nInput: 12", [("12", "No")]),
    ("Class label: spam\nInput: None", []),
    ("Class label: spam", []),
    ("Positive.", []),
])
def test_parse_labelled_instances(reply, expected):
    assert parse_labelled_instances(reply) == expected


@pytest.mark.parametrize("reply, with_input, expected", [
    ("Rewritten prompt: Write a poem about the sea in 8 lines.", False,
     ("Write a poem about the sea in 8 lines.", None)),
    ("#Rewritten Prompt#:\nWrite a sonnet about rain.", False, ("Write a sonnet about rain.", None)),
    # repeated headers: only the text under the first one
    ("Rewritten Prompt: A.\n\nRewritten Prompt: B.\n\nRewritten Prompt: C.", False, ("A.", None)),
    ("New prompt: \"Name a rare bird of Peru.\"", False, ("Name a rare bird of Peru.", None)),
    ("Just a plain rewrite.", False, ("Just a plain rewrite.", None)),
    ("Rewritten prompt: Summarize the table.\nInput: | a | b |\n| 1 | 2 |", True,
     ("Summarize the table.", "| a | b |\n| 1 | 2 |")),
    ("Rewritten prompt: Summarize it.", True, ("Summarize it.", None)),
    ("Rewritten prompt:", False, ("", None)),
    ("The new prompt: Is the statement a fact?", False, ("Is the statement a fact?", None)),
    ("**New Prompt:** Name a moon of Mars.", False, ("Name a moon of Mars.", None)),
    ("Here is the rewritten prompt: List two rivers.", False, ("List two rivers.", None)),
    # the headers synth/prompts.py asks for
    ("Harder task: Name two rivers of Peru and their lengths.", False,
     ("Name two rivers of Peru and their lengths.", None)),
    ("New task: Name a rare bird.\nNew task: Name a fish.", False, ("Name a rare bird.", None)),
    ("**Harder Task:** Sum the table.\nInput: | a |\n| 1 |", True, ("Sum the table.", "| a |\n| 1 |")),
])
def test_parse_evolved(reply, with_input, expected):
    assert parse_evolved(reply, with_input) == expected


def test_clean():
    assert clean('  "**Bold**  text\n here" ') == "Bold text here"
