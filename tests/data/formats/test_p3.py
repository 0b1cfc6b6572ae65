"""P3 / T0 `prompt` / `completion` rows: the trailing `<|endoftext|>` is stripped."""

from __future__ import annotations

import pytest

from instructune.data.errors import DataError
from instructune.data.formats import detect, load_records
from instructune.data.formats._fields import derived_id
from instructune.data.record import Record

ROWS = [
    {"prompt": "Extract the answer.\nQuestion: who built it?\nContext: Ann built the shed.\n",
     "completion": "Ann<|endoftext|>"},
    {"prompt": "Question: what colour is the sky?\nAnswer:", "completion": " blue<|endoftext|>"},
    {"prompt": "Is this review positive? 'Great food.'", "completion": "yes<|endoftext|>"},
    {"prompt": "Complete: one, two,", "completion": " three"},
    {"prompt": "Name a fruit.", "completion": "pear<|endoftext|>", "id": "p-5"},
]


def test_p3_records_exactly(write):
    path = write("p3.jsonl", ROWS)
    assert detect(path) == ("p3", "has 'prompt' and 'completion'")
    recs = load_records(path)
    assert recs[0] == Record(id=derived_id("p3", path, 1), instruction=ROWS[0]["prompt"], response="Ann",
                             source={"file": path, "line": 1, "format": "p3"})
    assert [r.response for r in recs] == ["Ann", " blue", "yes", " three", "pear"]
    assert recs[4].id == "p-5" and recs[4].meta == {}


def test_p3_wrong_type_names_the_field(write):
    path = write("p3.json", ROWS[:2] + [{"prompt": ["a"], "completion": "b"}], array=True)
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.index, e.value.field, e.value.message) == (2, "prompt", "expected a string, got list")
