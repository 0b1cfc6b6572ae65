"""The instructions IFEval defines, by id: what each checks and which arguments it takes.

    INSTRUCTIONS["length_constraints:number_words"].check(text, num_words=100, relation="at least")
    kwargs = resolve_kwargs("keywords:existence", {"keywords": ["tide"], "num_words": None})

Ids and argument names are IFEval's (google-research instruction_following_eval), so its
input_data.jsonl loads unchanged. Arguments IFEval would draw at random when missing are
required here: a verdict never depends on chance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from instructune.evaluate.ifeval import (change_case, combination, detectable_content, detectable_format,
                                         keywords, language, length_constraints, params, punctuation,
                                         startend)
from instructune.evaluate.ifeval.errors import InstructionError


@dataclass(frozen=True)
class Instruction:
    """One verifiable instruction type.

    Attributes:
        id: "group:name", e.g. "punctuation:no_comma".
        check: (response, **kwargs) → whether the response follows the instruction.
        params: argument name → validator (raw JSON value → value to check with).
        consistent: validated kwargs → None, or what is wrong across arguments.
    """

    id: str
    check: Callable[..., bool]
    params: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    consistent: Callable[[dict[str, Any]], str | None] | None = None

    @property
    def group(self) -> str:
        """The part before the colon ("punctuation")."""
        return self.id.split(":", 1)[0]


def _nth_within(kw: dict[str, Any]) -> str | None:
    if kw["nth_paragraph"] > kw["num_paragraphs"]:
        return f"nth_paragraph {kw['nth_paragraph']} is beyond num_paragraphs {kw['num_paragraphs']}"
    return None


INSTRUCTIONS: dict[str, Instruction] = {i.id: i for i in (
    Instruction("keywords:existence", keywords.existence, {"keywords": params.text_list}),
    Instruction("keywords:frequency", keywords.frequency,
                {"keyword": params.text, "frequency": params.count, "relation": params.relation}),
    Instruction("keywords:forbidden_words", keywords.forbidden_words, {"forbidden_words": params.text_list}),
    Instruction("keywords:letter_frequency", keywords.letter_frequency,
                {"letter": params.letter, "let_frequency": params.count, "let_relation": params.relation}),
    Instruction("language:response_language", language.response_language, {"language": params.language}),
    Instruction("length_constraints:number_sentences", length_constraints.number_sentences,
                {"num_sentences": params.count, "relation": params.relation}),
    Instruction("length_constraints:number_paragraphs", length_constraints.number_paragraphs,
                {"num_paragraphs": params.positive}),
    Instruction("length_constraints:number_words", length_constraints.number_words,
                {"num_words": params.count, "relation": params.relation}),
    Instruction("length_constraints:nth_paragraph_first_word", length_constraints.nth_paragraph_first_word,
                {"num_paragraphs": params.positive, "nth_paragraph": params.positive,
                 "first_word": params.text}, _nth_within),
    Instruction("detectable_content:number_placeholders", detectable_content.number_placeholders,
                {"num_placeholders": params.count}),
    Instruction("detectable_content:postscript", detectable_content.postscript,
                {"postscript_marker": params.text}),
    Instruction("detectable_format:number_bullet_lists", detectable_format.number_bullet_lists,
                {"num_bullets": params.count}),
    Instruction("detectable_format:constrained_response", detectable_format.constrained_response),
    Instruction("detectable_format:number_highlighted_sections", detectable_format.number_highlighted_sections,
                {"num_highlights": params.count}),
    Instruction("detectable_format:multiple_sections", detectable_format.multiple_sections,
                {"section_spliter": params.text, "num_sections": params.count}),
    Instruction("detectable_format:json_format", detectable_format.json_format),
    Instruction("detectable_format:title", detectable_format.title),
    Instruction("combination:two_responses", combination.two_responses),
    Instruction("combination:repeat_prompt", combination.repeat_prompt, {"prompt_to_repeat": params.text}),
    Instruction("startend:end_checker", startend.end_checker, {"end_phrase": params.text}),
    Instruction("startend:quotation", startend.quotation),
    Instruction("change_case:capital_word_frequency", change_case.capital_word_frequency,
                {"capital_frequency": params.count, "capital_relation": params.relation}),
    Instruction("change_case:english_capital", change_case.english_capital),
    Instruction("change_case:english_lowercase", change_case.english_lowercase),
    Instruction("punctuation:no_comma", punctuation.no_comma),
)}

GROUPS: tuple[str, ...] = tuple(dict.fromkeys(i.group for i in INSTRUCTIONS.values()))


def instruction(instruction_id: Any) -> Instruction:
    """The `Instruction` of an id.

    Args:
        instruction_id: e.g. "punctuation:no_comma" (anything else is reported, not looked up).

    Returns:
        Its entry in `INSTRUCTIONS`.

    Raises:
        InstructionError: not a string, or not an IFEval id (the message lists the allowed ids).
    """
    if not isinstance(instruction_id, str):
        raise InstructionError(f"expected an instruction id string, got {type(instruction_id).__name__}")
    if instruction_id not in INSTRUCTIONS:
        raise InstructionError(f"unknown instruction id {instruction_id!r}; allowed: {', '.join(INSTRUCTIONS)}")
    return INSTRUCTIONS[instruction_id]


def resolve_kwargs(instruction_id: str, kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate an instruction's arguments as they come from a prompts file.

    Null values are dropped (files such as the Hugging Face copy of IFEval list every argument
    name of every instruction, with nulls for the unused ones).

    Args:
        instruction_id: e.g. "keywords:frequency".
        kwargs: the raw arguments, or None for none.

    Returns:
        The validated arguments, ready for `INSTRUCTIONS[instruction_id].check(response, **kwargs)`.

    Raises:
        InstructionError: unknown id (the message lists the allowed ids), kwargs not an object,
            an unexpected or missing argument, or an invalid value (`field` names the argument).
    """
    spec = instruction(instruction_id)
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping):
        raise InstructionError(f"expected an object of arguments, got {type(kwargs).__name__}")
    given = {k: v for k, v in kwargs.items() if v is not None}
    takes = ", ".join(spec.params) or "none"
    for name in given:
        if name not in spec.params:
            raise InstructionError(f"{instruction_id} takes no argument {name!r} (it takes: {takes})", name)
    out = {}
    for name, validate in spec.params.items():
        if name not in given:
            raise InstructionError(f"missing; {instruction_id} needs: {takes}", name)
        try:
            out[name] = validate(given[name])
        except ValueError as e:
            raise InstructionError(str(e), name) from None
    if spec.consistent and (problem := spec.consistent(out)):
        raise InstructionError(problem)
    return out
