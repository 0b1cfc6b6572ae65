"""combination:* — two responses separated by ******, and the request repeated first."""

from __future__ import annotations

_SEPARATOR = "******"


def two_responses(response: str) -> bool:
    """Exactly two different non-empty responses separated by ******; an empty piece is allowed
    only before the first or after the last separator."""
    pieces = response.split(_SEPARATOR)
    kept = []
    for i, piece in enumerate(pieces):
        if piece.strip():
            kept.append(piece.strip())
        elif 0 < i < len(pieces) - 1:
            return False
    return len(kept) == 2 and kept[0] != kept[1]


def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """The response starts with the request, word for word (case and outer space ignored)."""
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())
