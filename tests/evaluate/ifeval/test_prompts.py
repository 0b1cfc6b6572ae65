"""The prompt set shipped with instructune."""

from __future__ import annotations

import hashlib
from collections import Counter

from instructune.evaluate.ifeval import INSTRUCTIONS, SHIPPED_PROMPTS, load_prompts


def test_shipped_set_loads_and_covers_every_type_at_least_four_times():
    prompts = load_prompts()  # validates every id and every kwargs set against its checker
    assert len(prompts) >= 300
    counts = Counter(iid for p in prompts for iid in p.instruction_id_list)
    assert set(counts) == set(INSTRUCTIONS)
    assert min(counts.values()) >= 4, counts.most_common()[-3:]
    assert sum(len(p.instruction_id_list) >= 2 for p in prompts) >= len(prompts) // 2


def test_shipped_set_is_the_default_and_keys_and_prompts_are_unique():
    prompts = load_prompts()
    assert prompts == load_prompts(SHIPPED_PROMPTS)
    assert len({p.key for p in prompts}) == len({p.prompt for p in prompts}) == len(prompts)


def test_repeat_prompt_arguments_are_the_request_itself():
    for p in load_prompts():
        for iid, kwargs in zip(p.instruction_id_list, p.kwargs):
            if iid == "combination:repeat_prompt":
                assert p.prompt.startswith(kwargs["prompt_to_repeat"] + "\n"), p.key


# sha256 of the set's first 129 lines: the set every published IF figure was measured on (its
# prompts are taken first, so eval.ifeval_max_prompts=N keeps meaning what it meant). Add prompts
# at the end; never edit, drop or reorder these.
FIRST_129 = "d5b19a824f2d2a3c88d90fbfefce03cc1d2b3e3c94b48cd28e01480122864187"


def test_the_first_129_prompts_are_the_measured_set_unchanged():
    lines = SHIPPED_PROMPTS.read_bytes().splitlines(keepends=True)
    assert hashlib.sha256(b"".join(lines[:129])).hexdigest() == FIRST_129
