"""Dolly rows → records: context kept apart, category → task."""

from __future__ import annotations

import pytest

from instructune.data.errors import DataError
from instructune.data.formats import detect, load_records
from instructune.data.formats._fields import derived_id
from instructune.data.record import Record

ROWS = [
    {"instruction": "When was the tower finished?", "context": "The tower was finished in 1889.",
     "response": "In 1889.", "category": "closed_qa"},
    {"instruction": "Name three primary colours.", "context": "", "response": "Red, yellow and blue.",
     "category": "open_qa"},
    {"instruction": "Summarise the note.", "context": "Meeting moved to Tuesday at 10.",
     "response": "The meeting is now Tuesday at 10.", "category": "summarization"},
    {"instruction": "Is a whale a fish?", "context": "", "response": "No, a mammal.",
     "category": "classification"},
    {"instruction": "Write a haiku about rain.", "context": "",
     "response": "Soft rain on the roof\nthe gutters hum a low tune\nnight washes the street",
     "category": "creative_writing"},
]


def test_dolly_records_exactly(write):
    path = write("dolly.jsonl", ROWS)
    assert detect(path) == ("dolly", "has 'instruction', 'response', 'context' and 'category'")
    recs = load_records(path)
    assert recs[0] == Record(id=derived_id("dolly", path, 1), instruction="When was the tower finished?",
                             context="The tower was finished in 1889.", response="In 1889.",
                             task="closed_qa", source={"file": path, "line": 1, "format": "dolly"})
    assert [r.task for r in recs] == ["closed_qa", "open_qa", "summarization", "classification",
                                      "creative_writing"]
    assert [r.context for r in recs][1:] == ["", "Meeting moved to Tuesday at 10.", "", ""]
    assert recs[4].response.count("\n") == 2


def test_dolly_json_array_locates_by_index(write):
    rows = ROWS[:2] + [{"instruction": "x", "context": "", "response": " ", "category": "open_qa"}]
    path = write("dolly.json", rows, array=True)
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.index, e.value.field, e.value.message) == (2, "response", "empty")
    assert str(e.value) == f"{path}[2]: field 'response': empty"


def test_canonical_records_are_not_taken_for_dolly(write):
    rec = Record(id="r1", instruction="i", context="c", response="r", task="t")
    assert detect(write("r.jsonl", [rec.to_dict()]))[0] == "records"
    hand_written = {"id": "r2", "instruction": "i", "context": "c", "response": "r", "rationale": "why"}
    assert detect(write("r.jsonl", [hand_written]))[0] == "records"
