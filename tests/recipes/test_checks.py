"""Checks before any model loads: input files, model names and run dirs give one-line errors."""

from __future__ import annotations

import pytest

from instructune.cli import main as cli
from instructune.model import hub
from instructune.recipes import checks
from instructune.recipes.checks import CheckError


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_generate_with_a_missing_model_path_is_one_line_exit_2(capsys):
    assert cli(["generate", "--model", "/nonexistent", "--prompt", "Hi"]) == 2
    err = one_line(capsys.readouterr().err)
    assert err == "instructune generate: error: --model /nonexistent: no such file or directory\n"


def test_a_name_that_looks_like_a_path_must_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for name in ("./model", "~/surely-not-here-xyz", "runs/typo", "a/b/c"):
        with pytest.raises(CheckError, match="no such file or directory"):
            checks.check_model(name, "--model")


def test_an_existing_dir_must_hold_a_model_or_a_finished_run(tmp_path, tiny_model):
    checks.check_model(tiny_model, "--model")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckError, match="not a model: no config.json"):
        checks.check_model(str(empty), "--model")
    unfinished = tmp_path / "run"
    (unfinished / "checkpoints").mkdir(parents=True)
    (unfinished / "config.yaml").write_text("{}\n")
    with pytest.raises(CheckError, match="a run dir without export/"):
        checks.check_model(str(unfinished), "--model")


def test_a_hub_id_offline_must_be_in_the_hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(CheckError, match="not in the Hugging Face cache"):
        checks.check_model("someorg/some-model", "model.name")
    snap = tmp_path / "hub" / "models--someorg--some-model"
    (snap / "snapshots" / "abc").mkdir(parents=True)
    (snap / "refs").mkdir()
    (snap / "refs" / "main").write_text("abc")
    (snap / "snapshots" / "abc" / "config.json").write_text("{}")
    checks.check_model("someorg/some-model", "model.name")  # cached: fine offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    checks.check_model("otherorg/other-model", "model.name")  # online: it may be downloaded


def test_a_hub_id_without_a_network_must_be_in_the_hub_cache_whatever_hf_hub_offline_says(tmp_path, monkeypatch):
    # No network and HF_HUB_OFFLINE unset: transformers retried for ~54 s, then a traceback.
    import huggingface_hub.constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    for proxy in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # refused at once
    with pytest.raises(CheckError) as e:
        checks.check_model("some-org/some-model", "model.name")
    assert str(e.value).startswith("model.name some-org/some-model: not a local path, and some-org/some-model is "
                                   "not in the Hugging Face cache")
    assert "cannot be reached (127.0.0.1:9)" in str(e.value) and "hf download some-org/some-model" in str(e.value)


def test_missing_input_files_name_the_key_and_the_nearest_file(tmp_path):
    (tmp_path / "train.jsonl").write_text("")
    checks.check_inputs([str(tmp_path / "train.jsonl"), "starter:heldout"], "data.train")
    with pytest.raises(CheckError) as e:
        checks.check_inputs([str(tmp_path / "trian.jsonl")], "data.train")
    assert str(e.value) == (f"data.train: {tmp_path / 'trian.jsonl'}: no such file "
                            f"(did you mean {tmp_path / 'train.jsonl'}?)")


def test_generate_with_a_missing_input_file_is_one_line(tmp_path, capsys):
    assert cli(["generate", "--input", str(tmp_path / "nope.jsonl")]) == 2
    assert "--input: " in one_line(capsys.readouterr().err)


def test_eval_and_serve_check_their_models_first(tmp_path, capsys):
    assert cli(["eval", "--tuned", str(tmp_path / "no-run")]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"instructune eval: error: --tuned {tmp_path / 'no-run'}: no such file or directory\n")
    assert cli(["serve", "--model", "./nope"]) == 2
    assert "--model ./nope: no such file or directory" in one_line(capsys.readouterr().err)
