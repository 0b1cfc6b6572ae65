"""Detection of every format from its first row (or the file), and `explain`'s account of
what was tried and why it did not match."""

from __future__ import annotations

import pytest
from oasst_fixture import flat_message_rows, tree_rows

from instructune.data.errors import DataError
from instructune.data.formats import FORMATS, detect, explain

FIRST_ROWS = {
    "oasst_tree": tree_rows()[0],
    "oasst_messages": flat_message_rows()[0],
    "dolly": {"instruction": "i", "context": "c", "response": "r", "category": "open_qa"},
    "records": {"id": "1", "instruction": "i", "context": "", "response": "r", "task": None, "history": []},
    "alpaca": {"instruction": "i", "input": "", "output": "o"},
    "openai": {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]},
    "sharegpt": {"conversations": [{"from": "human", "value": "u"}, {"from": "gpt", "value": "a"}]},
    "self_instruct": {"id": "s", "instruction": "i", "instances": [{"input": "", "output": "o"}]},
    "flan": {"inputs": "i", "targets": "t"},
    "p3": {"prompt": "p", "completion": "c<|endoftext|>"},
    "question_answer": {"question": "q", "answer": "a"},
    "prompt_response": {"prompt": "p", "response": "r"},
    "input_output": {"input": "i", "output": "o"},
}


def test_every_format_has_a_detection_case():
    assert set(FIRST_ROWS) | {"flan_cot"} == set(FORMATS)


@pytest.mark.parametrize("name", sorted(FIRST_ROWS))
def test_detects_each_json_format(write, name):
    assert detect(write("x.jsonl", [FIRST_ROWS[name]]))[0] == name
    assert detect(write("x.json", [FIRST_ROWS[name]], array=True))[0] == name


def test_detects_tsv(write):
    assert detect(write("x.txt", "q\ta\tr\n"))[0] == "flan_cot"


def test_explain_lists_what_was_tried_and_why(write):
    path = write("x.jsonl", [FIRST_ROWS["alpaca"]])
    found = explain(path)
    assert (found.chosen, found.reason) == ("alpaca", "has 'instruction' and 'output' and 'input'")
    assert found.seen == "fields seen: ['input', 'instruction', 'output']"
    assert found.tried == [
        ("oasst_tree", "needs 'message_tree_id' and a 'prompt' message tree"),
        ("oasst_messages", "needs 'message_id', 'role' and 'text' (one message a row)"),
        ("dolly", "needs 'instruction' and 'response' with 'category' or 'context', and no "
                  "canonical-record key (task, rationale, system, history, source, meta)"),
        ("records", "needs 'id', 'instruction' and 'response' (and no 'output')"),
    ]


def test_explain_a_file_nothing_matches(write):
    found = explain(write("x.txt", "just some prose\n"))
    assert found.chosen is None and [n for n, _ in found.tried] == list(FORMATS)
    assert found.seen == "the first row is not JSON (invalid JSON: Expecting value (column 1))"
    with pytest.raises(DataError, match=r"no known format matches; the first row is not JSON"):
        detect(write("x.txt", "just some prose\n"))


def test_empty_file(write):
    with pytest.raises(DataError, match="the file holds no rows"):
        detect(write("e.jsonl", ""))
