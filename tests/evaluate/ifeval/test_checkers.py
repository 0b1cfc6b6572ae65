"""Every IFEval checker on texts that follow and texts that break its instruction."""

from __future__ import annotations

import pytest

from instructune.evaluate.ifeval import INSTRUCTIONS, check, make_prompt, resolve_kwargs

CASES = [
    # (instruction id, kwargs, response, follows)
    ("keywords:existence", {"keywords": ["flour", "jar"]}, "Feed it FLOUR in a Jar.", True),
    ("keywords:existence", {"keywords": ["flour", "jar"]}, "Feed it flour daily.", False),
    ("keywords:existence", {"keywords": ["C++"]}, "I write C++ daily.", True),  # literal, not a regex
    ("keywords:existence", {"keywords": ["3.5"]}, "Version 385 shipped.", False),  # "." is not a wildcard
    ("keywords:frequency", {"keyword": "war", "frequency": 2, "relation": "at least"}, "War and software.", True),
    ("keywords:frequency", {"keyword": "war", "frequency": 2, "relation": "at least"}, "War only.", False),
    ("keywords:frequency", {"keyword": "sorry", "frequency": 2, "relation": "less than"}, "Sorry!", True),
    ("keywords:frequency", {"keyword": "sorry", "frequency": 2, "relation": "less than"}, "Sorry, so sorry.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["rain", "wet"]}, "The drain was dry.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["rain", "wet"]}, "It will RAIN later.", False),
    ("keywords:letter_frequency", {"letter": "s", "let_frequency": 4, "let_relation": "at least"}, "Sally sells sea", True),
    ("keywords:letter_frequency", {"letter": "s", "let_frequency": 4, "let_relation": "at least"}, "Sally sells", False),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 1, "let_relation": "less than"}, "No such letter.", True),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 1, "let_relation": "less than"}, "Zebra.", False),
    ("keywords:letter_frequency", {"letter": "!", "let_frequency": 2, "let_relation": "at least"}, "Wow! Yes!", True),
    ("language:response_language", {"language": "fr"},
     "Le soleil se lève lentement sur les montagnes et la vallée se réveille.", True),
    ("language:response_language", {"language": "fr"},
     "The sun rises slowly over the mountains and the valley wakes up.", False),
    ("language:response_language", {"language": "fr"}, "12345 !!! ???", True),  # undetectable counts as followed
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, "One. Two.", True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, "One. Two. Three.", False),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "at least"}, "Dr. Lee came. He sat.", True),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "at least"}, "Dr. Lee came home.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First part.\n***\nSecond part.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\nFirst.\n***\nSecond.\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "A\n***\nB\n***\nC", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "A\n***\n \n***\nB", False),  # empty middle
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "A\n\nB", False),  # blank lines are not ***
    ("length_constraints:number_words", {"num_words": 4, "relation": "less than"}, "one two three", True),
    ("length_constraints:number_words", {"num_words": 4, "relation": "less than"}, "Don't go now", False),  # 4 words
    ("length_constraints:number_words", {"num_words": 3, "relation": "at least"}, "e-mail me", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "so"},
     "The moon turns.\n\nSo it shines.", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "so"},
     'The moon turns.\n \n"So," she said.', True),  # quotes and punctuation cut; blank line with a space
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "so"},
     "The moon turns.\n\nThen it shines.", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "so"},
     "The moon turns.\n\nSo it shines.\n\nSo there.", False),  # 3 paragraphs
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "so"},
     "The moon turns.\n\nSoon it shines.", False),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], at [address].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name].", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\n\nP.S. Bring snacks.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\n\nPS Bring snacks.", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\n\np. s. Bring snacks.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Hi.\np. p. s. late again", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Hi.\nP.S. late again", False),
    ("detectable_content:postscript", {"postscript_marker": "Note:"}, "Hi.\nnote: closed Sundays", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "Intro\n* one\n- two", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "**Bold** line\n* one\n* two", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* one\n* two\n- three", False),
    ("detectable_format:constrained_response", {}, "I thought about it. My answer is maybe.", True),
    ("detectable_format:constrained_response", {}, "Maybe.", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and *two*", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and ** here", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "**bold**", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "**bold**", False),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "SECTION 1\nIngredients\nSECTION 2\nMethod", True),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "Section 1\nIngredients\nSection 2\nMethod", False),  # case-sensitive
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2}, "SECTION 1 only", False),
    ("detectable_format:json_format", {}, '```json\n{"a": [1, 2]}\n```', True),
    ("detectable_format:json_format", {}, 'Here you go: {"a": 1}', False),
    ("detectable_format:title", {}, "<<Poem of Joy>>\nLines follow.", True),
    ("detectable_format:title", {}, "<<   >>\nLines follow.", False),
    ("detectable_format:title", {}, "<<Poem\nof Joy>>", False),
    ("combination:two_responses", {}, "Crust & Crumb\n******\nOld Grain Bakery", True),
    ("combination:two_responses", {}, "******\nCrust & Crumb\n******\nOld Grain Bakery", True),
    ("combination:two_responses", {}, "Crust & Crumb\n******\nCrust & Crumb", False),  # not different
    ("combination:two_responses", {}, "A\n******\nB\n******\nC", False),
    ("combination:two_responses", {}, "A\n******\n\n******\nB", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "write a poem. Roses are red.", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "  WRITE A POEM.\nRoses.", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "Sure! Write a poem. Roses.", False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Done. Any other questions?  ", True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"Done. any other questions?"', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Bye.", False),
    ("startend:quotation", {}, '  "Keep going, you are nearly there."\n', True),
    ("startend:quotation", {}, '"', False),
    ("startend:quotation", {}, 'He said "go".', False),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "NASA and ESA fly.", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "Nasa and Esa fly.", False),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "I love WELL-KNOWN songs.", False),  # I and WELL-KNOWN
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "We love well-known songs.", True),
    ("change_case:english_capital", {}, "THE SKY IS BLUE BECAUSE AIR SCATTERS BLUE LIGHT THE MOST.", True),
    ("change_case:english_capital", {}, "THE SKY IS BLUE because air scatters it.", False),
    ("change_case:english_capital", {}, "LE CIEL EST BLEU PARCE QUE L'AIR DIFFUSE LA LUMIÈRE BLEUE.", False),
    ("change_case:english_lowercase", {}, "the sky is blue because air scatters blue light the most.", True),
    ("change_case:english_lowercase", {}, "the sky is Blue.", False),
    ("change_case:english_lowercase", {}, "le ciel est bleu parce que l'air diffuse la lumière bleue.", False),
    ("change_case:english_lowercase", {}, "42 + 7", False),  # no letters: not lowercase
    ("punctuation:no_comma", {}, "No commas here.", True),
    ("punctuation:no_comma", {}, "Yes, one.", False),
    ("punctuation:no_comma", {}, "About 1,000 people came.", False),
]


