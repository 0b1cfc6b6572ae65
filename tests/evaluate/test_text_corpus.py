"""Reference corpora: each source, its errors, and the shipped corpus's size."""

from __future__ import annotations

import json

import pytest

from instructune.data.errors import DataError
from instructune.evaluate.text_corpus import BUILTIN, load_corpus


def test_txt_documents_are_separated_by_dashes(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("First document.\n\nIts second paragraph.\n---\nSecond one.\n  ---  \n\n---\n"
                    "Third --- not a separator.\n")
    assert load_corpus(path) == ["First document.\n\nIts second paragraph.", "Second one.",
                                 "Third --- not a separator."]


def test_jsonl_text_field(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": "One.", "id": 1}) + "\n\n" + json.dumps({"text": "Two."}) + "\n")
    assert load_corpus(str(path)) == ["One.", "Two."]


@pytest.mark.parametrize("line, message, field", [
    ('{"text": "ok"', "invalid JSON", None),
    ('{"body": "no text"}', "missing", "text"),
    ('{"text": 3}', "not a string (int)", "text"),
    ('{"text": "  "}', "empty", "text"),
    ('["text"]', "expected a JSON object", None),
])
def test_bad_jsonl_line_names_file_line_and_field(tmp_path, line, message, field):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n")
    with pytest.raises(DataError) as e:
        load_corpus(path)
    assert e.value.path == str(path) and e.value.line == 2 and e.value.field == field
    assert message in str(e.value) and str(e.value).startswith(f"{path}:2:")


def test_saved_dataset(tmp_path):
    from datasets import Dataset, DatasetDict

    ds = Dataset.from_dict({"text": ["Alpha.", "Beta."], "n": [1, 2]})
    ds.save_to_disk(str(tmp_path / "ds"))
    assert load_corpus(tmp_path / "ds") == ["Alpha.", "Beta."]
    DatasetDict({"test": ds}).save_to_disk(str(tmp_path / "dd"))
    assert load_corpus(tmp_path / "dd") == ["Alpha.", "Beta."]
    Dataset.from_dict({"body": ["x"]}).save_to_disk(str(tmp_path / "nocol"))
    with pytest.raises(DataError, match="no 'text' column"):
        load_corpus(tmp_path / "nocol")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="save_to_disk"):
        load_corpus(tmp_path / "plain")


def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "nope.txt")
    (tmp_path / "c.csv").write_text("text\nx\n")
    with pytest.raises(DataError, match="unknown corpus type"):
        load_corpus(tmp_path / "c.csv")


def test_shipped_corpus_shape():
    docs = load_corpus(None)
    assert docs == load_corpus("builtin") and BUILTIN.name == "general.txt"
    words = [len(d.split()) for d in docs]
    assert len(docs) == 50 and all(300 <= w <= 500 for w in words)
    assert sum(words) >= 15_000  # ~1.18 SmolLM2 tokens per word: ~20k tokens (checked below)
    assert len(set(docs)) == len(docs)


@pytest.mark.slow
def test_shipped_corpus_has_20k_tokens_of_the_default_model():
    from instructune.model.load import load_tokenizer

    tok = load_tokenizer("smollm2-135m-instruct")
    lengths = [len(tok(d, add_special_tokens=False)["input_ids"]) for d in load_corpus(None)]
    assert sum(lengths) >= 20_000
    assert max(lengths) <= 512  # no document is cut at the default max_length
