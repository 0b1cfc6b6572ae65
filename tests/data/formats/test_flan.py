"""FLAN `inputs` / `targets` rows: end-of-text marker stripped, other keys kept in meta."""

from __future__ import annotations

import pytest

from instructune.data.errors import DataError
from instructune.data.formats import detect, load_records
from instructune.data.formats._fields import derived_id
from instructune.data.record import Record

ROWS = [
    {"inputs": "Translate to French: cheese", "targets": "fromage<|endoftext|>",
     "task_name": "wmt_en_fr", "template_type": "zs_opt"},
    {"inputs": "Is 7 prime? Options: yes, no", "targets": "yes"},
    {"inputs": "Premise: it rains.\nHypothesis: it is wet.\nEntailed?", "targets": "yes</s>\n"},
    {"inputs": "Answer: what is the capital of Peru?", "targets": "Lima <|endoftext|>"},
    {"inputs": "Reverse 'abc'.", "targets": "cba"},
]


def test_flan_records_exactly(write):
    path = write("flan.jsonl", ROWS)
    assert detect(path) == ("flan", "has 'inputs' and 'targets'")
    recs = load_records(path)
    assert recs[0] == Record(id=derived_id("flan", path, 1), instruction="Translate to French: cheese",
                             response="fromage",
                             source={"file": path, "line": 1, "format": "flan"},
                             meta={"task_name": "wmt_en_fr", "template_type": "zs_opt"})
    assert [r.response for r in recs] == ["fromage", "yes", "yes", "Lima ", "cba"]
    assert [r.meta for r in recs][1:] == [{}, {}, {}, {}]


def test_a_target_that_is_only_a_marker_is_empty(write):
    path = write("flan.jsonl", ROWS[:1] + [{"inputs": "x", "targets": "<|endoftext|>"}])
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.line, e.value.field) == (2, "targets") and "empty response" in e.value.message
