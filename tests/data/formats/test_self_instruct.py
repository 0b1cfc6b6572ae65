"""Self-Instruct seed tasks: one record per instance, `name` / `is_classification` in meta."""

from __future__ import annotations

import pytest

from instructune.data.errors import DataError
from instructune.data.formats import detect, load_records
from instructune.data.record import Record

ROWS = [
    {"id": "seed_task_0", "name": "antonyms", "instruction": "Give the antonym of the word.",
     "instances": [{"input": "hot", "output": "cold"}, {"input": "up", "output": "down"}],
     "is_classification": False},
    {"id": "seed_task_1", "name": "sentiment", "instruction": "Is the review positive or negative?",
     "instances": [{"input": "Loved it.", "output": "Positive"}], "is_classification": True},
    {"id": "seed_task_2", "name": "joke", "instruction": "Tell a short joke about cats.",
     "instances": [{"input": "", "output": "Why did the cat sit on the laptop? To keep an eye on the mouse."}],
     "is_classification": False},
]


def test_one_record_per_instance_exactly(write):
    path = write("seeds.jsonl", ROWS)
    assert detect(path) == ("self_instruct", "has 'instruction' and 'instances'")
    recs = load_records(path)
    assert [r.id for r in recs] == ["seed_task_0-0", "seed_task_0-1", "seed_task_1-0", "seed_task_2-0"]
    assert recs[1] == Record(id="seed_task_0-1", instruction="Give the antonym of the word.", context="up",
                             response="down",
                             source={"file": path, "line": 1, "format": "self_instruct", "instance": 1},
                             meta={"name": "antonyms", "is_classification": False})
    assert [r.meta["is_classification"] for r in recs] == [False, False, True, False]
    assert recs[3].context == ""


@pytest.mark.parametrize("change, field", [
    (lambda r: r["instances"][1].update(output=""), "instances[1].output"),
    (lambda r: r.update(instances=[]), "instances"),
    (lambda r: r.update(is_classification="no"), "is_classification"),
])
def test_errors_name_the_instance(write, change, field):
    rows = [dict(r, instances=[dict(i) for i in r["instances"]]) for r in ROWS]
    change(rows[0])
    with pytest.raises(DataError) as e:
        load_records(write("seeds.jsonl", rows))
    assert (e.value.line, e.value.field) == (1, field)
