"""CPU threads: `threads` (config) / `--threads N` (verbs that load a model); 0 picks a share."""

from __future__ import annotations

import pytest
import torch

from instructune.cli import main as cli
from instructune.cpu import cpu_threads


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)


def test_auto_takes_every_core_of_one_process(eight_cores):
    assert cpu_threads(0) == 8


def test_auto_shares_the_cores_among_the_local_processes(eight_cores, monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # torchrun's blanket default
    assert cpu_threads(0) == 2


def test_auto_keeps_omp_num_threads_of_a_single_process(eight_cores, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_threads(0) == 3


def test_a_number_is_taken_as_given(eight_cores):
    assert cpu_threads(5) == 5


def test_the_flag_and_the_key_set_torch_threads(monkeypatch):
    from instructune.recipes import generate

    seen = []
    monkeypatch.setattr(generate, "main", lambda *a, **k: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    try:
        assert cli(["generate", "--prompt", "x", "--threads", "2"]) == 0
        assert cli(["generate", "--prompt", "x", "threads=3"]) == 0
    finally:
        torch.set_num_threads(before)
    assert seen == [2, 3]


def test_negative_threads_is_a_config_error(capsys):
    assert cli(["config", "threads=-1"]) == 2
    assert "threads: got -1; expected >= 0" in capsys.readouterr().err
