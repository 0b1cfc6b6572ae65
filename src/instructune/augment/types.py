"""The constraint types augmentation can add, by IFEval id: how each is met and in what order
rewrites apply.

    TYPES["startend:quotation"].how        # "transform"
    TYPES["keywords:existence"].how        # "as_is": drawn from the response, which is kept

`how`:
- "transform": the response is rewritten (`transforms.py`), in `stage` order: content, then
  layout, then framing, then case, then the wrappers (quotes, JSON) last, so that a later
  rewrite never undoes an earlier one's check;
- "as_is": drawn from the final response (`measures.py`), which already satisfies it;
- "generate": the generator writes a new response (`generated.py`); needs a generator.

A type can be both: "as_is" where the response already meets it, and answered by the
generator otherwise (`generate_draw`). The language type is so: a response already written in
French takes "reply in French" as it is; an English one needs a new answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from instructune.augment import generated, measures, transforms
from instructune.augment.languages import written_in
from instructune.data.record import Record

Draw = Callable[[str, Record, random.Random], "dict | None"]
Apply = Callable[[str, dict, Record], str]


@dataclass(frozen=True)
class ConstraintType:
    """One constraint type.

    Attributes:
        id: the IFEval instruction id whose checker verifies it.
        how: "transform", "as_is" or "generate".
        draw: (response, record, rng) → the checker's arguments (plus "_" rewrite options), or
            None where this response cannot take the constraint.
        apply: (response, arguments, record) → the rewritten response ("transform" only).
        stage: order of rewrites (lower first).
        generate_draw: the arguments when the generator answers instead (a "generate" type's
            own `draw`; set for an "as_is" type the generator can also be asked for).
        always_if: a test on the record's response; where it holds, the type is drawn for every
            copy of the record, before the random draw (a French answer's instruction should say
            "in French": drawn 1 time in 23 like the others, 36 French copies taught it twice).
    """

    id: str
    how: str
    draw: Draw
    apply: Apply | None = None
    stage: int = 0
    generate_draw: Draw | None = None
    always_if: Callable[[str], bool] | None = None

    @property
    def generates(self) -> bool:
        """Whether the generate path may draw this type."""
        return self.how == "generate" or self.generate_draw is not None

    def draw_for_generation(self, response: str, record: Record, rng: random.Random) -> dict | None:
        return (self.generate_draw or self.draw)(response, record, rng)


def _t(id: str, draw: Draw, apply: Apply, stage: int) -> ConstraintType:
    return ConstraintType(id, "transform", draw, apply, stage)


TYPES: dict[str, ConstraintType] = {t.id: t for t in (
    _t("punctuation:no_comma", transforms.draw_no_comma, transforms.apply_no_comma, 10),
    _t("detectable_format:number_bullet_lists", transforms.draw_bullets, transforms.apply_bullets, 20),
    _t("detectable_format:multiple_sections", transforms.draw_sections, transforms.apply_sections, 20),
    _t("length_constraints:number_paragraphs", transforms.draw_paragraphs, transforms.apply_paragraphs, 20),
    _t("length_constraints:nth_paragraph_first_word", transforms.draw_nth_first_word,
       transforms.apply_nth_first_word, 20),
    _t("detectable_format:number_highlighted_sections", transforms.draw_highlights, transforms.apply_highlights, 25),
    _t("detectable_format:constrained_response", transforms.draw_yes_no, transforms.apply_yes_no, 30),
    _t("detectable_format:title", transforms.draw_title, transforms.apply_title, 31),
    _t("detectable_content:postscript", transforms.draw_postscript, transforms.apply_postscript, 32),
    _t("startend:end_checker", transforms.draw_end_phrase, transforms.apply_end_phrase, 33),
    _t("combination:repeat_prompt", transforms.draw_repeat, transforms.apply_repeat, 34),
    _t("change_case:english_lowercase", transforms.draw_nothing, transforms.apply_lowercase, 40),
    _t("change_case:english_capital", transforms.draw_nothing, transforms.apply_uppercase, 40),
    _t("startend:quotation", transforms.draw_nothing, transforms.apply_quotation, 50),
    _t("detectable_format:json_format", transforms.draw_json_key, transforms.apply_json, 50),
    ConstraintType("keywords:existence", "as_is", measures.draw_keywords),
    ConstraintType("keywords:frequency", "as_is", measures.draw_keyword_frequency),
    ConstraintType("keywords:forbidden_words", "as_is", measures.draw_forbidden),
    ConstraintType("keywords:letter_frequency", "as_is", measures.draw_letter_frequency),
    ConstraintType("length_constraints:number_words", "as_is", measures.draw_word_count),
    ConstraintType("length_constraints:number_sentences", "as_is", measures.draw_sentence_count),
    ConstraintType("change_case:capital_word_frequency", "as_is", measures.draw_capital_words),
    ConstraintType("language:response_language", "as_is", measures.draw_response_language,
                   generate_draw=generated.draw_language,
                   always_if=lambda response: written_in(response) is not None),
    ConstraintType("combination:two_responses", "generate", generated.draw_two_responses),
    ConstraintType("detectable_content:number_placeholders", "generate", generated.draw_placeholders),
)}
