"""`ConfigError` and the range checks each config dataclass runs on its own fields.

A section checks its fields in `__post_init__`:

    def __post_init__(self):
        check_ranges(self, {"batch_size": at_least(1), "lr": above(0)})

`check_ranges` raises `FieldError` naming the field only; `loader.from_dict` knows where the
section sits and re-raises it as a `ConfigError` with the full dotted key (`train.batch_size`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A bad config key or value; the message names the key and the allowed values."""


class CheckError(ConfigError):
    """A bad input, model name or run dir, found before anything heavy ran (`recipes/checks.py`)."""


class FieldError(ConfigError):
    """A bad value of one field of a section; `loader` prefixes the section's key.

    Attributes:
        field: the field's name within its section ("batch_size", "max_share[1]").
        detail: what was wrong and what is allowed.
    """

    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field, self.detail = field, detail


@dataclass(frozen=True)
class Range:
    """An interval of allowed numbers; None is unbounded on that side."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def __contains__(self, v: float) -> bool:
        if isinstance(v, float) and math.isnan(v):
            return False
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        return not (self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi))

    def __str__(self) -> str:
        if self.hi is None:
            return f"{'>' if self.lo_open else '>='} {self.lo:g}"
        if self.lo is None:
            return f"{'<' if self.hi_open else '<='} {self.hi:g}"
        return f"in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"


def at_least(lo: float) -> Range:
    return Range(lo=lo)


def above(lo: float) -> Range:
    return Range(lo=lo, lo_open=True)


def between(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> Range:
    return Range(lo, hi, lo_open, hi_open)


UNIT = between(0, 1)  # a share, a probability or a [0, 1] score


def check_ranges(section: Any, rules: dict[str, Range]) -> None:
    """Raise `FieldError` for the first field of `section` outside its range.

    Args:
        section: a config dataclass instance.
        rules: field name → allowed range; a list-valued field is checked element by element.
    """
    for name, allowed in rules.items():
        value = getattr(section, name)
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, v in items:
            if v not in allowed:
                where = name if i is None else f"{name}[{i}]"
                raise FieldError(where, f"got {v!r}; expected {allowed}")


def require(ok: bool, field: str, detail: str) -> None:
    """Raise `FieldError(field, detail)` unless `ok` (checks across fields)."""
    if not ok:
        raise FieldError(field, detail)
