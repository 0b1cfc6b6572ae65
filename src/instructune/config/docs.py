"""Field documentation, read from the config dataclasses' docstrings (their Attributes sections).

The docstrings are the one place a field is documented; `instructune config --explain` and the
generated `ingest` reader flags both read them from here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml


def field_docs(cls: type) -> dict[str, str]:
    """`name: text` entries of a dataclass docstring's Attributes section, joined per field."""
    docs: dict[str, str] = {}
    name = None
    for line in (cls.__doc__ or "").split("Attributes:", 1)[-1].splitlines():
        head, sep, text = line.strip().partition(": ")
        if sep and head.isidentifier() and line.startswith(" " * 8) and not line.startswith(" " * 12):
            name, docs[head] = head, text
        elif name and line.strip():
            docs[name] += " " + line.strip()
    return docs


def _value(v: Any) -> str:
    """A value as YAML writes it on one line (`[starter:train]`, `''`, `null`)."""
    return yaml.safe_dump(v, default_flow_style=True, width=10_000).removesuffix("...\n").strip()


def explain(section: Any, prefix: str = "") -> list[str]:
    """Two lines per field of `section` and its subsections: `key: value`, then its doc, indented.

    Args:
        section: a config dataclass instance (a whole `Config`, or one section).
        prefix: the dotted key of `section` ("train."), "" at the top.
    """
    docs = field_docs(type(section))
    lines: list[str] = []
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if dataclasses.is_dataclass(value):
            lines += explain(value, f"{prefix}{f.name}.")
        else:
            lines += [f"{prefix}{f.name}: {_value(value)}", f"    {docs.get(f.name, '(undocumented)')}"]
    return lines
