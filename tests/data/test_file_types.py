"""Input files by suffix: parquet, CSV / TSV with a header, gzip'd JSON and JSONL, all
streamed with errors located by file, row and column."""

from __future__ import annotations

import gzip
import json
import sys
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from instructune.data.errors import DataError
from instructune.data.formats import detect, iter_outcomes, load_records
from instructune.data.rows import iter_raw_rows

QA = [{"question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(5)]


def _parquet(path, rows, row_group_size=2):
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return str(path)


def test_parquet_rows_across_row_groups(tmp_path):
    path = _parquet(tmp_path / "qa.parquet", QA)
    assert detect(path)[0] == "question_answer"
    recs = load_records(path)
    assert [r.response for r in recs] == ["0", "2", "4", "6", "8"]
    assert recs[3].source == {"file": path, "index": 3, "format": "question_answer"}


def test_parquet_bad_row_names_row_and_column(tmp_path):
    rows = QA[:3] + [{"question": "Empty?", "answer": ""}]
    path = _parquet(tmp_path / "bad.parquet", rows)
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.index, e.value.field, e.value.message) == (3, "answer", "empty")
    assert str(e.value).startswith(f"{path}[3]: field 'answer':")


def test_not_parquet_is_one_error(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("hello")
    with pytest.raises(DataError, match="not a readable parquet file"):
        list(iter_raw_rows(path))


def test_csv_with_header_and_quoted_newlines(tmp_path):
    path = tmp_path / "pr.csv"
    path.write_text('prompt,response\n"Write two lines.","one\ntwo"\nSay hi.,Hi!\n', encoding="utf-8")
    assert detect(str(path))[0] == "prompt_response"
    a, b = load_records(str(path))
    assert (a.response, a.source["line"]) == ("one\ntwo", 2)
    assert (b.instruction, b.source["line"]) == ("Say hi.", 4)


def test_tsv_with_header(tmp_path):
    path = tmp_path / "io.tsv"
    path.write_text("input\toutput\nReverse abc.\tcba\n", encoding="utf-8")
    [r] = load_records(str(path))
    assert (r.instruction, r.response, r.source["format"]) == ("Reverse abc.", "cba", "input_output")


def test_csv_errors_name_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("question,answer\nOk?,yes\nShort?\nToo,many,cells\n", encoding="utf-8")
    outs = list(iter_outcomes(str(path)))
    assert [(o.error.line, o.error.field) if o.error else None for o in outs] == [
        None, (3, "answer"), (4, None)]
    assert outs[1].error.message == "missing" and "too many cells: 3" in outs[2].error.message


def test_csv_header_naming_a_column_twice(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("question,question\na,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="names column 'question' twice"):
        list(iter_raw_rows(path))


def test_headerless_flan_tsv_is_still_flan_cot(tmp_path):
    path = tmp_path / "gsm.tsv"
    path.write_text("Natalia sold 48 clips. How many?\t72\tShe sold 24 more.\n", encoding="utf-8")
    assert detect(str(path))[0] == "flan_cot"
    [r] = load_records(str(path))
    assert (r.response, r.rationale) == ("72", "She sold 24 more.")


@pytest.mark.parametrize("name, array", [("qa.jsonl.gz", False), ("qa.json.gz", True)])
def test_gzip_json_and_jsonl(tmp_path, name, array):
    path = tmp_path / name
    text = json.dumps(QA) if array else "".join(json.dumps(r) + "\n" for r in QA)
    path.write_bytes(gzip.compress(text.encode()))
    recs = load_records(str(path))
    assert [r.response for r in recs] == ["0", "2", "4", "6", "8"]
    assert recs[1].source.get("index" if array else "line") == (1 if array else 2)


@pytest.mark.parametrize("name", ["qa.jsonl.zst", "qa.csv.zst"])
def test_zst_json_and_csv(tmp_path, name):
    zstandard = pytest.importorskip("zstandard")  # in the dev extra: CI has it
    text = ("question,answer\n" + "".join(f"{r['question']},{r['answer']}\n" for r in QA) if ".csv" in name
            else "".join(json.dumps(r) + "\n" for r in QA))
    path = tmp_path / name
    path.write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    assert [r.response for r in load_records(str(path))] == ["0", "2", "4", "6", "8"]


def test_zst_without_zstandard_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as if not installed: the import fails
    path = tmp_path / "a.jsonl.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd")
    with pytest.raises(DataError) as e:
        list(iter_raw_rows(path))
    assert str(e.value) == (f"{path}: reading a .zst file needs the zstandard package, which is not installed; "
                            "pip install instructune[zstd], or decompress it first (zstd -d)")


def _peak_while_reading(path) -> int:
    tracemalloc.start()
    n = sum(1 for _ in iter_raw_rows(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 20_000
    return peak


ROW = {"question": "q" * 200, "answer": "a" * 200}


def test_reading_streams_gzip_and_csv(tmp_path):
    gz = tmp_path / "big.jsonl.gz"
    with gzip.open(gz, "wt") as f:
        for _ in range(20_000):
            f.write(json.dumps(ROW) + "\n")
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("question,answer\n" + f"{ROW['question']},{ROW['answer']}\n" * 20_000)
    whole = 20_000 * 400  # characters of text in either file
    assert _peak_while_reading(gz) < whole / 10
    assert _peak_while_reading(csv_path) < whole / 10


def test_reading_streams_parquet(tmp_path):
    path = _parquet(tmp_path / "big.parquet", [ROW] * 20_000, row_group_size=2_000)
    top = 0
    for i, _ in enumerate(iter_raw_rows(path)):
        if i % 500 == 0:
            top = max(top, pa.total_allocated_bytes())
    assert top < 20_000 * 400 / 3  # a few row groups at most, never the whole table


def test_reading_streams_zst(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    path = tmp_path / "big.jsonl.zst"
    with open(path, "wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as f:
        for _ in range(20_000):
            f.write((json.dumps(ROW) + "\n").encode())
    assert _peak_while_reading(path) < 20_000 * 400 / 10
