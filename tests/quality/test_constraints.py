"""Constraints stated in instructions, parsed and checked against responses."""

from __future__ import annotations

import pytest

from instructune.quality.constraints import count_items, parse_constraints


def one(instruction: str):
    found = parse_constraints(instruction)
    assert len(found) == 1, [c.label for c in found]
    return found[0]


@pytest.mark.parametrize("instruction, label, response, problem", [
    ("Describe autumn in 10 words.", "at most 10 words",
     "Autumn brings falling leaves, cool air, shorter days, and warm golden light everywhere.", "has 13 words"),
    ("Describe autumn in ten words.", "at most 10 words", "Leaves fall, air cools, days shorten.", None),
    ("Summarize it in under 5 words.", "at most 4 words", "A dog saves a boy.", "has 5 words"),
    ("Give a tagline of at least 6 words.", "at least 6 words", "Coffee for everyone.", "has 3 words"),
    ("Reply in exactly three words.", "exactly 3 words", "Yes, of course.", None),
    ("Is a tomato a fruit? Answer in one word.", "exactly 1 word", "Yes, it is.", "has 3 words"),
    ("Summarize the passage in one sentence.", "exactly 1 sentence",
     "Prices rose. Shoppers complained.", "has 2 sentences"),
    ("Write a two-sentence story about a lost key.", "exactly 2 sentences",
     "I lost my key. Then I found it in the fridge.", None),
    ("Write a four-line poem about rain.", "exactly 4 lines", "Rain falls\non the roof\nall night", "has 3 lines"),
    ("Write a haiku about snow.", "exactly 3 lines", "white snow\nquiet night\nstill", None),
    ("List 3 fruits.", "exactly 3 items", "1. Apple\n2. Pear", "has 2 items"),
    ("Suggest five names for a cat.", "exactly 5 items", "Tom, Luna, Milo, Coco and Nala", None),
    ("Return the name and age as JSON.", "valid JSON", "name: Ann, age: 3", "is not valid JSON (Expecting value)"),
    ("Return the name and age as JSON.", "valid JSON", '```json\n{"name": "Ann", "age": 3}\n```', None),
    ("Answer yes or no: is ice cold?", "an answer starting with yes or no", "It is cold.", "does not start with yes or no"),
    ("Rewrite the steps as a bulleted list.", "a bulleted list", "- Boil water\n- Add tea", None),
    ("Write the slogan in uppercase.", "uppercase only", "Drink More Water", "has lowercase letters"),
    ("Extract the contact. Format: Name: ..., Email: ...", "the fields Name, Email",
     "Name: Ann Lee", "lacks the field(s) Email"),
])
def test_constraint_label_and_check(instruction, label, response, problem):
    c = one(instruction)
    assert c.label == label
    assert c.check(response) == problem


@pytest.mark.parametrize("instruction", [
    "How do I convert CSV to JSON?",            # a question about JSON, not a request for it
    "Combine these two sentences into one.",    # the sentences are the input
    "Write a Python function that counts the words in a sentence.",
    "What is the capital of France?",
    "Explain the 5 stages of grief.",
])
def test_no_constraint(instruction):
    assert parse_constraints(instruction) == []


def test_several_constraints_in_one_instruction():
    labels = [c.label for c in parse_constraints("List three benefits of tea in at most 30 words, as a numbered list.")]
    assert labels == ["at most 30 words", "exactly 3 items", "a numbered list"]


@pytest.mark.parametrize("text, n", [
    ("1. a\n2. b\n3. c", 3),
    ("Here are some ideas:\n- a\n- b", 2),
    ("1. Build a fort 2. Bake cookies 3. Read", 3),
    ("red\ngreen", 2),
    ("eggs, milk, flour and salt", 4),
    ("apples; pears", 2),
])
def test_count_items(text, n):
    assert count_items(text) == n
