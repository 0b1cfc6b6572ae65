"""FLAN chain-of-thought TSV (question, answer, rationale): with or without a header,
errors naming the line and the column."""

from __future__ import annotations

import pytest

from instructune.data.errors import DataError
from instructune.data.formats import detect, iter_outcomes, load_records
from instructune.data.formats._fields import derived_id
from instructune.data.record import Record

LINES = [
    "Tom has 3 apples and eats 1. How many are left?\t2\tTom starts with 3 apples. 3 - 1 = 2.",
    'Is "level" a palindrome?\tyes\tReversed, "level" reads "level".',
    "What is 6 x 7?\t42\t6 x 7 = 42.",
    "A train goes 60 km in 1 hour. How far in 3 hours?\t180 km\t60 x 3 = 180.",
    "Which is larger, 0.5 or 0.45?\t0.5\t0.50 > 0.45.",
]


def test_no_header_records_exactly(write):
    path = write("cot.tsv", "\n".join(LINES) + "\n")
    assert detect(path) == ("flan_cot", "tab-separated with 3 columns (question, answer, rationale), no header row; "
                           r"\n, \t and \\ in a field are decoded")
    recs = load_records(path)
    assert recs[1] == Record(id=derived_id("flan_cot", path, 2), instruction='Is "level" a palindrome?', response="yes",
                             rationale='Reversed, "level" reads "level".',
                             source={"file": path, "line": 2, "format": "flan_cot"})
    assert [r.response for r in recs] == ["2", "yes", "42", "180 km", "0.5"]


def test_header_sets_the_column_order(write):
    swapped = ["\t".join((q, r, a)) for q, a, r in (line.split("\t") for line in LINES)]
    path = write("cot.tsv", "question\trationale\tanswer\r\n" + "\r\n".join(swapped) + "\r\n")
    assert detect(path) == ("flan_cot", "tab-separated, with a header row question, rationale, answer; "
                           r"\n, \t and \\ in a field are decoded")
    recs = load_records(path)
    assert [r.response for r in recs] == ["2", "yes", "42", "180 km", "0.5"]
    assert recs[0].rationale == "Tom starts with 3 apples. 3 - 1 = 2." and recs[0].source["line"] == 2


@pytest.mark.parametrize("bad, field, words", [
    (b"Only a question\t42", "rationale", "missing: expected 3 tab-separated columns, got 2"),
    (b"q\ta\tr\textra", None, "too many columns"),
    (b"q\t \tr", "answer", "empty response"),
    (b"q\ta\tr\xff", "rationale", "invalid UTF-8"),
])
def test_errors_name_line_and_column(write, tmp_path, bad, field, words):
    path = tmp_path / "cot.tsv"
    path.write_bytes(("\n".join(LINES[:2]) + "\n").encode() + bad + b"\n")
    with pytest.raises(DataError) as e:
        load_records(str(path))
    assert (e.value.path, e.value.line, e.value.field) == (str(path), 3, field)
    assert words in e.value.message
    (out,) = [o for o in iter_outcomes(str(path)) if o.error]
    assert out.raw == bad.decode("utf-8", errors="replace")  # the raw line, for the rejects file


def test_size_limit_names_the_column(write):
    from instructune.config import ReaderConfig

    path = write("cot.tsv", "\n".join(LINES) + "\n")
    with pytest.raises(DataError) as e:
        load_records(path, options=ReaderConfig(max_chars=70))
    assert (e.value.line, e.value.field) == (1, "question")
    assert e.value.message.startswith("record too long: 84 characters, over the limit of 70")


def test_escapes_are_decoded(write):
    # As in FLAN's aqua/creak/ecqa/qasc/sensemaking files: a newline inside a field is written
    # as backslash + n (a TSV line cannot hold a real one).
    question = r"Which is larger?\nOptions:\n(A) 300\n(B) 400"
    rationale = r"Compare:\t300 < 400. A path C:\\new keeps its backslash; \frac is not an escape."
    path = write("cot.tsv", f"{question}\t(B)\t{rationale}\n")
    (rec,) = load_records(path)
    assert rec.instruction == "Which is larger?\nOptions:\n(A) 300\n(B) 400"
    assert rec.rationale == "Compare:\t300 < 400. A path C:\\new keeps its backslash; \\frac is not an escape."
    assert rec.response == "(B)"


def test_explain_says_escapes_are_decoded(write):
    from instructune.data.formats import FORMATS, explain

    path = write("cot.tsv", "\n".join(LINES) + "\n")
    assert r"\n, \t and \\ in a field are decoded" in explain(path).reason
    assert r"\n, \t and \\ in a field are decoded" in FORMATS["flan_cot"].needs
