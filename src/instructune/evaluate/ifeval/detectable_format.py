"""detectable_format:* — bullets, fixed answers, highlights, sections, JSON and titles."""

from __future__ import annotations

import re

from instructune.text import json_error

CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

# IFEval counts lines starting with "* " style bullets (a star not followed by another star) and
# lines starting with "-" (so a "---" rule counts too).
_STAR_BULLET = re.compile(r"^\s*\*[^\*].*$", flags=re.MULTILINE)
_DASH_BULLET = re.compile(r"^\s*-.*$", flags=re.MULTILINE)
_SINGLE_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_DOUBLE_HIGHLIGHT = re.compile(r"\*\*[^\n\*]*\*\*")
_TITLE = re.compile(r"<<[^\n]+>>")


def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    """Exactly `num_bullets` markdown bullet lines ("* item" or "- item")."""
    return len(_STAR_BULLET.findall(response)) + len(_DASH_BULLET.findall(response)) == num_bullets


def constrained_response(response: str) -> bool:
    """The response contains "My answer is yes.", "My answer is no." or "My answer is maybe."."""
    return any(option in response for option in CONSTRAINED_RESPONSES)


def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    """At least `num_highlights` non-empty *highlighted* sections, counted as IFEval does (a
    **bold** span counts both as its own highlight and through its inner *...* match)."""
    found = sum(1 for h in _SINGLE_HIGHLIGHT.findall(response) if h.strip("*").strip())
    found += sum(1 for h in _DOUBLE_HIGHLIGHT.findall(response) if h[2:-2].strip())
    return found >= num_highlights


def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """At least `num_sections` sections, each opened by the splitter and a number ("SECTION 2";
    case-sensitive, as in IFEval)."""
    pattern = r"\s?" + re.escape(section_spliter) + r"\s?\d+\s?"
    return len(re.split(pattern, response)) - 1 >= num_sections


def json_format(response: str) -> bool:
    """The whole response is JSON, optionally inside a ```json fence."""
    return json_error(response) is None


def title(response: str) -> bool:
    """A non-empty title in double angular brackets, e.g. <<Notes on Tides>>."""
    return any(t.lstrip("<").rstrip(">").strip() for t in _TITLE.findall(response))
