"""The review page in a real headless browser (Debian's chromium through Selenium).

Starts `instructune review` on a free loopback port, approves one record, rejects another,
edits a third, then reloads the page, kills and restarts the server, and checks the
decisions file and the page state each time. Skipped only when chromium is not installed
(`.ci/run` installs it).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from quality_records import REFINED, write_flagged

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(CHROMIUM is None or not Path(CHROMEDRIVER).exists(),
                                reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
                                       "chromium-driver; .ci/run does it)")
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install selenium)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_review(out_dir: Path, port: int) -> subprocess.Popen:
    """`instructune review DIR --port P`, returned once it accepts connections."""
    proc = subprocess.Popen([sys.executable, "-m", "instructune", "review", str(out_dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"review exited: {proc.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("review did not start listening within 60 s")


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def card(driver, rid):
    return driver.find_element(By.CSS_SELECTOR, f'article[data-id="{rid}"]')


def wait_state(driver, rid, state):
    WebDriverWait(driver, 20).until(lambda d: card(d, rid).get_attribute("data-state") == state)


def load(driver, url, n=4):
    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "article[data-id]")) == n)


def states(driver):
    return {a.get_attribute("data-id"): a.get_attribute("data-state")
            for a in driver.find_elements(By.CSS_SELECTOR, "article[data-id]")}


def log(out_dir):
    path = out_dir / "review_decisions.jsonl"
    return [(e["id"], e["action"]) for e in map(json.loads, path.read_text().splitlines())] if path.exists() else []


def test_review_page_in_browser(tmp_path, browser):
    out = write_flagged(tmp_path / "q")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_review(out, port)
    try:
        load(browser, url)
        assert states(browser) == {"f-1": "pending", "f-2": "pending", "f-3": "pending", "f-4": "pending"}
        first = card(browser, "f-1")
        assert first.find_element(By.CSS_SELECTOR, ".response").text == "The sea is wide, deep and blue today."
        assert first.find_element(By.CSS_SELECTOR, "ul.failed li").text == "asks for at most 5 words; response has 8 words"
        # Record text is shown as text, never run as markup.
        assert card(browser, "f-4").find_element(By.CSS_SELECTOR, ".response").text == "<script>window.pwned = 1</script>"
        assert browser.execute_script("return window.pwned === undefined")

        first.find_element(By.CSS_SELECTOR, "button.approve").click()
        wait_state(browser, "f-1", "approve")
        assert log(out) == [("f-1", "approve")]  # on disk as soon as the page says so
        card(browser, "f-2").find_element(By.CSS_SELECTOR, "button.reject").click()
        wait_state(browser, "f-2", "reject")
        assert log(out) == [("f-1", "approve"), ("f-2", "reject")]

        third = card(browser, "f-3")
        third.find_element(By.CSS_SELECTOR, "button.edit").click()
        box = third.find_element(By.CSS_SELECTOR, "textarea.edit-response")
        assert box.get_attribute("value") == "Bring snacks. The meeting moved to 3 pm."
        box.clear()
        box.send_keys("The meeting moved to 3 pm, so bring snacks.")
        third.find_element(By.CSS_SELECTOR, "button.save").click()
        wait_state(browser, "f-3", "edit")
        assert log(out)[-1] == ("f-3", "edit")
        assert card(browser, "f-3").find_element(By.CSS_SELECTOR, ".response").text == \
            "The meeting moved to 3 pm, so bring snacks."
        assert browser.find_element(By.ID, "count-pending").text == "pending: 1"

        expected = {"f-1": "approve", "f-2": "reject", "f-3": "edit", "f-4": "pending"}
        load(browser, url)  # a reload (or a closed tab) loses nothing
        assert states(browser) == expected

        server.send_signal(signal.SIGKILL)  # a crash: no clean shutdown
        server.wait(timeout=10)
        server = start_review(out, port)
        load(browser, url)
        assert states(browser) == expected
        assert card(browser, "f-3").find_element(By.CSS_SELECTOR, ".response").text == \
            "The meeting moved to 3 pm, so bring snacks."

        card(browser, "f-2").find_element(By.CSS_SELECTOR, "button.reset").click()  # undo after restart
        wait_state(browser, "f-2", "pending")
        assert log(out) == [("f-1", "approve"), ("f-2", "reject"), ("f-3", "edit"), ("f-2", "reset")]
    finally:
        server.kill()
        server.wait(timeout=10)

    accepted = [json.loads(line) for line in (out / "reviewed_accepted.jsonl").read_text().splitlines()]
    assert [(r["id"], r["response"], r["meta"]["quality"]["review"]["action"]) for r in accepted] == [
        ("f-1", "The sea is wide, deep and blue today.", "approve"),
        ("f-3", "The meeting moved to 3 pm, so bring snacks.", "edit")]


def test_review_page_shows_domain_and_refine_history(tmp_path, browser):
    out = write_flagged(tmp_path / "q", [REFINED])
    port = free_port()
    server = start_review(out, port)
    try:
        load(browser, f"http://127.0.0.1:{port}/", n=1)
        c = card(browser, "f-5")
        assert c.find_element(By.CSS_SELECTOR, ".domain").text == "· domain: finance"
        summary = c.find_element(By.CSS_SELECTOR, ".refine-summary")
        assert summary.text == "self-refine: 2 round(s), stopped: no_issues, 3 request(s)"
        summary.click()  # open the details
        texts = [e.text for e in c.find_elements(By.CSS_SELECTOR, ".refine > div")]
        assert texts == ["Draft (score 0.41)", "Yes.", "Round 1 critique", "It gives no reason.",
                         "Round 1 revision (score 0.66, kept)", "Yes: pay the 20% card first.",
                         "Round 2 critique", "NO ISSUES"]
    finally:
        server.kill()
        server.wait(timeout=10)
