"""The review page in a real headless browser (Debian's chromium through Selenium).

Starts `instructune review` on a free loopback port, approves one record, rejects another,
edits a third, then reloads the page, kills and restarts the server, and checks the
decisions file and the page state each time. When chromium (or selenium) is missing it is
skipped, except in CI (`CI=true`, as `.ci/run` and CI services set it), where a missing browser
fails: a CI run must not pass with the page untested.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser import chrome, missing, require_browser
from quality_records import AUGMENTED, REFINED, write_flagged

if missing() is None:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait


@pytest.fixture(autouse=True)
def browser_available():
    require_browser()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_review(out_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    """`instructune review DIR --port P` and the URL it printed (it holds the access token; the
    server listens before printing it)."""
    proc = subprocess.Popen([sys.executable, "-m", "instructune", "review", str(out_dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in list(lines):
            if m := re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line):
                return proc, m.group(1)
        if proc.poll() is not None:
            reader.join(5)
            raise AssertionError(f"review exited: {''.join(lines)}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"review printed no URL with a token within 60 s: {''.join(lines)}")


@pytest.fixture
def browser(tmp_path):
    driver = chrome(tmp_path / "profile")
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
    bare = f"http://127.0.0.1:{port}/"
    server, url = start_review(out, port)
    try:
        browser.get(bare)  # without the token: refused, no records shown
        assert "missing or wrong token" in browser.page_source
        load(browser, url)
        assert browser.current_url == bare  # the token left the address bar; a cookie holds it
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
        load(browser, bare)  # a reload (or a closed tab) loses nothing; the cookie lets it in
        assert states(browser) == expected

        server.send_signal(signal.SIGKILL)  # a crash: no clean shutdown
        server.wait(timeout=10)
        server, url = start_review(out, port)  # a new token: the old cookie no longer opens the page
        browser.get(bare)
        assert "missing or wrong token" in browser.page_source
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


@contextmanager
def one_card(tmp_path, browser, row: dict):
    """The review page of a quality dir holding `row` alone, loaded; yields its card."""
    server, url = start_review(write_flagged(tmp_path / "q", [row]), free_port())
    try:
        load(browser, url, n=1)
        yield card(browser, row["id"])
    finally:
        server.kill()
        server.wait(timeout=10)


def test_review_page_shows_domain_and_refine_history(tmp_path, browser):
    with one_card(tmp_path, browser, REFINED) as c:
        assert c.find_element(By.CSS_SELECTOR, ".domain").text == "· domain: finance"
        summary = c.find_element(By.CSS_SELECTOR, ".refine-summary")
        assert summary.text == "self-refine: 2 round(s), stopped: no_issues, 3 request(s)"
        summary.click()  # open the details
        texts = [e.text for e in c.find_elements(By.CSS_SELECTOR, ".refine > div")]
        assert texts == ["Draft (score 0.41)", "Yes.", "Round 1 critique", "It gives no reason.",
                         "Round 1 revision (score 0.66, kept)", "Yes: pay the 20% card first.",
                         "Round 2 critique", "NO ISSUES"]


def test_review_page_shows_an_augmented_records_constraints(tmp_path, browser):
    with one_card(tmp_path, browser, AUGMENTED) as c:
        summary = c.find_element(By.CSS_SELECTOR, ".augment-summary")
        assert summary.text == "constraint-augmented from f-6: 1 constraint(s)"
        summary.click()
        assert [e.text for e in c.find_elements(By.CSS_SELECTOR, ".augment > li")] == [
            "punctuation:no_comma (transform) {}"]
