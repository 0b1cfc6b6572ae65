"""Every pair of rewrite types that `conflicts.py` allows composes: on each sample where both
fit, the rewritten response passes both checkers, strictly."""

from __future__ import annotations

import random
from itertools import combinations

from instructune.augment.augmenter import Augmenter
from instructune.augment.conflicts import CONFLICTS, conflict
from instructune.augment.types import TYPES
from instructune.config import ConstraintAugmentConfig

from augment_samples import SAMPLES

REWRITES = sorted(t for t, spec in TYPES.items() if spec.how != "generate")


def test_every_allowed_pair_composes_and_passes_both_checks():
    aug = Augmenter(ConstraintAugmentConfig())
    composed, failed = set(), {}
    for a, b in combinations(REWRITES, 2):
        if conflict(a, b):
            continue
        for record in SAMPLES:
            for seed in range(3):
                out = aug.rewrite(record, random.Random(seed), drawn=[a, b])
                if out.dropped:  # "no_fit" is fine (neither fits); a failed check is a conflict
                    if out.dropped != "no_fit":
                        failed[(a, b, record.id, seed)] = out.dropped
                    continue
                got = {c["id"] for c in out.record.meta["augment"]["constraints"]}
                if got == {a, b}:
                    composed.add((a, b))
    assert not failed, failed
    allowed = [(a, b) for a, b in combinations(REWRITES, 2) if not conflict(a, b)]
    # Pairs that never both fit a sample (e.g. the yes/no rewrite with a layout of 4+ sentences)
    # are not evidence either way; most pairs must have been composed.
    assert len(composed) >= 0.8 * len(allowed), sorted(set(allowed) - composed)


def test_each_conflict_names_two_known_types_and_a_reason():
    for pair, why in CONFLICTS.items():
        assert len(pair) == 2 and pair <= set(TYPES) and why
