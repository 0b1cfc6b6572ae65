"""Streaming JSON arrays element by element (values split across read chunks), and per-row
errors that name the line or index and the field."""

from __future__ import annotations

import json

import pytest

from instructune.data import jsonio
from instructune.data.errors import DataError
from instructune.data.jsonio import iter_json_rows
from instructune.data.rows import iter_raw_rows

VALUES = [
    {"instruction": "Café ☕ — naïve \"quotes\" and \\ backslash", "output": "ok"},
    123456789012345,
    {"nested": [1, 2.5e-3, [True, None, {"deep": "é" * 40}]], "n": -0.25},
    "a plain string with , commas ] and [ brackets",
    [],
    {"instruction": "last", "output": "😀 emoji spans four bytes"},
]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_array_streams_the_same_values_whatever_the_chunk(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", chunk)
    path = tmp_path / "a.json"
    path.write_text("\ufeff  [\n" + ",\n  ".join(json.dumps(v, ensure_ascii=False) for v in VALUES) + "\n]\n",
                    encoding="utf-8")
    rows = list(iter_raw_rows(path))
    assert [r.value for r in rows] == VALUES
    assert [r.loc for r in rows] == [{"index": i} for i in range(len(VALUES))]
    assert rows[3].text == json.dumps(VALUES[3])  # the element's own text, for reject files


def test_empty_array_and_jsonl_blank_lines(tmp_path):
    (tmp_path / "e.json").write_text(" [ ] ")
    assert list(iter_json_rows(tmp_path / "e.json")) == []
    (tmp_path / "b.jsonl").write_text('{"a": 1}\n\n  \n{"a": 2}\r\n')
    assert list(iter_json_rows(tmp_path / "b.jsonl")) == [({"line": 1}, {"a": 1}), ({"line": 4}, {"a": 2})]


@pytest.mark.parametrize("content, index, words", [
    (b'[{"a": 1}, {"a": 2} {"a": 3}]', 2, "expected ',' or ']'"),
    (b'[{"a": 1}, {"a": }]', 1, "invalid JSON: Expecting value"),
    (b'[{"a": 1}, {"a": 2}', 2, "expected ',' or ']' after element, got 'end of file'"),
])
def test_broken_array_stops_naming_the_index(tmp_path, monkeypatch, content, index, words):
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 4)
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as e:
        list(iter_raw_rows(path))
    assert e.value.index == index and words in e.value.message


def test_extra_data_after_the_array(tmp_path):
    (tmp_path / "x.json").write_bytes(b'[{"a": 1}] {"b": 2}')
    with pytest.raises(DataError, match="extra data after the closing"):
        list(iter_raw_rows(tmp_path / "x.json"))


@pytest.mark.parametrize("array", [False, True])
def test_invalid_utf8_spoils_one_row_and_names_the_field(tmp_path, array):
    rows = [b'{"instruction": "a", "output": "b"}',
            b'{"instruction": "a", "meta": {"tags": ["x", "caf\xe9"]}, "output": "b"}',
            b'{"instruction": "c", "output": "d"}']
    path = tmp_path / ("u.json" if array else "u.jsonl")
    path.write_bytes(b"[" + b",".join(rows) + b"]" if array else b"\n".join(rows))
    got = list(iter_raw_rows(path))
    assert [r.error is None for r in got] == [True, False, True]
    err = got[1].error
    assert (err.line, err.index, err.field) == ((None, 1) if array else (2, None)) + ("meta.tags[1]",)
    assert err.message == "invalid UTF-8: byte 0xe9"
    assert "caf\ufffd" in got[1].text  # readable in a reject file


def test_bad_json_line_is_one_row_error(tmp_path):
    (tmp_path / "j.jsonl").write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    got = list(iter_raw_rows(tmp_path / "j.jsonl"))
    assert [r.value for r in got] == [{"a": 1}, None, {"a": 3}]
    assert str(got[1].error) == f"{tmp_path / 'j.jsonl'}:2: invalid JSON: Expecting value (column 7)"