@pytest.mark.parametrize("instruction_id, kwargs, response, follows", CASES)
def test_checker(instruction_id, kwargs, response, follows):
    assert INSTRUCTIONS[instruction_id].check(response, **resolve_kwargs(instruction_id, kwargs)) is follows


def test_every_instruction_has_a_following_and_a_breaking_case():
    seen = {(iid, follows) for iid, _, _, follows in CASES}
    assert {iid for iid, _ in seen} == set(INSTRUCTIONS)
    assert all((iid, True) in seen and (iid, False) in seen for iid in INSTRUCTIONS)


@pytest.mark.parametrize("instruction_id", ["keywords:forbidden_words", "punctuation:no_comma",
                                            "length_constraints:number_words"])
def test_an_empty_response_follows_nothing(instruction_id):
    # These three would pass on "" taken literally; IFEval counts an empty response as failing.
    kwargs = {"keywords:forbidden_words": [{"forbidden_words": ["x"]}],
              "punctuation:no_comma": [{}],
              "length_constraints:number_words": [{"num_words": 5, "relation": "less than"}]}[instruction_id]
    verdict = check(make_prompt(1, "Say something.", [instruction_id], kwargs), "  \n ")
    assert verdict.follow_instruction_list == (False,) and verdict.follow_instruction_list_loose == (False,)
