"""Datasets as inputs: hf:NAME[:SPLIT] from the local datasets cache only, a save_to_disk
folder and an .arrow file, in data.train / data.heldout / ingest, each read as rows; one line
when a dataset is not cached or a folder is not a saved dataset. All built here, offline."""

from __future__ import annotations

import json
import os

import datasets
import pyarrow.feather as feather
import pytest

from instructune.cli import main as cli
from instructune.data.dataset_inputs import data_files
from instructune.data.errors import DataError
from instructune.data.formats import detect, load_records
from instructune.data.prepare_cache import input_digest
from instructune.data.splits import load_prepared

QA = {"question": [f"What is {i} + {i}?" for i in range(6)], "answer": [str(2 * i) for i in range(6)]}


@pytest.fixture
def saved(tmp_path):
    """A save_to_disk folder of six question/answer rows."""
    path = tmp_path / "saved"
    datasets.Dataset.from_dict(QA).save_to_disk(str(path))
    return str(path)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A datasets cache holding `tiny-org/tiny-qa` (splits train, test) laid out as a hub
    download leaves it: built by the json builder, then named `<org>___<name>` as the hub
    module names its folders. Returns the cache folder."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in zip(*QA.values())))
    test = tmp_path / "test.jsonl"
    test.write_text(json.dumps({"question": "Held out?", "answer": "yes"}) + "\n")
    from datasets.packaged_modules.json.json import Json

    Json(cache_dir=str(cache), data_files={"train": str(rows), "test": str(test)}, dataset_name="tiny-qa",
         config_id="default", hash="0123abcd").download_and_prepare()
    os.rename(cache / "tiny-qa", cache / "tiny-org___tiny-qa")
    return cache


def test_save_to_disk_folder_is_read_as_rows(saved):
    assert detect(saved)[0] == "question_answer"
    recs = load_records(saved)
    assert [r.response for r in recs] == ["0", "2", "4", "6", "8", "10"]
    assert recs[2].source == {"file": saved, "index": 2, "format": "question_answer"}


@pytest.mark.parametrize("kind", ["stream", "file"])
def test_arrow_files_in_either_ipc_format(saved, tmp_path, kind):
    path = tmp_path / "qa.arrow"
    if kind == "stream":  # what datasets writes (its cache files, save_to_disk shards)
        os.link(data_files(saved)[0], path)
    else:  # Feather v2 / pyarrow.ipc.new_file
        feather.write_feather(datasets.load_from_disk(saved).data.table, str(path))
    recs = load_records(str(path))
    assert [r.instruction for r in recs][-1] == "What is 5 + 5?" and len(recs) == 6


def test_hf_name_reads_the_local_cache_without_the_hub(hub_cache, monkeypatch):
    asked = []

    def hub(*args, **kwargs):  # any hub call would mean the network was tried
        asked.append(args)
        raise OSError("no network here")

    monkeypatch.setattr("huggingface_hub.HfApi.hf_hub_download", hub)
    monkeypatch.setattr("huggingface_hub.HfApi.dataset_info", hub)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)  # as for a user without HF_HUB_OFFLINE
    assert [r.response for r in load_records("hf:tiny-org/tiny-qa")][:2] == ["0", "2"]  # split train by default
    assert [r.response for r in load_records("hf:tiny-org/tiny-qa:test")] == ["yes"]
    assert len(load_records("hf:tiny-org/tiny-qa:default:train")) == 6
    assert asked == [] and datasets.config.HF_HUB_OFFLINE is False  # switched off for the call only


@pytest.mark.parametrize("name, words", [
    ("hf:tiny-org/absent", "hf:tiny-org/absent: not in the local datasets cache ("),
    ("hf:tiny-org/tiny-qa:dev", "hf:tiny-org/tiny-qa:dev: no split 'dev' in the cached dataset"),
    ("hf:a:b:c:d", "hf:a:b:c:d: expected hf:NAME, hf:NAME:SPLIT or hf:NAME:CONFIG:SPLIT"),
])
def test_hf_names_not_in_the_cache_are_one_line(hub_cache, name, words):
    with pytest.raises(DataError) as e:
        load_records(name)
    assert str(e.value).startswith(words) and "\n" not in str(e.value)


def test_not_cached_says_it_must_be_cached_locally(hub_cache):
    with pytest.raises(DataError, match="local datasets cache only: load it once with datasets.load_dataset"):
        detect("hf:tiny-org/absent")


def test_a_folder_of_splits_or_of_anything_else_says_what_to_give(tmp_path):
    both = tmp_path / "both"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(QA), "test": datasets.Dataset.from_dict(QA)}
                         ).save_to_disk(str(both))
    with pytest.raises(DataError, match=r"holds several splits \(train, test\); give the folder of one, e\.g\. "):
        load_records(str(both))
    assert len(load_records(str(both / "test"))) == 6
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="not one written by Dataset.save_to_disk"):
        load_records(str(tmp_path / "plain"))


def test_digest_follows_the_rows_not_the_folder(saved, tmp_path):
    same = tmp_path / "same"
    datasets.load_from_disk(saved).save_to_disk(str(same))
    other = tmp_path / "other"
    datasets.Dataset.from_dict({**QA, "answer": ["x"] * 6}).save_to_disk(str(other))
    assert input_digest(saved) == input_digest(str(same)) != input_digest(str(other))


def test_prepare_and_ingest_take_every_kind(saved, hub_cache, tiny_model, tmp_path, capsys):
    arrow = tmp_path / "held.arrow"
    feather.write_feather(datasets.Dataset.from_dict({"prompt": ["Say hi."], "response": ["Hi!"]}).data.table,
                          str(arrow))
    out = tmp_path / "prep"
    assert cli(["prepare", "--output", str(out), f"model.name={tiny_model}", "data.max_length=64",
                f"data.train=[{saved}, 'hf:tiny-org/tiny-qa:test']", f"data.heldout=[{arrow}]"]) == 0
    assert len(load_prepared(out / "train")) == 7 and len(load_prepared(out / "heldout")) == 1
    kept = tmp_path / "kept.jsonl"
    assert cli(["ingest", "hf:tiny-org/tiny-qa", str(arrow), "--output", str(kept)]) == 0
    assert len(kept.read_text().splitlines()) == 7
    assert "hf:tiny-org/tiny-qa: question_answer" in capsys.readouterr().out


def test_train_refuses_an_uncached_dataset_before_loading_anything(hub_cache, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli(["train", f"output_dir={run}", "data.train=['hf:tiny-org/absent']"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("instructune train: error: hf:tiny-org/absent: not in the local datasets cache")
    assert "\n" not in err and not run.exists()
