"""The shared text measurements: words, sentences, paragraphs, lines, JSON bodies, case."""

from __future__ import annotations

import pytest

from instructune.text import (count_words, is_lowercase, is_uppercase, json_body, json_error, lines,
                              paragraphs, sentences, words)


def test_words_keep_contractions_and_hyphens_whole():
    assert words("Don't stop, e-mail me 3.5 times!") == ["Don't", "stop", "e-mail", "me", "3.5", "times"]


def test_count_words_counts_word_character_runs_like_ifeval():
    # \w+ runs: Don / t / stop / e / mail / me / 3 / 5 / times; any script counts.
    assert count_words("Don't stop, e-mail me 3.5 times!") == 9
    assert count_words("Café déjà vu") == 3
    assert count_words("  \n ") == 0


@pytest.mark.parametrize("text, expected", [
    ("Prices rose. Shoppers complained.", ["Prices rose.", "Shoppers complained."]),
    ("Wait! Really? Yes.", ["Wait!", "Really?", "Yes."]),
    ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
    ("Version 2.5 shipped in 2024. It works.", ["Version 2.5 shipped in 2024.", "It works."]),
    ("Dr. Lee met J. Smith at noon. They talked.", ["Dr. Lee met J. Smith at noon.", "They talked."]),
    ("Bring fruit, e.g. Apples or pears. Thanks.", ["Bring fruit, e.g. Apples or pears.", "Thanks."]),
    ("it rained. then it stopped.", ["it rained. then it stopped."]),  # no capital: one sentence
    ("", []),
])
def test_sentences(text, expected):
    assert sentences(text) == expected


def test_paragraphs_split_on_blank_lines_even_with_spaces():
    assert paragraphs("One\nstill one\n\nTwo\n \t\nThree\n\n\n") == ["One\nstill one", "Two", "Three"]
    assert paragraphs("\n\n") == []


def test_lines_drop_blank_ones():
    assert lines(" a \n\n  \nb") == ["a", "b"]


@pytest.mark.parametrize("text, error", [
    ('{"a": 1}', None),
    ('```json\n{"a": 1}\n```', None),
    ('```JSON\n[1, 2]```', None),
    ('```\n"just a string"\n```', None),
    ('```python\n{"a": 1}\n```', "Expecting value"),  # only json tags (or none) are stripped
    ("name: Ann", "Expecting value"),
    ('{"a": 1} trailing', "Extra data"),
])
def test_json_error(text, error):
    assert json_error(text) == error


def test_json_body_strips_fence_and_space():
    assert json_body('  ```json\n{"a": 1}\n```  ') == '{"a": 1}'


def test_case_needs_a_cased_letter():
    assert is_uppercase("HELLO, WORLD 42!") and not is_uppercase("Hello") and not is_uppercase("42")
    assert is_lowercase("hello, world 42!") and not is_lowercase("hello World") and not is_lowercase("42")


def test_sentences_in_other_scripts():
    assert len(sentences("Осьминоги умные. У них три сердца. Они меняют цвет.")) == 3
    assert len(sentences("Éric est là. Élodie aussi.")) == 2


def test_sentences_keep_the_text_between_joined_pieces():
    assert sentences("See Dr.\nLee today. Bye.") == ["See Dr.\nLee today.", "Bye."]
