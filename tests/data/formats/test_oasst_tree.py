"""OpenAssistant tree export → conversations: best path vs all paths, language filter,
deleted / unreviewed skipping, located errors."""

from __future__ import annotations

import pytest
from oasst_fixture import tree_rows

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.data.formats import detect, iter_outcomes, load_records
from instructune.data.record import Record, Turn


def test_best_path_record_exactly(write):
    path = write("trees.jsonl", tree_rows())
    assert detect(path) == ("oasst_tree", "has 'message_tree_id' and 'prompt'")
    recs = load_records(path)
    # t1: a2 (rank 0) beats a1 / a5; p2 is answered, p3 is not; a3 (rank 0); a4 is deleted.
    # t2: German, kept (no language filter). t3: its only reply is deleted → no record.
    assert recs == [
        Record(id="a3", instruction="And 3+3?", response="6",
               history=[Turn("user", "What is 2+2?"), Turn("assistant", "Four.")],
               source={"file": path, "line": 1, "format": "oasst_tree"},
               meta={"lang": "en", "message_tree_id": "t1"}),
        Record(id="b1", instruction="Hallo?", response="Hallo! Wie geht's?",
               source={"file": path, "line": 2, "format": "oasst_tree"},
               meta={"lang": "de", "message_tree_id": "t2"}),
    ]


@pytest.mark.parametrize("opts, ids", [
    (ReaderConfig(), ["a3", "b1"]),
    (ReaderConfig(oasst_paths="all"), ["a1", "a3", "b1"]),
    (ReaderConfig(oasst_paths="all", keep_deleted=True), ["a1", "a3", "a4", "b1", "s1"]),
    (ReaderConfig(oasst_paths="all", keep_unreviewed=True), ["a1", "a3", "a5", "b1"]),
    (ReaderConfig(keep_deleted=True, keep_unreviewed=True), ["a3", "b1", "s1"]),
    (ReaderConfig(oasst_paths="all", languages=["en"]), ["a1", "a3"]),
    (ReaderConfig(languages=["de"]), ["b1"]),
    (ReaderConfig(languages=["fr"]), []),
])
def test_paths_and_filters(write, opts, ids):
    assert [r.id for r in load_records(write("trees.jsonl", tree_rows()), options=opts)] == ids


def test_all_paths_histories(write):
    recs = load_records(write("trees.jsonl", tree_rows()), options=ReaderConfig(oasst_paths="all"))
    assert [(r.instruction, r.response, len(r.history)) for r in recs] == [
        ("What is 2+2?", "4", 0), ("And 3+3?", "6", 2), ("Hallo?", "Hallo! Wie geht's?", 0)]


def test_filtered_messages_are_counted_not_rejected(write):
    outs = list(iter_outcomes(write("trees.jsonl", tree_rows()), options=ReaderConfig(languages=["en"])))
    assert [o.error for o in outs] == [None, None, None]
    assert [o.skipped for o in outs] == [{"deleted": 1, "unreviewed": 1}, {"language": 1},
                                         {"deleted": 1, "no assistant reply": 1}]


@pytest.mark.parametrize("change, field, words", [
    (lambda t: t["prompt"]["replies"][1].pop("text"), "prompt.replies[1].text", "missing"),
    (lambda t: t["prompt"]["replies"][1].update(role="bot"), "prompt.replies[1].role", "unknown role"),
    (lambda t: t["prompt"]["replies"][1].update(rank="first"), "prompt.replies[1].rank", "expected an integer"),
    (lambda t: t["prompt"]["replies"][1]["replies"][0]["replies"][0].update(text=" "),
     "prompt.replies[1].replies[0].replies[0].text", "empty response"),
    (lambda t: t["prompt"]["replies"][1]["replies"][0].update(role="assistant"),
     "prompt.replies[1].replies[0].role", "must be answered by the other role"),
    (lambda t: t["prompt"].update(deleted="no"), "prompt.deleted", "expected true, false or null"),
])
def test_errors_name_line_and_nested_field(write, change, field, words):
    rows = tree_rows()
    change(rows[0])
    path = write("trees.jsonl", [rows[1], rows[0]])
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.path, e.value.line, e.value.field) == (path, 2, field)
    assert words in e.value.message


def test_size_limit_names_the_record_field(write):
    rows = tree_rows()
    rows[0]["prompt"]["replies"][1]["text"] = "Four, " + "really " * 20
    with pytest.raises(DataError) as e:
        load_records(write("trees.jsonl", rows), options=ReaderConfig(max_chars=100))
    assert (e.value.line, e.value.field) == (1, "history")  # the long turn is history in a3's record
