"""Generation has one home, `generation/engine.py`: the server and the synth local backend both
use it, and nothing under `serve/` imports the synth backends."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_does_not_import_the_synth_backends():
    code = ("import sys, instructune.serve.server\n"
            "print(sorted(m for m in sys.modules if m.startswith('instructune.synth.backends')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_local_backend_is_the_engine():
    from instructune.generation.engine import Engine
    from instructune.synth import backends

    assert issubclass(backends.LocalGenerator, Engine)
