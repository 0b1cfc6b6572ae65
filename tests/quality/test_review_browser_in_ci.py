"""In CI (`CI=true`) the review page's browser test must fail when the browser is missing;
elsewhere it reports itself skipped. Runs that test file in a subprocess with a PATH that
holds no chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BROWSER_TEST = Path(__file__).with_name("test_review_browser.py")


def run_without_chromium(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(tmp_path)  # an empty folder: shutil.which("chromium") finds nothing
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs",
                           str(BROWSER_TEST)], env=env, cwd=BROWSER_TEST.parents[2],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_browser_fails_in_ci(tmp_path, ci):
    r = run_without_chromium(tmp_path, ci)
    assert r.returncode == 1, r.stdout + r.stderr
    summary = r.stdout.splitlines()[-1]  # a failing fixture counts as an error, not a failure
    assert re.search(r"\d+ (failed|errors?)", summary) and "skipped" not in summary and "passed" not in summary
    assert "needs Debian's chromium" in r.stdout


def test_missing_browser_skips_outside_ci(tmp_path):
    r = run_without_chromium(tmp_path, None)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"\d+ skipped", r.stdout.splitlines()[-1]) and "passed" not in r.stdout.splitlines()[-1]
