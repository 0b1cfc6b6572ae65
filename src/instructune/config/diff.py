"""Comparing resolved configs key by key: what a resumed run, a rerun ablation cell or a cached
stage compares with what it was made from.

    changed = differences(flatten(saved), flatten(to_dict(cfg)), only=["train", "lora"])
    # ["train.lr (saved 0.001, now 0.0001)"]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested dict as one level of dotted keys: {"train": {"lr": 1}} → {"train.lr": 1}."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def under_any(name: str, keys: Iterable[str]) -> bool:
    """Whether flat key `name` is one of `keys` or sits under one of them (`a.b` is under `a`)."""
    return any(name == k or name.startswith(k + ".") for k in keys)


def differences(old: dict[str, Any], new: dict[str, Any], only: Iterable[str] | None = None,
                ignore: Iterable[str] = ()) -> list[str]:
    """'key (saved X, now Y)' for each flat key whose value differs between `old` and `new`.

    Args:
        old, new: flat configs (`flatten`); a key present in one only counts as a difference.
        only: compare just these keys and the keys under them (None: every key).
        ignore: keys (and the keys under them) never compared.
    Returns:
        One line per differing key, in `new`'s key order, then keys only `old` has.
    """
    names = list(new) + [k for k in old if k not in new]
    out = []
    for name in names:
        if (only is not None and not under_any(name, only)) or under_any(name, ignore):
            continue
        if old.get(name) != new.get(name):
            out.append(f"{name} (saved {old.get(name)!r}, now {new.get(name)!r})")
    return out
