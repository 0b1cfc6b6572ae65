"""Headless Chromium for the tests that look at a page (Debian's chromium through Selenium).

Without chromium (or selenium) such a test is skipped, except in CI (`CI=true`, as `.ci/run`
and CI services set it), where a missing browser fails: a CI run must not pass with a page
untested. Use `require_browser()` in an autouse fixture and `chrome(profile_dir)` for a driver.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver") or "/usr/bin/chromedriver"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing() -> str | None:
    """Why a browser test cannot run here, or None."""
    if CHROMIUM is None or not Path(CHROMEDRIVER).exists():
        return ("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                ".ci/run does it)")
    if importlib.util.find_spec("selenium") is None:
        return "needs selenium (pip install selenium)"
    return None


def require_browser() -> None:
    """Skip without a browser; in CI fail instead, so a CI run cannot pass untested."""
    why = missing()
    if why and IN_CI:
        pytest.fail(f"{why}; CI is set, so a missing browser fails this test", pytrace=False)
    if why:
        pytest.skip(why)


def chrome(profile_dir: Path):
    """A headless Chrome driver with a fresh profile and no network side traffic."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,2000", f"--user-data-dir={profile_dir}"):
        opts.add_argument(flag)
    return webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
