"""Atomic writes: a file or a directory appears whole at its path, or not at all.

    with atomic_path("out.json") as tmp:     # a temp file beside out.json, renamed over it
        tmp.write_text(...)
    with atomic_dir("checkpoints/step-10") as tmp:   # a temp dir, renamed into place
        save(tmp)

Used by every layer (data outputs, model conversion, checkpoints, config), so it sits
outside them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success rename it over `path`, on error remove it.

    Nothing already at `path` is lost when the write fails half-way.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path, if_exists: Literal["replace", "keep"] = "replace") -> Iterator[Path]:
    """Yield a temp dir beside `path` to fill; on success move it to `path` in one rename.

    A crash or an error while filling leaves no half directory at `path` (the temp dir is
    removed and whatever was at `path` is untouched).

    Args:
        path: the directory to create.
        if_exists: what to do when `path` is already there once the new copy is complete:
            "replace" swaps the new copy in (the old one is moved aside first and removed only
            once the new one is in place); "keep" keeps the existing copy and discards the new
            one, for content-addressed outputs that two processes may build at once.
    """
    if if_exists not in ("replace", "keep"):
        raise ValueError(f"if_exists must be 'replace' or 'keep', got {if_exists!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        _move_dir(tmp, path, if_exists)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_dir(tmp: Path, path: Path, if_exists: str) -> None:
    """Rename the complete `tmp` to `path` (see `atomic_dir` for `if_exists`)."""
    if if_exists == "replace" and path.exists():
        old = tmp.with_name(tmp.name + ".old")  # unique like tmp, so concurrent writers never share it
        path.rename(old)
        try:
            tmp.rename(path)
        except BaseException:
            old.rename(path)  # the new copy did not land: put the old one back
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    try:
        tmp.rename(path)
    except OSError:
        # A rename onto a non-empty directory fails: another process got there first.
        if if_exists != "keep" or not path.exists():
            raise
