"""Each rewrite, exactly, on the sample records; and where a rewrite refuses a response."""

from __future__ import annotations

import json
import random

from instructune.augment import transforms as tf
from instructune.augment.verify import failures

from augment_samples import LIST, PROSE, SAMPLES, YES

PROSE_REC, LIST_REC, YES_REC = SAMPLES[0], SAMPLES[1], SAMPLES[2]


def test_case_and_commas():
    assert tf.apply_lowercase("Tea, NOT Coffee", {}, PROSE_REC) == "tea, not coffee"
    assert tf.apply_uppercase("Tea, not coffee", {}, PROSE_REC) == "TEA, NOT COFFEE"
    assert tf.apply_no_comma("It weighs 1,898 tonnes, roughly.", {}, PROSE_REC) == "It weighs 1898 tonnes; roughly."
    ask_commas = PROSE_REC.__class__(id="x", instruction="List the dates, separated by commas.", response="a, b")
    assert tf.draw_no_comma("a, b", ask_commas, random.Random(0)) is None


def test_a_list_becomes_its_own_bullets_and_prose_its_sentences():
    assert tf.draw_bullets(LIST, LIST_REC, random.Random(0)) == {"num_bullets": 4}
    assert tf.apply_bullets(LIST, {"num_bullets": 4}, LIST_REC) == (
        "* Check the tyre pressure.\n* Oil the chain.\n* Test both brakes.\n* Tighten loose bolts.")
    assert tf.draw_bullets(PROSE, PROSE_REC, random.Random(0)) == {"num_bullets": 5}
    assert tf.apply_bullets("One. Two.", {"num_bullets": 2}, PROSE_REC) == "* One.\n* Two."
    assert tf.draw_bullets("Only one sentence.", PROSE_REC, random.Random(0)) is None


def test_sections_paragraphs_and_the_nth_paragraphs_first_word():
    text = "One is here. Two is here. Three is here."
    assert tf.apply_sections(text, {"section_spliter": "Part", "num_sections": 2}, PROSE_REC) == (
        "Part 1\nOne is here. Two is here.\n\nPart 2\nThree is here.")
    assert tf.apply_paragraphs(text, {"num_paragraphs": 3}, PROSE_REC) == (
        "One is here.\n\n***\n\nTwo is here.\n\n***\n\nThree is here.")
    kw = tf.draw_nth_first_word(text, PROSE_REC, random.Random(3))
    rewritten = tf.apply_nth_first_word(text, kw, PROSE_REC)
    assert not failures("x", rewritten, [("length_constraints:nth_paragraph_first_word", kw)])
    assert tf.draw_sections("Too short.", PROSE_REC, random.Random(0)) is None


def test_highlights_wrap_whole_sentences():
    assert tf.apply_highlights("First point. Second point. Third.", {"num_highlights": 2}, PROSE_REC) == (
        "*First point.* *Second point.* Third.")


def test_framing_says_nothing_false():
    assert tf.title_of("Explain why bread dough rises.") == "Explain Why Bread Dough Rises"
    assert tf.apply_title("Body.", {}, PROSE_REC) == "<<Explain Why Bread Dough Rises>>\n\nBody."
    assert tf.apply_end_phrase("Body. ", {"end_phrase": "That covers it."}, PROSE_REC) == "Body.\n\nThat covers it."
    assert tf.apply_repeat("Body.", {"prompt_to_repeat": "Explain why bread dough rises."}, PROSE_REC) == (
        "Explain why bread dough rises.\n\nBody.")
    assert tf.apply_quotation(" Body. ", {}, PROSE_REC) == '"Body."'
    assert json.loads(tf.apply_json("Body, with a comma.", {"_key": "reply"}, PROSE_REC)) == {
        "reply": "Body, with a comma."}
    post = tf.apply_postscript("Body.", {"postscript_marker": "P.S."}, PROSE_REC)
    assert post.startswith("Body.\n\nP.S. ") and post.split("P.S. ")[1] in tf.POSTSCRIPT_NOTES
    assert tf.draw_postscript(post, PROSE_REC, random.Random(0)) is None  # never a second one


def test_only_a_yes_or_no_answer_is_restated_as_one():
    assert tf.apply_yes_no(YES, {}, YES_REC).startswith("My answer is yes.\n\nit is safe for most people.")
    assert tf.draw_yes_no(PROSE, PROSE_REC, random.Random(0)) is None
