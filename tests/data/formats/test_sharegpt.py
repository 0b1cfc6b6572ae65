"""ShareGPT `conversations` of `from` / `value` → records with history and system prompt."""

from __future__ import annotations

import pytest

from instructune.data.errors import DataError
from instructune.data.formats import detect, load_records
from instructune.data.formats._fields import derived_id
from instructune.data.record import Record, Turn

ROWS = [
    {"id": "c1", "conversations": [
        {"from": "system", "value": "Answer briefly."},
        {"from": "human", "value": "Capital of Italy?"}, {"from": "gpt", "value": "Rome."},
        {"from": "human", "value": "And of Spain?"}, {"from": "gpt", "value": "Madrid."}]},
    {"id": "c2", "conversations": [{"from": "user", "value": "Say hi."}, {"from": "assistant", "value": "Hi!"}]},
    {"conversations": [{"from": "human", "value": "2+2?"}, {"from": "chatgpt", "value": "4"}]},
]


def test_sharegpt_records_exactly(write):
    path = write("sg.jsonl", ROWS)
    assert detect(path) == ("sharegpt", "has a 'conversations' list")
    recs = load_records(path)
    assert recs[0] == Record(id="c1", instruction="And of Spain?", response="Madrid.", system="Answer briefly.",
                             history=[Turn("user", "Capital of Italy?"), Turn("assistant", "Rome.")],
                             source={"file": path, "line": 1, "format": "sharegpt"})
    assert [(r.id, r.instruction, r.response, r.history, r.system) for r in recs[1:]] == [
        ("c2", "Say hi.", "Hi!", [], None), (derived_id("sharegpt", path, 3), "2+2?", "4", [], None)]


@pytest.mark.parametrize("conv, field, words", [
    ([{"from": "human", "value": "hi"}, {"from": "robot", "value": "x"}], "conversations[1].from", "unknown speaker"),
    ([{"from": "human", "value": "hi"}, {"from": "gpt", "value": ""}], "conversations[1].value", "empty response"),
    ([{"from": "gpt", "value": "hi"}, {"from": "human", "value": "x"}], "conversations", "must end with"),
    ([{"from": "human", "value": "hi"}, {"value": "x"}], "conversations[1].from", "missing"),
])
def test_errors_name_the_turn(write, conv, field, words):
    path = write("sg.jsonl", ROWS[:1] + [{"conversations": conv}])
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.line, e.value.field) == (2, field) and words in e.value.message
