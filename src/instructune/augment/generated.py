"""Constraints no rewrite can meet honestly (another language than the response's, two
different answers, placeholders the answer must leave open): the generator
answers the constrained instruction and the strict checker decides (`augmenter.py`).

Their arguments are drawn without looking at the response, since a new one is written.
"""

from __future__ import annotations

import random

from instructune.augment.languages import GENERATED, names_a_language
from instructune.data.record import Record


def draw_language(response: str, record: Record, rng: random.Random) -> dict | None:
    """"Reply in L" for L drawn from `GENERATED`; None when the instruction or its context names
    a language already ("Explain in German how a rainbow forms" cannot also be answered only in
    Italian, and "translate this French text" is about French)."""
    if names_a_language(f"{record.instruction}\n{record.context}"):
        return None
    return {"language": rng.choice(sorted(GENERATED))}


def draw_two_responses(response: str, record: Record, rng: random.Random) -> dict | None:
    return {}


def draw_placeholders(response: str, record: Record, rng: random.Random) -> dict | None:
    return {"num_placeholders": rng.randint(1, 3)}

