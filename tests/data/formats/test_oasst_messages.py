"""OpenAssistant flat message list (one message a line, and the sample's nested-replies
variant) → the same conversations as the tree export."""

from __future__ import annotations

import pytest
from oasst_fixture import flat_message_rows, nested_message_rows, tree_rows

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.data.formats import detect, iter_outcomes, load_records
from instructune.data.record import Record, Turn

OPTS = [ReaderConfig(), ReaderConfig(oasst_paths="all", keep_deleted=True, keep_unreviewed=True),
        ReaderConfig(oasst_paths="all", languages=["de"])]


def _content(recs):
    return [(r.id, r.instruction, r.response, r.history, r.meta) for r in recs]


def test_flat_messages_best_path_exactly(write):
    path = write("messages.jsonl", flat_message_rows())
    assert detect(path) == ("oasst_messages", "has 'message_id', 'role', 'text' and 'parent_id'")
    recs = load_records(path)
    assert recs[0] == Record(
        id="a3", instruction="And 3+3?", response="6",
        history=[Turn("user", "What is 2+2?"), Turn("assistant", "Four.")],
        source={"file": path, "line": 5, "format": "oasst_messages"},  # a3 is the 5th message
        meta={"lang": "en", "message_tree_id": "t1"})
    assert [r.id for r in recs] == ["a3", "b1"]


@pytest.mark.parametrize("opts", OPTS)
@pytest.mark.parametrize("rows", [flat_message_rows, nested_message_rows])
def test_same_conversations_as_the_tree_export(write, rows, opts):
    trees = load_records(write("trees.jsonl", tree_rows()), options=opts)
    msgs = load_records(write("messages.jsonl", rows()), options=opts)
    assert _content(msgs) == _content(trees) and trees


def test_messages_listed_both_nested_and_flat_are_read_once(write):
    rows = nested_message_rows() + flat_message_rows()[1:]  # every non-root message twice
    assert [r.id for r in load_records(write("m.jsonl", rows))] == ["a3", "b1"]


def test_orphan_reply_names_its_line_and_parent_id(write):
    rows = flat_message_rows()
    rows[4]["parent_id"] = "nope"  # a3
    path = write("m.jsonl", rows)
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.line, e.value.field) == (5, "parent_id")
    assert "'nope' is not in the file" in e.value.message


def test_a_bad_message_rejects_its_tree_only(write):
    rows = flat_message_rows()
    rows[9]["text"] = 7  # b1, in tree t2
    outs = list(iter_outcomes(write("m.jsonl", rows)))
    assert [(o.loc, o.error and o.error.field) for o in outs] == [
        ({"line": 1}, None), ({"line": 10}, "text"), ({"line": 11}, None)]
    assert "expected a string, got int" in outs[1].error.message
    assert outs[1].raw.startswith('{"message_id": "b1"')
