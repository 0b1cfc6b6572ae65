"""detectable_content:* — placeholders in square brackets and a postscript."""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\[.*?\]")
# IFEval writes the two usual markers loosely: spaces after the dots allowed, "P.P.S" with or
# without a final dot. Any other marker is matched literally.
_MARKER_PATTERNS = {
    "P.P.S": r"\s*p\.\s?p\.\s?s.*$",
    "P.S.": r"\s*p\.\s?s\..*$",
}


def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    """At least `num_placeholders` square-bracketed placeholders, e.g. [city]."""
    return len(_PLACEHOLDER.findall(response)) >= num_placeholders


def postscript(response: str, *, postscript_marker: str) -> bool:
    """A line of the response contains the postscript marker (case-insensitive) — IFEval's test,
    which does not require the marker to open the line or to come last."""
    pattern = _MARKER_PATTERNS.get(postscript_marker, r"\s*" + re.escape(postscript_marker.lower()) + r".*$")
    return re.search(pattern, response.lower(), flags=re.MULTILINE) is not None
