"""startend:* — an exact closing phrase, and a response wrapped in double quotes."""

from __future__ import annotations


def end_checker(response: str, *, end_phrase: str) -> bool:
    """The response ends with `end_phrase` (case-insensitive; outer space and double quotes
    around the whole response ignored)."""
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def quotation(response: str) -> bool:
    """The response (outer space ignored) starts and ends with a double quote."""
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'
