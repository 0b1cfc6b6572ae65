"""The starter dataset that ships with instructune: original instruction/response pairs over
ten task categories, split into `train` and `heldout` (written for this project).

Refer to it from a config as "starter:train" / "starter:heldout".
"""

from __future__ import annotations

from pathlib import Path

STARTER_DIR = Path(__file__).parent / "starter"
SPLITS = ("train", "heldout")


def resolve_input(name: str) -> str:
    """A file path for an input name: "starter:SPLIT" names a shipped split, anything else is a path."""
    if name.startswith("starter:"):
        split = name.split(":", 1)[1]
        if split not in SPLITS:
            raise ValueError(f"unknown starter split {split!r}; allowed: {', '.join(SPLITS)}")
        return str(STARTER_DIR / f"{split}.jsonl")
    return name
