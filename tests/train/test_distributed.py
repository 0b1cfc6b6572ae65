"""Two processes (torchrun, gloo on CPU) train exactly like one process with more accumulation."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from instructune.train.metrics_log import read_metrics


def run(args, env=None):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_processes_equal_one_process_with_accumulation(tiny_model, tmp_path):
    common = [f"model.name={tiny_model}", "train.max_steps=3", "train.batch_size=2", "train.group_by_length=false",
              "data.heldout=[]"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "instructune", "train",
         f"output_dir={tmp_path / 'ddp'}", "train.grad_accum=2", *common], env)
    run([sys.executable, "-m", "instructune", "train", f"output_dir={tmp_path / 'one'}", "train.grad_accum=4",
         *common], env)
    ddp, one = read_metrics(tmp_path / "ddp" / "metrics.jsonl"), read_metrics(tmp_path / "one" / "metrics.jsonl")
    assert [r["trained_tokens"] for r in ddp] == [r["trained_tokens"] for r in one]
    assert [r["loss"] for r in ddp] == pytest.approx([r["loss"] for r in one], rel=1e-5)
