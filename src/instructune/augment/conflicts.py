"""Constraint pairs never drawn together, each with the reason.

    compatible("startend:quotation", "combination:repeat_prompt")   # False

How we know: a pair is listed when the two ask for contradictory things (all lowercase and all
capitals), when one wraps or re-lays the whole response so that the other no longer means what
it says (a title inside a JSON string, a quote before the first bullet), or when the two lay
the response out in different ways (bullets and sections). Some listed pairs would still pass
both checkers mechanically (the title regex finds <<...>> inside a JSON string); they are
listed because the instruction would contradict itself to a reader. The other direction is
tested: tests/augment/test_conflicts.py composes every pair *not* listed here on sample
responses and checks both with the strict checker, so an unlisted conflict fails the test. The
generated types pair with anything: the generator is asked for all constraints at once and the
checker decides.
"""

from __future__ import annotations

from itertools import combinations

CASE = ("change_case:english_lowercase", "change_case:english_capital")
JSON = "detectable_format:json_format"
# Rewrites that lay the whole response out in their own way.
LAYOUTS = ("detectable_format:number_bullet_lists", "detectable_format:multiple_sections",
           "length_constraints:number_paragraphs", "length_constraints:nth_paragraph_first_word")
# Anything that adds a paragraph of its own, which shifts the paragraph count of nth_paragraph.
ADDS_A_BLOCK = ("detectable_format:title", "detectable_content:postscript", "startend:end_checker",
                "combination:repeat_prompt", "detectable_format:constrained_response")

_REASONS: dict[frozenset[str], str] = {}


def _conflict(a: str, b: str, why: str) -> None:
    _REASONS[frozenset((a, b))] = why


_conflict(*CASE, "all lowercase and all capitals contradict each other")
for case in CASE:
    _conflict(case, "detectable_format:constrained_response", "the fixed answer sentence is case-sensitive")
    _conflict(case, "detectable_format:multiple_sections", "the section word is matched case-sensitively")
    _conflict(case, "combination:repeat_prompt", "the repeated request would no longer be the request as written")
for other in ("startend:quotation", "detectable_format:title", "detectable_content:postscript",
              "startend:end_checker", "combination:repeat_prompt", "detectable_format:constrained_response",
              "detectable_format:number_highlighted_sections", *LAYOUTS):
    _conflict(JSON, other, "a JSON document leaves no room outside it for framing or layout")
for a, b in combinations(LAYOUTS, 2):
    _conflict(a, b, "two different layouts of the whole response")
for other in ADDS_A_BLOCK:
    _conflict("length_constraints:nth_paragraph_first_word", other,
              "an added block changes which paragraph is the nth")
_conflict("change_case:english_capital", JSON, "the JSON key is lowercase")
_conflict("length_constraints:nth_paragraph_first_word", "detectable_format:number_highlighted_sections",
          "a highlight that opens a paragraph puts an asterisk before its first word")
_conflict("startend:quotation", "combination:repeat_prompt", "the reply must open with the request, not a quote")
_conflict("startend:quotation", "detectable_format:number_bullet_lists", "the opening quote breaks the first bullet")
_conflict("punctuation:no_comma", "combination:repeat_prompt", "a request with commas cannot be repeated without them")
_conflict("detectable_format:number_bullet_lists", "detectable_format:number_highlighted_sections",
          "a highlight inside a star-led bullet line reads as a second bullet marker")

CONFLICTS: dict[frozenset[str], str] = dict(_REASONS)


def conflict(a: str, b: str) -> str | None:
    """Why types `a` and `b` are never drawn together, or None when they may be."""
    return CONFLICTS.get(frozenset((a, b)))


def compatible(new: str, chosen: list[str]) -> bool:
    """Whether type `new` may join the types already `chosen` for a record."""
    return new not in chosen and all(conflict(new, c) is None for c in chosen)
