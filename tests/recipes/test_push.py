"""`instructune push`: what would be uploaded (against a stand-in HfApi), and the one-line
refusals when the hub cannot be used, before any run file is read."""

from __future__ import annotations

import pytest
import yaml
from tiny import build_tiny

from instructune.cli import main as cli
from instructune.recipes import push


class FakeApi:
    """Records the calls `push` makes, and what the folder held when it was uploaded."""

    def __init__(self):
        self.calls = []

    def create_repo(self, **kw):
        self.calls.append(("create_repo", kw))
        return f"https://huggingface.co/{kw['repo_id']}"

    def upload_folder(self, **kw):
        from pathlib import Path

        files = sorted(str(p.relative_to(kw["folder_path"])) for p in Path(kw["folder_path"]).rglob("*") if p.is_file())
        self.calls.append(("upload_folder", {**kw, "files": files}))


@pytest.fixture
def run(tmp_path, tiny_model):
    root = tmp_path / "run"
    build_tiny(root / "export")
    (root / "adapter").mkdir()
    (root / "adapter" / "adapter_config.json").write_text("{}")
    (root / "config.yaml").write_text(yaml.safe_dump({"model": {"name": tiny_model}, "train": {"method": "lora"},
                                                      "lora": {"r": 8, "alpha": 16}}))
    return root


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: "hf_test")
    monkeypatch.setattr(push, "hub_reachable", lambda: True)


def test_push_uploads_export_with_the_card(run, hub):
    api = FakeApi()
    res = push.main(str(run), "me/tiny", private=True, api=api)
    (name, create), (_, upload) = api.calls
    assert name == "create_repo" and create == {"repo_id": "me/tiny", "private": True, "exist_ok": True,
                                                "repo_type": "model"}
    assert upload["folder_path"] == str(run / "export") and upload["repo_id"] == "me/tiny"
    assert {"README.md", "config.json", "model.safetensors", "tokenizer.json"} <= set(upload["files"])
    card = (run / "export" / "README.md").read_text()
    assert "LoRA rank 8" in card and "library_name: transformers" in card and res["card"]


def test_push_adapter_uploads_the_adapter_alone(run, hub):
    api = FakeApi()
    push.main(str(run), "me/tiny-lora", adapter=True, api=api)
    upload = api.calls[1][1]
    assert upload["folder_path"] == str(run / "adapter")
    assert set(upload["files"]) == {"adapter_config.json", "README.md"}
    assert "library_name: peft" in (run / "adapter" / "README.md").read_text()


@pytest.mark.parametrize("env, token, reachable, words", [
    ({"HF_HUB_OFFLINE": "1"}, "hf_x", True, "HF_HUB_OFFLINE is set"),
    ({}, None, True, "no Hugging Face token"),
    ({}, "hf_x", False, "does not answer"),
])
def test_no_hub_is_one_line_before_the_run_is_read(tmp_path, monkeypatch, capsys, env, token, reachable, words):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: token)
    monkeypatch.setattr(push, "hub_reachable", lambda: reachable)
    # The run dir does not exist: the hub check answers first.
    assert cli(["push", str(tmp_path / "absent"), "--repo", "me/x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err


def test_run_without_export_is_refused(tmp_path, hub, capsys):
    assert cli(["push", str(tmp_path), "--repo", "me/x"]) == 2
    assert "does not hold a merged model (export/)" in capsys.readouterr().err
