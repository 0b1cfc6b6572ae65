"""Validators for instruction arguments: each takes the raw JSON value and returns the value to
check with, or raises `ValueError` saying what is wrong."""

from __future__ import annotations

from typing import Any

from instructune.evaluate.ifeval.relation import RELATIONS


def count(value: Any) -> int:
    """A whole number ≥ 0 (3 or 3.0; not True, not "3")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a whole number, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"expected a number ≥ 0, got {value!r}")
    return int(value)


def positive(value: Any) -> int:
    """A whole number ≥ 1."""
    n = count(value)
    if n < 1:
        raise ValueError(f"expected a number ≥ 1, got {n}")
    return n


def relation(value: Any) -> str:
    """"less than" or "at least"."""
    if value not in RELATIONS:
        raise ValueError(f"expected one of {', '.join(map(repr, RELATIONS))}, got {value!r}")
    return value


def text(value: Any) -> str:
    """A string with more than whitespace, stripped (IFEval strips keywords, phrases, markers)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def text_list(value: Any) -> list[str]:
    """A non-empty list of non-empty strings."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected a non-empty list of strings, got {value!r}")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(text(item))
        except ValueError as e:
            raise ValueError(f"item {i}: {e}") from None
    return out


def letter(value: Any) -> str:
    """Exactly one character, lower-cased (IFEval counts letters case-insensitively)."""
    if not isinstance(value, str) or len(value.strip()) != 1:
        raise ValueError(f"expected a single character, got {value!r}")
    return value.strip().lower()


def language(value: Any) -> str:
    """A language code langdetect can return ("en", "fr", "zh-cn", ...)."""
    from instructune.evaluate.ifeval.language import known_languages  # loads profiles: only when needed

    code = text(value)
    if code not in known_languages():
        raise ValueError(f"unknown language code {code!r}; langdetect knows: {', '.join(sorted(known_languages()))}")
    return code
