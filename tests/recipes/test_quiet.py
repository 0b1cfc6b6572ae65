"""Commands print their own output only: no library FutureWarnings or stray progress bars."""

from __future__ import annotations

import os
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "instructune", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_train_and_generate_print_no_library_noise(tiny_model, tmp_path):
    run_dir = tmp_path / "run"
    proc = run("train", f"model.name={tiny_model}", f"output_dir={run_dir}", "train.max_steps=1",
               "data.cache=false", "data.max_length=64")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == ""  # was: FutureWarning, Loading weights / Writing model shards / Filter / rendering bars
    assert "Setting accelerator" not in proc.stdout  # DeepSpeed's, on stdout, when export saved the model
    proc = run("generate", "--model", str(run_dir), "--prompt", "Hi", "generate.max_new_tokens=2")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-2000:]


def test_prepare_shows_its_own_lines_and_no_library_bars(tiny_model, tmp_path):
    proc = run("prepare", "--output", str(tmp_path / "p"), f"model.name={tiny_model}", "data.cache=false",
               "data.max_length=64", "data.train=[starter:heldout]", "data.heldout=[]")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == ""  # was: datasets' rendering / Filter / Saving the dataset bars
    assert "train: preparing starter:heldout ..." in proc.stdout and "train: tokenized 30 records" in proc.stdout


def test_bitsandbytes_note_about_an_optional_hub_kernel_is_dropped(caplog):
    import logging

    from instructune.cli import BNB_CPU_LOGGER, quiet_libraries

    quiet_libraries()
    log = logging.getLogger(BNB_CPU_LOGGER)
    with caplog.at_level(logging.WARNING):
        log.warning("Failed to load CPU gemm_4bit_forward from kernels-community: %s.", "No module named 'kernels'")
        log.warning("another bitsandbytes warning")
    assert [r.getMessage() for r in caplog.records] == ["another bitsandbytes warning"]
