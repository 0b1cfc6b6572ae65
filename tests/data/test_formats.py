"""Format readers, detection, and located errors (file, line / index, field)."""

from __future__ import annotations

import json

import pytest

from instructune.cli import main as cli
from instructune.data.errors import DataError
from instructune.data.formats import detect, load_records
from instructune.data.record import Record, Turn


def write(path, rows, array=False):
    path.write_text(json.dumps(rows) if array else "".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


ALPACA = [
    {"instruction": "Give a synonym for happy.", "input": "", "output": "Joyful."},
    {"instruction": "Summarize.", "input": "The sun is a star.", "output": "The sun is a star."},
]
MESSAGES = [
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "2+2?"},
                  {"role": "assistant", "content": "4"}]},
]


@pytest.mark.parametrize("array", [False, True])
def test_alpaca_jsonl_and_json_array(tmp_path, array):
    path = write(tmp_path / ("a.json" if array else "a.jsonl"), ALPACA, array)
    assert detect(path)[0] == "alpaca"
    recs = load_records(path)
    assert [r.instruction for r in recs] == ["Give a synonym for happy.", "Summarize."]
    assert recs[0].context == "" and recs[1].context == "The sun is a star."
    assert recs[1].response == "The sun is a star."
    assert recs[1].source == {"file": path, ("index" if array else "line"): 1 if array else 2, "format": "alpaca"}


def test_openai_messages(tmp_path):
    path = write(tmp_path / "m.jsonl", MESSAGES)
    assert detect(path)[0] == "openai"
    (rec,) = load_records(path)
    assert rec.system == "Be brief." and rec.instruction == "2+2?" and rec.response == "4"
    assert rec.history == [Turn("user", "Hi"), Turn("assistant", "Hello")]
    assert rec.is_multi_turn


def test_records_roundtrip(tmp_path):
    rec = Record(id="x", instruction="i", context="c", response="r", rationale="why", task="math",
                 system="s", history=[Turn("user", "u"), Turn("assistant", "a")], meta={"k": 1},
                 source={"file": "orig.json", "index": 3, "format": "alpaca"})
    path = write(tmp_path / "r.jsonl", [rec.to_dict()])
    assert detect(path)[0] == "records"
    assert load_records(path)[0] == rec


@pytest.mark.parametrize("content, line, field, words", [
    ('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n', 2, None, "invalid JSON"),
    ('{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n', 2, "output", "missing"),
    ('{"instruction": "a", "output": "b"}\n{"instruction": 3, "output": "b"}\n', 2, "instruction", "expected a string"),
    ('{"instruction": "a", "output": "b"}\n\n{"instruction": "a", "output": "  "}\n', 3, "output", "empty"),
])
def test_errors_name_file_line_and_field(tmp_path, content, line, field, words):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError) as e:
        load_records(str(path), "alpaca")
    err = e.value
    assert err.path == str(path) and err.line == line and err.field == field
    assert words in str(err) and f"{path}:{line}" in str(err)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"instruction": "a", "output": "b"}\n{"instruction": "\xff", "output": "b"}\n')
    with pytest.raises(DataError, match="invalid UTF-8") as e:
        load_records(str(path))
    assert e.value.line == 2


def test_array_errors_name_the_index(tmp_path):
    path = write(tmp_path / "a.json", [ALPACA[0], {"instruction": "x", "output": ""}], array=True)
    with pytest.raises(DataError) as e:
        load_records(path)
    assert e.value.index == 1 and e.value.field == "output" and "[1]" in str(e.value)


def test_openai_errors_name_the_message(tmp_path):
    path = write(tmp_path / "m.jsonl", [{"messages": [{"role": "user", "content": "hi"},
                                                      {"role": "robot", "content": "x"}]}])
    with pytest.raises(DataError) as e:
        load_records(path)
    assert e.value.field == "messages[1].role" and "allowed" in str(e.value)


def test_unknown_format_lists_fields_and_formats(tmp_path):
    path = write(tmp_path / "x.jsonl", [{"query": "q", "reply": "a"}])
    with pytest.raises(DataError, match=r"fields seen: \['query', 'reply'\].*formats tried: oasst_tree, oasst_messages, dolly, records, alpaca, openai, "
                                        r"sharegpt, self_instruct, flan, p3, question_answer, prompt_response, "
                                        r"input_output, flan_cot$"):
        detect(path)


def test_ingest_cli_writes_records_and_counts(tmp_path, capsys):
    a = write(tmp_path / "a.jsonl", ALPACA)
    m = write(tmp_path / "m.jsonl", MESSAGES)
    out = tmp_path / "records.jsonl"
    assert cli(["ingest", a, m, "--output", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 3 and rows[2]["instruction"] == "2+2?"
    assert "wrote 3 records" in capsys.readouterr().out


def test_ingest_cli_bad_input_exits_nonzero_and_keeps_existing_output(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n')
    out = tmp_path / "records.jsonl"
    out.write_text("previous\n")
    assert cli(["ingest", str(bad), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2" in err and "'output'" in err
    assert out.read_text() == "previous\n"  # nothing already written is lost
    assert not list(tmp_path.glob(".records.jsonl.*"))  # no temp file left behind


def test_starter_set_loads_with_all_categories():
    from instructune.data.inputs import load_inputs

    train, held = load_inputs(["starter:train"]), load_inputs(["starter:heldout"])
    assert len(train) >= 150 and len(held) >= 20
    tasks = {r.task for r in train}
    assert len(tasks) >= 8 and tasks == {r.task for r in held}
    assert any(r.context for r in train) and any(r.rationale for r in train)
    assert not {r.instruction for r in train} & {r.instruction for r in held}
