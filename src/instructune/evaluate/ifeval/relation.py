"""The two comparisons IFEval instructions state: "less than" and "at least"."""

from __future__ import annotations

RELATIONS = ("less than", "at least")


def compare(count: int, relation: str, threshold: int) -> bool:
    """Whether `count` satisfies `relation` against `threshold`.

    Args:
        count: what the response has.
        relation: "less than" (count < threshold) or "at least" (count ≥ threshold).
        threshold: the instruction's number.

    Returns:
        The comparison's truth.

    Raises:
        ValueError: another relation (arguments are validated on load, so this means a bug).
    """
    if relation == "less than":
        return count < threshold
    if relation == "at least":
        return count >= threshold
    raise ValueError(f"relation must be one of {RELATIONS}; got {relation!r}")
