"""punctuation:no_comma."""

from __future__ import annotations


def no_comma(response: str) -> bool:
    """The response has no ASCII comma."""
    return "," not in response
