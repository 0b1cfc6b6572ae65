"""Two processes (torchrun, gloo on CPU) train exactly like one process with more accumulation:
with DDP, with an uneven last window, and with FSDP2 (sharded checkpoints, exact resume)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from instructune.train.metrics_log import read_metrics


def run(args, env=None):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    # Both tails: where a rank stopped (its last stdout line) matters as much as why.
    assert proc.returncode == 0, f"{args[args.index('train'):]}\n--- stdout ---\n{proc.stdout[-1500:]}\n--- stderr ---\n{proc.stderr[-3000:]}"


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TWO = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "instructune", "train"]
ONE = [sys.executable, "-m", "instructune", "train"]


def losses(run_dir):
    rows = read_metrics(run_dir / "metrics.jsonl")
    return [(r["step"], r["epoch"], r["trained_tokens"]) for r in rows], [r["loss"] for r in rows]


def test_two_processes_equal_one_process_with_accumulation(tiny_model, tmp_path):
    common = [f"model.name={tiny_model}", "train.max_steps=3", "train.batch_size=2", "train.group_by_length=false",
              "data.heldout=[]"]
    run([*TWO, f"output_dir={tmp_path / 'ddp'}", "train.grad_accum=2", *common], ENV)
    run([*ONE, f"output_dir={tmp_path / 'one'}", "train.grad_accum=4", *common], ENV)
    ddp, one = read_metrics(tmp_path / "ddp" / "metrics.jsonl"), read_metrics(tmp_path / "one" / "metrics.jsonl")
    assert [r["trained_tokens"] for r in ddp] == [r["trained_tokens"] for r in one]
    assert [r["loss"] for r in ddp] == pytest.approx([r["loss"] for r in one], rel=1e-5)


def test_uneven_last_window_keeps_processes_in_step(tiny_model, tmp_path):
    # 9 records in micro-batches of 2: 5 micro-batches per epoch. On 2 processes the last window
    # has one micro-batch; process 1 must still take its (empty) turn, or it would run ahead
    # into the next epoch while process 0 finishes this one.
    from instructune.data.starter import STARTER_DIR

    data = tmp_path / "nine.jsonl"
    data.write_text("".join((STARTER_DIR / "train.jsonl").read_text().splitlines(keepends=True)[:9]))
    common = [f"model.name={tiny_model}", f"data.train=[{data}]", "train.epochs=2", "train.batch_size=2",
              "data.heldout=[]", "train.seed=1"]
    run([*TWO, f"output_dir={tmp_path / 'two'}", "train.grad_accum=1", *common], ENV)
    run([*ONE, f"output_dir={tmp_path / 'one'}", "train.grad_accum=2", *common], ENV)
    (two_at, two), (one_at, one) = losses(tmp_path / "two"), losses(tmp_path / "one")
    assert two_at == one_at and [e for _, e, _ in one_at] == [0, 0, 0, 1, 1, 1]
    assert two == pytest.approx(one, rel=1e-5)


def test_fsdp_matches_one_process_saves_shards_per_rank_and_resumes_exactly(tiny_model, tmp_path):
    common = [f"model.name={tiny_model}", "train.max_steps=4", "train.batch_size=2", "train.group_by_length=false",
              "data.heldout=[]", "train.checkpoint_every=2", "lora.dropout=0.1"]
    fsdp = tmp_path / "fsdp"
    run([*TWO, f"output_dir={fsdp}", "train.distributed=fsdp", "train.grad_accum=1", *common], ENV)
    # Dropout draws differ between layouts; compare FSDP with one process without it, with
    # accumulation (FSDP's gradient sync is off for all but the last micro-batch).
    run([*ONE, f"output_dir={tmp_path / 'one'}", "train.grad_accum=4", "lora.dropout=0.0",
         *[c for c in common if not c.startswith("lora.dropout")]], ENV)
    run([*TWO, f"output_dir={tmp_path / 'fsdp0'}", "train.distributed=fsdp", "train.grad_accum=2", "lora.dropout=0.0",
         *[c for c in common if not c.startswith("lora.dropout")]], ENV)
    (f_at, f_loss), (o_at, o_loss) = losses(tmp_path / "fsdp0"), losses(tmp_path / "one")
    assert f_at == o_at and f_loss == pytest.approx(o_loss, rel=1e-5)

    ckpt = fsdp / "checkpoints" / "step-000002"
    assert sorted(p.name for p in (ckpt / "dcp").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    assert (ckpt / "rng-0.pt").exists() and (ckpt / "rng-1.pt").exists()
    assert json.loads((ckpt / "state.json").read_text()) == {"step": 2, "epoch": 0, "position": 2, "processes": 2}
    # The exported adapter holds the gathered weights (they moved from LoRA's zero init).
    adapter = load_file(fsdp / "adapter" / "adapter_model.safetensors")
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in adapter.items())

    # Resume from step 2 (as if the run had died after it): steps 3-4 come out exactly the same.
    part = tmp_path / "part"
    shutil.copytree(fsdp, part)
    shutil.rmtree(part / "checkpoints" / "step-000004")
    run([*TWO, f"output_dir={part}", "train.distributed=fsdp", "train.grad_accum=1", *common, "--resume"], ENV)
    assert losses(part) == losses(fsdp)  # bit for bit: shards, optimizer, scheduler and every rank's RNG
    resumed = load_file(part / "adapter" / "adapter_model.safetensors")
    for k in adapter:
        torch.testing.assert_close(resumed[k], adapter[k], rtol=0, atol=0)
