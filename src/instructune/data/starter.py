"""The starter dataset that ships with instructune: original instruction/response pairs over
ten task categories, split into `train` and `heldout` (written for this project).

Refer to it from a config as "starter:train" / "starter:heldout".
"""

from __future__ import annotations

import difflib
from pathlib import Path

from instructune.data.errors import DataError

STARTER_DIR = Path(__file__).parent / "starter"
SPLITS = ("train", "heldout")


def resolve_input(name: str) -> str:
    """A file path for an input name: "starter:SPLIT" names a shipped split, anything else is a path.

    Raises:
        DataError: an unknown split, naming the nearest one (a typo should not cost a traceback).
    """
    if name.startswith("starter:"):
        split = name.split(":", 1)[1]
        if split not in SPLITS:
            near = difflib.get_close_matches(split, SPLITS, n=1)
            hint = f"did you mean starter:{near[0]}? " if near else ""
            raise DataError(name, f"unknown starter split {split!r}; {hint}"
                                  f"allowed: {', '.join('starter:' + s for s in SPLITS)}")
        return str(STARTER_DIR / f"{split}.jsonl")
    return name
