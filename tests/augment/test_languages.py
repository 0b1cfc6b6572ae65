"""A response counts as written in another language only when it is prose that langdetect
reads as that language sentence by sentence; English, code, lists and short answers never do."""

from __future__ import annotations

import pytest

from instructune.augment.languages import NAMES, names_a_language, written_in
from instructune.data.inputs import load_inputs

from augment_samples import FRENCH, PROSE

GERMAN = ("Brot geht auf, weil die Hefe den Zucker frisst und Kohlendioxid abgibt. Das Gas bleibt im "
          "Klebergerüst des Teigs hängen. Wärme macht die Hefe schneller, Kälte bremst sie.")
SPANISH = "El pan sube porque la levadura come azúcar y suelta gas. Ese gas queda atrapado en la masa."


@pytest.mark.parametrize("text, code", [(FRENCH, "fr"), (GERMAN, "de"), (SPANISH, "es")])
def test_prose_in_another_language_is_recognised(text, code):
    assert written_in(text) == code and code in NAMES


@pytest.mark.parametrize("text", [
    PROSE,                                              # English
    "Le pain lève grâce à la levure.",                  # one sentence only
    "def reverse_string(s):\n    return s[::-1]",       # code langdetect calls Danish
    "Lisbon, Madrid, Barcelona, Marseille",             # a list it calls Catalan
    "Le pain lève grâce à la levure. Bread rises because yeast eats sugar and makes gas.",  # mixed
])
def test_english_code_lists_and_mixed_text_are_not(text):
    assert written_in(text) is None


def test_only_the_starter_answers_written_in_other_languages_count():
    """langdetect alone labels 40 of the 190 short English starter answers as another language;
    the 12 answers written in other languages (training records 161-172) are the only ones found."""
    found = {r.id: written_in(r.response) for r in load_inputs(["starter:train", "starter:heldout"])
             if written_in(r.response)}
    assert found == {f"starter-train-{i:04d}": code for i, code in zip(
        range(161, 173), ["fr", "fr", "de", "de", "es", "es", "it", "it", "pt", "pt", "nl", "ru"])}


@pytest.mark.parametrize("text, named", [
    ("Explain in German how a rainbow forms.", True), ("Translate this into English.", True),
    ("Summarize the French article below.", True), ("Give three tips for a job interview.", False),
    ("polish this paragraph", False), ("Is a turkey a bird?", False)])
def test_an_instruction_naming_a_language_is_recognised(text, named):
    assert names_a_language(text) is named
