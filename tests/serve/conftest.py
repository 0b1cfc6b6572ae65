"""`instructune serve` on the tiny model, started once per session on a free loopback port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

SERVE_OVERRIDES = ["serve.max_body_bytes=20000", "serve.max_tokens_limit=64", "serve.batch_size=4"]


@pytest.fixture(scope="session")
def served(tiny_model, tmp_path_factory) -> str:
    """Base URL (".../v1") of `instructune serve --model TINY --port 0` in a subprocess."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "instructune", "serve", "--model", tiny_model, "--port", "0",
                                 *SERVE_OVERRIDES], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = None
        for _ in range(600):  # up to ~2 minutes on a busy machine: imports and model load
            m = re.search(r"at (http://\S+/v1)", log.read_text())
            if m:
                url = m.group(1)
                break
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        assert url, f"instructune serve did not start:\n{log.read_text()}"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def engine(tiny_model):
    """The tiny model as a generation engine (shared by the in-process servers)."""
    from instructune.generation.engine import Engine

    return Engine.load(tiny_model)


@pytest.fixture(scope="session")
def start_app(engine):
    """`start_app(**kwargs)` → base URL (".../v1") of `create_app(engine, cfg, **kwargs)` served by
    uvicorn in a thread on a free loopback port (same bounds as `served`); stopped at the end.
    `start_app(gen=other)` serves another engine."""
    import threading

    import uvicorn

    from instructune.config import load_config
    from instructune.serve.server import bind, create_app

    cfg = load_config(None, SERVE_OVERRIDES).serve
    servers = []

    def start(log_level: str = "warning", gen=None, **kwargs) -> str:
        sock = bind("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(create_app(gen or engine, cfg, **kwargs), log_level=log_level,
                                               log_config=None))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread, sock))
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.01)
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"

    yield start
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
