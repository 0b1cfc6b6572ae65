"""Dependencies point one way (docs/architecture.md §4): a package imports only packages of a
lower level. Each package is imported whole (every module in it) in a fresh interpreter, and no
module of a package at its own level or above may have been loaded.

Imports made inside a function body (lazy imports) run only when the function is called, so
they are not seen here; they are meant for optional or heavy dependencies, never for reaching
up a level.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The one table of levels. Level 0 holds the utilities (the modules at src/instructune/*.py and
# the small packages beside them); they may import each other but nothing above level 0.
LEVELS = {
    "config": 0, "atomic": 0, "cache": 0, "cpu": 0, "progress": 0, "text": 0, "embed": 0, "rundir": 0,
    "data": 1,
    "model": 2,
    "objectives": 3, "generation": 3,
    "train": 4,
    "evaluate": 5,
    "serve": 6, "synth": 6, "quality": 6, "augment": 6,
    "recipes": 7,
    "cli": 8, "__main__": 8,
}

# Run in the child: import every module of the package, then list the instructune packages
# that got loaded (the second dotted part of each module name).
_IMPORT_ALL = """
import importlib, json, pkgutil, sys
name = sys.argv[1]
root = importlib.import_module("instructune." + name)
for info in pkgutil.walk_packages(getattr(root, "__path__", []), root.__name__ + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted({m.split(".")[1] for m in sys.modules if m.startswith("instructune.")})))
"""


def forbidden(name: str, loaded: list[str]) -> list[str]:
    """The loaded packages that `name` must not import: those of a higher level, and (above
    level 0) the other packages of its own level."""
    level = LEVELS[name]
    return [m for m in loaded if m != name and
            (LEVELS[m] > level or (LEVELS[m] == level and level > 0))]


def test_every_package_has_a_level():
    from pathlib import Path

    import instructune

    src = Path(instructune.__file__).parent
    names = {p.stem for p in src.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in src.iterdir() if (p / "__init__.py").exists()}
    assert names == set(LEVELS), sorted(names ^ set(LEVELS))


def test_forbidden_names_higher_and_same_level_packages():
    assert forbidden("data", ["config", "data", "model", "text"]) == ["model"]
    assert forbidden("serve", ["evaluate", "serve", "synth"]) == ["synth"]
    assert forbidden("config", ["atomic", "config"]) == []


@pytest.mark.parametrize("name", sorted(n for n in LEVELS if n not in ("cli", "__main__")))
def test_a_package_imports_only_lower_levels(name):
    r = subprocess.run([sys.executable, "-c", _IMPORT_ALL, name], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    loaded = json.loads(r.stdout.strip().splitlines()[-1])
    assert forbidden(name, loaded) == [], f"importing instructune.{name} loads {forbidden(name, loaded)}"
