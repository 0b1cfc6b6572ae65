"""`instructune config --explain`: every field with its value and its documentation."""

from __future__ import annotations

import dataclasses

from instructune.cli import main as cli
from instructune.config import Config, ReaderConfig
from instructune.config.docs import explain, field_docs


def leaves(section, prefix=""):
    """Dotted keys of every field; a mapping-valued field (eval.sets, addons.temperature_head.targets)
    is a field of its own."""
    for f in dataclasses.fields(section):
        v = getattr(section, f.name)
        if dataclasses.is_dataclass(v):
            yield from leaves(v, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}"


def test_every_field_is_documented():
    lines = explain(Config())
    keys = [line.split(":", 1)[0] for line in lines if not line.startswith(" ")]
    assert keys == list(leaves(Config()))
    docs = [line for line in lines if line.startswith("    ")]
    assert len(docs) == len(keys) and all(d.strip() for d in docs)  # one doc line per field, none empty


def test_explain_shows_the_resolved_value_and_the_docstring(capsys):
    assert cli(["config", "--explain", "train.lr=1e-4"]) == 0
    out = capsys.readouterr().out
    assert "train.lr: 0.0001\n    peak learning rate." in out
    assert "data.reader.max_chars: 100000\n    a record whose text" in out


def test_field_docs_joins_continuation_lines():
    docs = field_docs(ReaderConfig)
    assert docs["languages"] == ("keep only OpenAssistant messages whose `lang` is in this list (e.g. [en, de]); "
                                 "[] keeps every language.")


def test_explain_says_how_the_forgetting_corpus_is_split(capsys, tmp_path):
    assert cli(["config", "--explain"]) == 0
    doc = next(line for line in capsys.readouterr().out.split("\neval.forgetting_corpus: null\n")[1].splitlines())
    assert "How it is split: the eval scores the leading documents" in doc
    assert "documents taken from the end (objectives.ewc.take=last)" in doc
    # the separator it names is the one load_corpus reads (it said "blank lines")
    from instructune.evaluate.text_corpus import load_corpus

    assert "a line holding only ---" in doc
    (tmp_path / "c.txt").write_text("one\n\nstill one\n---\ntwo\n")
    assert load_corpus(tmp_path / "c.txt") == ["one\n\nstill one", "two"]
