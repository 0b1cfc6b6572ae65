"""A training run assembled from its config, without the `train` verb: it trains, checkpoints,
resumes and exports, and writes none of the verb's files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from instructune.config import load_config
from instructune.train.assemble import assemble
from instructune.train.metrics_log import read_metrics


def cfg_for(tiny_model, out, *extra):
    return load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                              "train.lr=1e-2", "train.seed=3", "train.batch_size=4", "train.max_steps=4",
                              "train.checkpoint_every=2", "data.heldout=[]", *extra])


def test_an_assembled_run_fits_resumes_and_exports_without_the_verb(tiny_model, tmp_path):
    whole = assemble(cfg_for(tiny_model, tmp_path / "whole"))
    result = whole.fit()
    assert result.step == 4 and set(whole.export()) >= {"adapter", "export", "addons"}
    assert not (tmp_path / "whole" / "config.yaml").exists()  # the verb's, as train_summary.json
    assert not (tmp_path / "whole" / "train_summary.json").exists()

    again = assemble(cfg_for(tiny_model, tmp_path / "again"))
    start = again.resume(whole.checkpoints / "step-000002")
    assert start.step == 2
    again.fit(start)
    resumed = read_metrics(tmp_path / "again" / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [3, 4]
    assert [r["loss"] for r in resumed] == pytest.approx(
        [r["loss"] for r in read_metrics(tmp_path / "whole" / "metrics.jsonl")][2:], rel=1e-5)

def test_assembling_a_run_loads_nothing_above_train():
    code = ("import sys, instructune.train.assemble; print(sorted(m for m in sys.modules if m.split('.')[0] == "
            "'instructune' and m.split('.')[1:2] in (['recipes'], ['evaluate'], ['serve'], ['synth'], ['quality'], "
            "['cli'])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
