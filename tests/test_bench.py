"""The bench scripts stay runnable: each answers `--help`, and every instructune name it imports
(at the top or inside a function, where `--help` never reaches) exists.

They are not run for their numbers here (each takes minutes); these checks catch the rot that
broke two of them once: an import of a module that had moved.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def instructune_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) of every `from instructune... import name` and (module, None) of every
    `import instructune...` in a script, wherever it stands in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "instructune":
            found += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.split(".")[0] == "instructune"]
    return found


def test_there_are_scripts():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_a_script_answers_help(script):
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage:"), r.stdout[:200]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_every_instructune_name_a_script_imports_exists(script):
    missing = []
    for module, name in instructune_imports(script):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            missing.append(f"{module} ({e})")
            continue
        if name is not None and not hasattr(mod, name):
            try:  # `from package import submodule`
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{module}.{name}")
    assert missing == [], f"{script.name} imports names that do not exist: {missing}"
