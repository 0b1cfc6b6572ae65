"""The registry holds IFEval's 25 ids with IFEval's argument names, and validates arguments."""

from __future__ import annotations

import pytest

from instructune.evaluate.ifeval import GROUPS, INSTRUCTIONS, InstructionError, make_prompt, resolve_kwargs

IFEVAL_ARGUMENTS = {
    "keywords:existence": ["keywords"],
    "keywords:frequency": ["keyword", "frequency", "relation"],
    "keywords:forbidden_words": ["forbidden_words"],
    "keywords:letter_frequency": ["letter", "let_frequency", "let_relation"],
    "language:response_language": ["language"],
    "length_constraints:number_sentences": ["num_sentences", "relation"],
    "length_constraints:number_paragraphs": ["num_paragraphs"],
    "length_constraints:number_words": ["num_words", "relation"],
    "length_constraints:nth_paragraph_first_word": ["num_paragraphs", "nth_paragraph", "first_word"],
    "detectable_content:number_placeholders": ["num_placeholders"],
    "detectable_content:postscript": ["postscript_marker"],
    "detectable_format:number_bullet_lists": ["num_bullets"],
    "detectable_format:constrained_response": [],
    "detectable_format:number_highlighted_sections": ["num_highlights"],
    "detectable_format:multiple_sections": ["section_spliter", "num_sections"],
    "detectable_format:json_format": [],
    "detectable_format:title": [],
    "combination:two_responses": [],
    "combination:repeat_prompt": ["prompt_to_repeat"],
    "startend:end_checker": ["end_phrase"],
    "startend:quotation": [],
    "change_case:capital_word_frequency": ["capital_frequency", "capital_relation"],
    "change_case:english_capital": [],
    "change_case:english_lowercase": [],
    "punctuation:no_comma": [],
}


def test_ids_and_argument_names_are_ifevals():
    assert {iid: sorted(spec.params) for iid, spec in INSTRUCTIONS.items()} == \
        {iid: sorted(names) for iid, names in IFEVAL_ARGUMENTS.items()}
    assert GROUPS == ("keywords", "language", "length_constraints", "detectable_content", "detectable_format",
                      "combination", "startend", "change_case", "punctuation")


def test_values_are_normalised():
    assert resolve_kwargs("keywords:frequency", {"keyword": " tide ", "frequency": 3.0, "relation": "at least"}) == \
        {"keyword": "tide", "frequency": 3, "relation": "at least"}
    assert resolve_kwargs("keywords:letter_frequency", {"letter": "Q", "let_frequency": 1,
                                                        "let_relation": "less than"})["letter"] == "q"
    assert resolve_kwargs("punctuation:no_comma", None) == {}


@pytest.mark.parametrize("iid, kwargs, field, message", [
    ("keywords:frequency", {"keyword": "x", "frequency": 2.5, "relation": "at least"}, "frequency", "whole number"),
    ("keywords:frequency", {"keyword": "x", "frequency": -1, "relation": "at least"}, "frequency", "≥ 0"),
    ("keywords:frequency", {"keyword": "x", "frequency": True, "relation": "at least"}, "frequency", "whole number"),
    ("keywords:existence", {"keywords": []}, "keywords", "non-empty list"),
    ("keywords:existence", {"keywords": ["ok", " "]}, "keywords", "item 1: expected a non-empty string"),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 0}, "num_paragraphs", "≥ 1"),
    ("detectable_content:postscript", {"postscript_marker": 3}, "postscript_marker", "expected a string"),
])
def test_invalid_values_name_the_argument(iid, kwargs, field, message):
    with pytest.raises(InstructionError) as err:
        resolve_kwargs(iid, kwargs)
    assert err.value.field == field and message in err.value.message


def test_unknown_id_lists_the_allowed_ones():
    with pytest.raises(InstructionError) as err:
        make_prompt(1, "x", ["punctuation:no_comma", "detectable_format:haiku"])
    assert err.value.field == "instruction_id_list[1]"
    assert "unknown instruction id 'detectable_format:haiku'" in err.value.message
    assert all(iid in err.value.message for iid in INSTRUCTIONS)
