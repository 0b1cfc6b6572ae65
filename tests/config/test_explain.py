"""`instructune config --explain`: every field with its value and its documentation."""

from __future__ import annotations

from instructune.cli import main as cli
from instructune.config import Config, ReaderConfig, to_dict
from instructune.config.docs import explain, field_docs


def leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict) and v:  # an empty mapping (eval.sets, ablation.arms) is a field of its own
            yield from leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def test_every_field_is_documented():
    lines = explain(Config())
    keys = [line.split(":", 1)[0] for line in lines if not line.startswith(" ")]
    assert keys == list(leaves(to_dict(Config())))
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
