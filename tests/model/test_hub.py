"""Where a hub id loads from when the hub cannot be reached: its cached snapshot, or a one-line
error at once (transformers retried for about a minute, then printed a traceback)."""

from __future__ import annotations

import pytest

from instructune.model import hub
from instructune.model.load import load_tokenizer, resolve_model


@pytest.fixture
def no_network(tmp_path, monkeypatch):
    """An empty hub cache under tmp_path, HF_HUB_OFFLINE unset, a hub endpoint that refuses."""
    import huggingface_hub.constants

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "hub"


def cache(hub_dir, repo: str, model_dir) -> str:
    """Put the files of `model_dir` in the hub cache as `repo`'s main snapshot; its folder."""
    import shutil

    root = hub_dir / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text("abc123")
    shutil.copytree(model_dir, root / "snapshots" / "abc123")
    return str(root / "snapshots" / "abc123")


def test_an_uncached_hub_id_fails_at_once_naming_it_and_how_to_get_it(no_network):
    assert not hub.hub_reachable()
    with pytest.raises(hub.ModelUnavailable) as e:
        resolve_model("some-org/some-model")
    msg = str(e.value)
    assert msg.startswith(f"some-org/some-model is not in the Hugging Face cache ({no_network}) and the hub "
                          f"cannot be reached (127.0.0.1:9)")
    assert "hf download some-org/some-model" in msg and "local model folder" in msg and "\n" not in msg


def test_a_cached_hub_id_loads_from_its_snapshot_without_the_network(no_network, tiny_model):
    snapshot = cache(no_network, "some-org/tiny", tiny_model)
    assert resolve_model("some-org/tiny") == snapshot
    assert load_tokenizer("some-org/tiny").eos_token is not None


def test_hf_hub_offline_reports_itself_as_the_reason(no_network, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.ModelUnavailable, match="and HF_HUB_OFFLINE is set; download it"):
        resolve_model("some-org/some-model")


def test_local_paths_and_non_ids_are_left_to_the_loader(no_network, tiny_model):
    assert resolve_model(tiny_model) == tiny_model
    assert resolve_model("not a hub id!") == "not a hub id!"
