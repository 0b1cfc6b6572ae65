"""eval_items.json's per-item scores: one (ids, num, den) layout for every figure."""

import math

from instructune.evaluate.ifeval.check import Verdict
from instructune.evaluate.item_scores import item_table


def verdict(key, strict, loose):
    return Verdict(key=key, prompt=f"p{key}", response="r", instruction_id_list=("a",) * len(strict),
                   follow_instruction_list=tuple(strict), follow_instruction_list_loose=tuple(loose))


def test_every_figure_is_sums_over_its_items():
    items = {"sets.heldout.response_loss": ([3.0, 5.0], [2, 4]),
             "sets.heldout.rouge_l": [0.5, 0.25], "sets.heldout.exact_match": [1.0, 0.0],
             "forgetting": {"doc_nll_sum": [10.0, 20.0, 30.0], "doc_tokens": [5, 5, 10]}}
    verdicts = [verdict(7, [True, False], [True, True]), verdict(9, [True], [True])]
    t = item_table(items, verdicts, {"sets.heldout": ["r1", "r2"]})
    assert t["sets.heldout.response_loss"] == {"ids": ["row-0", "row-1"], "num": [3.0, 5.0], "den": [2.0, 4.0]}
    assert t["sets.heldout.rouge_l"]["ids"] == ["r1", "r2"] and t["sets.heldout.rouge_l"]["den"] == [1.0, 1.0]
    assert t["forgetting"]["num"] == [10.0, 20.0, 30.0] and t["forgetting"]["den"] == [5.0, 5.0, 10.0]
    # prompt level: 0/1 per prompt; instruction level: a prompt's instructions stay together
    assert t["ifeval.prompt_level_strict"] == {"ids": ["7", "9"], "num": [0.0, 1.0], "den": [1.0, 1.0]}
    assert t["ifeval.prompt_level_loose"]["num"] == [1.0, 1.0]
    assert t["ifeval.instruction_level_strict"] == {"ids": ["7", "9"], "num": [1.0, 1.0], "den": [2.0, 1.0]}
    assert t["ifeval.instruction_level_loose"]["num"] == [2.0, 1.0]


def test_a_figure_with_a_non_finite_value_is_left_out():
    t = item_table({"sets.heldout.response_loss": ([math.nan, 1.0], [2, 2]), "sets.heldout.rouge_l": [0.5]}, [], {})
    assert list(t) == ["sets.heldout.rouge_l"]
