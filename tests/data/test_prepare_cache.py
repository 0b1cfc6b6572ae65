"""The prepared-data cache: reuse when nothing changed, a miss on any change, atomic writes."""

from __future__ import annotations

import json
import shutil

import pytest

import instructune.data.prepare_cache as prepare_cache
from instructune.cli import main as cli
from instructune.config import load_config
from instructune.data import splits
from instructune.data.splits import load_prepared
from instructune.recipes import prepare

ROWS = [
    {"instruction": "Name a primary color.", "input": "", "output": "Red."},
    {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
    {"instruction": "Translate to French.", "input": "cat", "output": "chat"},
    {"instruction": "Give an antonym.", "input": "hot", "output": "cold"},
    {"instruction": "Summarize the text.", "input": "Cats sleep a lot.", "output": "Cats nap."},
    {"instruction": "Is water wet?", "input": "", "output": "Yes."},
    {"instruction": "Spell 'dog' backwards.", "input": "", "output": "god"},
    {"instruction": "Name a fruit.", "input": "", "output": "Apple."},
]


@pytest.fixture()
def env(tmp_path, monkeypatch, tiny_model):
    """A private cache dir, an alpaca file, a copy of the tiny tokenizer, and a call counter
    on the tokenizing function."""
    monkeypatch.setenv("INSTRUCTUNE_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    model = tmp_path / "tok"
    shutil.copytree(tiny_model, model)
    calls = []
    original = prepare_cache.tokenize_records

    def counting(records, *args, **kwargs):
        calls.append(len(records))
        return original(records, *args, **kwargs)

    monkeypatch.setattr(prepare_cache, "tokenize_records", counting)
    return {"data": data, "model": model, "calls": calls, "root": tmp_path / "cache" / "prepared",
            "out": tmp_path / "out"}


def run(env, *overrides):
    cfg = load_config(None, [f"model.name={env['model']}", f"data.train=[{env['data']}]", "data.heldout=[]",
                             "data.max_length=128", *overrides])
    lines = []
    stats = prepare.main(cfg, env["out"], log=lines.append)
    assert lines[0] == f"train: preparing {env['data']} ..."  # said before the wait
    return stats, [line for line in lines if not line.endswith(" ...")]


def entries(env):
    return sorted(p.name for p in env["root"].iterdir())


def test_second_run_reuses_the_cache(env, monkeypatch):
    stats, lines = run(env)
    assert env["calls"] == [8] and lines[0].startswith("train: tokenized 8 records; cached in ")
    first = load_prepared(env["out"] / "train")[:]
    assert len(entries(env)) == 1

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("tokenized again")

    monkeypatch.setattr(prepare_cache, "tokenize_records", no_tokenizing)
    monkeypatch.setattr(splits, "load_mixture", no_tokenizing)  # not even read
    again, lines = run(env)
    assert again == stats and lines == [f"train: reused cached tokenization of 8 records "
                                        f"({env['root'] / entries(env)[0]})"]
    assert load_prepared(env["out"] / "train")[:] == first
    assert json.loads((env["out"] / "stats.json").read_text()) == stats


@pytest.mark.parametrize("change", ["data", "template", "template_option", "tokenizer_vocab",
                                    "chat_template", "max_length", "reader"])
def test_any_change_misses_and_the_old_entry_stays(env, change):
    run(env)
    assert env["calls"] == [8]
    overrides = []
    if change == "data":  # one changed byte, same file name
        env["data"].write_text(env["data"].read_text().replace("Red.", "Red!"))
    elif change == "template":
        overrides = ["template.name=alpaca"]
    elif change == "template_option":
        overrides = ["template.context_separator=' -- '"]
    elif change == "tokenizer_vocab":  # same path, one more token
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(env["model"])
        tok.add_tokens(["<extra>"], special_tokens=True)
        tok.save_pretrained(env["model"])
    elif change == "chat_template":  # same path and vocabulary, another chat template
        path = env["model"] / "chat_template.jinja"
        path.write_text(path.read_text().replace("You are a helpful assistant.", "You help."))
    elif change == "max_length":
        overrides = ["data.max_length=64"]
    elif change == "reader":
        overrides = ["data.reader.max_chars=5000"]
    stats, lines = run(env, *overrides)
    assert env["calls"] == [8, 8], "the change did not invalidate the cache"
    assert lines[0].startswith("train: tokenized 8 records") and len(entries(env)) == 2
    if change == "data":
        env["data"].write_text(env["data"].read_text().replace("Red!", "Red."))
    if change not in ("tokenizer_vocab", "chat_template"):  # back to the first setting: a hit
        _, lines = run(env)
        assert env["calls"] == [8, 8] and lines[0].startswith("train: reused")


def test_cache_off_tokenizes_and_writes_nothing(env):
    run(env, "data.cache=false")
    run(env, "data.cache=false")
    assert env["calls"] == [8, 8] and not env["root"].exists()


def test_failed_write_leaves_no_entry_and_next_run_rebuilds(env, monkeypatch):
    from pathlib import Path

    from datasets import Dataset

    def broken(self, path, *args, **kwargs):
        Path(path).mkdir(parents=True)  # half written
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(Dataset, "save_to_disk", broken)
        with pytest.raises(OSError, match="disk full"):
            run(env)
    assert entries(env) == []  # neither a half entry nor a temp dir is left
    _, lines = run(env)
    assert lines[0].startswith("train: tokenized") and len(entries(env)) == 1
    assert env["calls"] == [8, 8]


def test_entry_describes_its_key(env):
    run(env)
    entry = env["root"] / entries(env)[0]
    parts = json.loads((entry / "key.json").read_text())
    assert parts["data"] == [{"input": str(env["data"]), "sha256": prepare_cache.file_digest(env["data"])}]
    assert parts["template"]["name"] == "chat" and parts["config"]["max_length"] == 128
    assert json.loads((entry / "stats.json").read_text())["records"] == 8


def test_tokenizer_fingerprint_ignores_the_name(tiny_model, tmp_path):
    from instructune.model.load import load_tokenizer

    shutil.copytree(tiny_model, tmp_path / "elsewhere")
    a, b = load_tokenizer(tiny_model), load_tokenizer(str(tmp_path / "elsewhere"))
    assert prepare_cache.tokenizer_fingerprint(a) == prepare_cache.tokenizer_fingerprint(b)
    b.chat_template = b.chat_template.replace("assistant", "helper")
    assert prepare_cache.tokenizer_fingerprint(a) != prepare_cache.tokenizer_fingerprint(b)


def test_cli_prepare_says_it_reused_the_cache(env, capsys):
    args = ["prepare", "--output", str(env["out"]), f"model.name={env['model']}",
            f"data.train=[{env['data']}]", "data.heldout=[]"]
    assert cli(args) == 0
    assert "train: tokenized 8 records" in capsys.readouterr().out
    assert cli(args + ["--num-proc", "2"]) == 0  # workers do not change the arrays, so: a hit
    assert "train: reused cached tokenization of 8 records" in capsys.readouterr().out
    assert env["calls"] == [8]


def test_train_tokenizing_on_the_fly_uses_the_cache(env, monkeypatch, tmp_path):
    run(env)

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("tokenized again")

    monkeypatch.setattr(prepare_cache, "tokenize_records", no_tokenizing)
    from assembled import trained

    cfg = load_config(None, [f"model.name={env['model']}", f"data.train=[{env['data']}]", "data.heldout=[]",
                             "data.max_length=128", f"output_dir={tmp_path / 'run'}", "train.max_steps=1"])
    _, result = trained(cfg, export=False)
    assert result.step == 1


def test_a_split_that_keeps_no_record_is_an_error_that_writes_nothing(tmp_path, capsys):
    """prepare wrote empty splits and exited 0 when truncation dropped every record; an input
    holding no record was an IndexError from inside datasets."""
    from instructune.cli import main as cli

    out = tmp_path / "prep"
    assert cli(["prepare", "--output", str(out), "data.max_length=4", "data.cache=false"]) == 2
    err = capsys.readouterr().err
    assert "train: no record kept, so nothing was written: all 180 dropped" in err and "data.max_length" in err
    assert not out.exists()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert cli(["prepare", "--output", str(out), f"data.train=[{empty}]", "data.format=records",
                "data.heldout=[]", "data.cache=false"]) == 2
    err = capsys.readouterr().err
    assert "train: the inputs hold no record" in err and "Traceback" not in err and not out.exists()
