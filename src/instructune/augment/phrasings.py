"""How each constraint is asked for: several phrasings per type, all our own, so that no single
wording is learned in place of the constraint. A test keeps them apart from the wording of the
shipped IF prompts (`evaluate/ifeval/prompts.jsonl`), which the eval uses. They are written
afresh, not as rewordings of the instruction descriptions IFEval's library generates: a
phrasing states the same constraint (that is the checker's contract) in a sentence of its own.

    phrase("punctuation:no_comma", {}, rng)            # "Avoid the comma character entirely."

Templates are `str.format` strings over the checker's arguments and a few derived fields
(`fields`): {fewer_or_more} reads a relation, {words} lists keywords, {language_name} names a
language code, {yes_answer} / {no_answer} are the fixed sentences the checker looks for.
"""

from __future__ import annotations

import random

from instructune.augment.languages import NAMES
from instructune.evaluate.ifeval.detectable_format import CONSTRAINED_RESPONSES

PHRASINGS: dict[str, tuple[str, ...]] = {
    "change_case:english_lowercase": (
        "Keep every letter of the reply lowercase; no capitals anywhere.",
        "Reply in English using small letters exclusively.",
        "From the first letter to the last, lowercase only.",
    ),
    "change_case:english_capital": (
        "Type the whole reply in uppercase English.",
        "Every letter you write should be a capital letter.",
        "Reply in English, shouting: uppercase letters throughout.",
    ),
    "change_case:capital_word_frequency": (
        "Your all-caps words (like NOTE or NEVER) should number {fewer_or_more} {capital_frequency}.",
        "Have {fewer_or_more} {capital_frequency} all-caps words in the reply.",
    ),
    "punctuation:no_comma": (
        "Avoid the comma character entirely.",
        "Write this without a single comma.",
        "Commas are off limits in your reply.",
    ),
    "startend:quotation": (
        "Put a double quote at the very start and the very end of your reply.",
        "Present the reply as one quoted passage, opening and closing with a double quote.",
    ),
    "startend:end_checker": (
        "The reply's last sentence is given; write it as is: {end_phrase}",
        "Stop right after writing, verbatim, this last sentence: {end_phrase}",
        "Make \"{end_phrase}\" the last thing you write.",
    ),
    "detectable_content:postscript": (
        "Once the answer is done, tack on a {postscript_marker} line.",
        "Append a short afterthought marked {postscript_marker} at the bottom.",
    ),
    "detectable_format:title": (
        "Give the reply a name and write it first, like this: <<Name of the Reply>>.",
        "Open with a heading enclosed in << and >>.",
    ),
    "detectable_format:number_highlighted_sections": (
        "Mark {num_highlights} or more passages in italics with single asterisks (*so*).",
        "Emphasise at least {num_highlights} phrases by enclosing each in single asterisks.",
    ),
    "detectable_format:multiple_sections": (
        "Break the reply into {num_sections} parts, each headed \"{section_spliter} N\" where N counts from 1.",
        "Organise what you write under {num_sections} headings: {section_spliter} 1, {section_spliter} 2 and so on.",
    ),
    "length_constraints:number_paragraphs": (
        "Write {num_paragraphs} paragraphs and put a line of three asterisks (***) between each pair.",
        "The reply needs {num_paragraphs} paragraphs, with *** standing alone between neighbouring ones.",
    ),
    "length_constraints:nth_paragraph_first_word": (
        "Use {num_paragraphs} paragraphs divided by empty lines; paragraph number {nth_paragraph} opens with "
        "the word \"{first_word}\".",
        "Lay the reply out as {num_paragraphs} blank-line-separated paragraphs, and let paragraph "
        "{nth_paragraph} begin with \"{first_word}\".",
    ),
    "detectable_format:number_bullet_lists": (
        "Format the reply as a markdown list of {num_bullets} items, each line opening with \"* \".",
        "Give {num_bullets} bulleted lines and nothing else that looks like a bullet.",
    ),
    "detectable_format:json_format": (
        "Return a JSON object and nothing outside it.",
        "The reply must parse as JSON.",
        "Package the reply as a JSON document.",
    ),
    "detectable_format:constrained_response": (
        "Start with either \"{yes_answer}\" or \"{no_answer}\" before explaining.",
        "Lead with the sentence \"{yes_answer}\" or \"{no_answer}\" as fits.",
    ),
    "combination:repeat_prompt": (
        "Open your reply by copying out my request (the first part of this message, without these rules) "
        "exactly as written, then answer it.",
        "Before the answer, restate the request verbatim, leaving out these formatting rules.",
    ),
    "combination:two_responses": (
        "Answer twice, two different ways, with ****** on its own between the answers.",
        "Write a pair of alternative replies, divided by ******.",
    ),
    "keywords:existence": (
        "Work the word(s) {words} into your reply.",
        "The reply should mention {words}.",
        "Be sure to use {words} somewhere in what you write.",
    ),
    "keywords:frequency": (
        "Mentions of \"{keyword}\" in the reply: {fewer_or_more} {frequency}.",
        "Use \"{keyword}\" {fewer_or_more} {frequency} times in total.",
    ),
    "keywords:forbidden_words": (
        "Steer clear of the word(s) {words}.",
        "Never write {words}.",
    ),
    "keywords:letter_frequency": (
        "Tally of the letter \"{letter}\" (either case) across the reply: {fewer_or_more} {let_frequency}.",
        "Mind the letter {letter}: write it {fewer_or_more} {let_frequency} times, capitals included.",
    ),
    "length_constraints:number_words": (
        "Length: {fewer_or_more} {num_words} words.",
        "The reply should run to {fewer_or_more} {num_words} words.",
    ),
    "length_constraints:number_sentences": (
        "Use {fewer_or_more} {num_sentences} sentences.",
        "Build the reply out of {fewer_or_more} {num_sentences} sentences.",
    ),
    "language:response_language": (
        "Reply only in {language_name}.",
        "Write the reply in {language_name}, with no English at all.",
    ),
    "detectable_content:number_placeholders": (
        "Leave {num_placeholders} or more blanks for the reader to fill, written as [placeholder].",
        "Where a detail is the reader's to supply, write a slot in brackets, e.g. [date]; "
        "{num_placeholders} or more such slots.",
    ),
}


def fields(kwargs: dict) -> dict:
    """The checker's arguments plus the derived fields the templates use."""
    out = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    relation = kwargs.get("relation") or kwargs.get("let_relation") or kwargs.get("capital_relation")
    if relation:
        out["fewer_or_more"] = "fewer than" if relation == "less than" else "at least"
    listed = kwargs.get("keywords") or kwargs.get("forbidden_words")
    if listed:
        quoted = [f'"{w}"' for w in listed]
        out["words"] = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    # The fixed sentences the checker looks for are its content, not our wording.
    out["yes_answer"], out["no_answer"] = CONSTRAINED_RESPONSES[:2]
    if "language" in kwargs:
        out["language_name"] = NAMES.get(kwargs["language"], kwargs["language"])
    return out


def phrase(type_id: str, kwargs: dict, rng: random.Random) -> str:
    """One phrasing of `type_id`, filled in with `kwargs`."""
    return rng.choice(PHRASINGS[type_id]).format(**fields(kwargs))
