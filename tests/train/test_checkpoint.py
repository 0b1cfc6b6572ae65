"""Checkpoints are atomic, pruned, and restore optimizer, scheduler and RNG."""

from __future__ import annotations

import random

import pytest
import torch

from instructune.train import checkpoint as ck
from instructune.train.optim import build_optimizer, warmup_cosine


def setup():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = build_optimizer(model, 0.1, 0.01)
    sched = warmup_cosine(opt, 2, 10)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    sched.step()
    return model, opt, sched


def test_save_load_roundtrip_and_prune(tmp_path):
    model, opt, sched = setup()
    for step in (1, 2, 3):
        ck.save_checkpoint(tmp_path, step, model, opt, sched, {"epoch": 0, "position": step}, keep=2)
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == ["step-000002", "step-000003"]
    random.seed(5)
    torch.manual_seed(5)
    ck.save_checkpoint(tmp_path, 4, model, opt, sched, {"epoch": 1, "position": 0})
    expect_py, expect_t = random.random(), torch.rand(1)
    m2, o2, s2 = torch.nn.Linear(4, 3), None, None
    o2 = build_optimizer(m2, 0.1, 0.01)
    s2 = warmup_cosine(o2, 2, 10)
    state = ck.load_checkpoint(tmp_path / "step-000004", m2, o2, s2)
    assert state == {"step": 4, "epoch": 1, "position": 0}
    torch.testing.assert_close(m2.weight, model.weight)
    assert s2.last_epoch == sched.last_epoch
    assert o2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    assert random.random() == expect_py and torch.equal(torch.rand(1), expect_t)


def test_failed_write_leaves_no_checkpoint(tmp_path, monkeypatch):
    model, opt, sched = setup()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(ck.torch, "save", boom)
    with pytest.raises(OSError):
        ck.save_checkpoint(tmp_path, 1, model, opt, sched, {"epoch": 0, "position": 1})
    assert ck.list_checkpoints(tmp_path) == [] and list(tmp_path.iterdir()) == []


def test_warmup_then_cosine():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup_steps=2, total_steps=6)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] < lrs[1] < lrs[2] == pytest.approx(1.0)
    assert lrs[2] > lrs[3] > lrs[4] > lrs[5] > 0
