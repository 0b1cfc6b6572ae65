"""Letter case of a whole text."""

from __future__ import annotations


def is_uppercase(text: str) -> bool:
    """True when `text` has at least one cased letter and no lowercase letter ("HI 2U!")."""
    return text.isupper()


def is_lowercase(text: str) -> bool:
    """True when `text` has at least one cased letter and no uppercase letter ("hi 2u!")."""
    return text.islower()
