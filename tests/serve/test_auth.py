"""`api_key`: bearer tokens checked in constant time, 401 in OpenAI's error shape, the key never
in a log line; and no bind beyond loopback without a key unless `insecure` says so."""

from __future__ import annotations

import logging

import httpx2 as httpx
import pytest

from instructune.config import ConfigError, load_config
from instructune.recipes import serve as serve_recipe
from instructune.serve import server

KEY = "sk-test-7f3a9c1e5b2d4f60"
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "temperature": 0}


@pytest.fixture(scope="module")
def url(start_app):
    # debug logging with the access log on, all of it propagated to the root logger (caplog)
    return start_app(api_key=KEY, log_level="debug")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("headers", [{}, bearer("sk-wrong"), bearer(KEY[:-1]), bearer(KEY + "x"),
                                     {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"},
                                     {"Authorization": "Bearer"}])
@pytest.mark.parametrize("method, path", [("POST", "/chat/completions"), ("POST", "/completions"),
                                          ("GET", "/models")])
def test_no_or_wrong_token_is_401_in_openai_shape(url, headers, method, path):
    r = httpx.request(method, url + path, json=CHAT if method == "POST" else None, headers=headers, timeout=60)
    assert r.status_code == 401
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["code"] == "invalid_api_key"
    assert r.headers["www-authenticate"] == "Bearer"
    assert KEY not in r.text and "sk-wrong" not in r.text


def test_right_token_is_answered(url):
    assert httpx.get(url + "/models", headers=bearer(KEY), timeout=60).status_code == 200
    r = httpx.post(url + "/chat/completions", json=CHAT, headers=bearer(KEY), timeout=60)
    assert r.status_code == 200 and r.json()["object"] == "chat.completion"
    r = httpx.post(url + "/completions", json={"prompt": "Hello", "max_tokens": 2, "stream": True},
                   headers={"authorization": f"bearer {KEY}"}, timeout=60)  # scheme is case-insensitive
    assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]")


def test_health_needs_no_key_and_names_nothing(url):
    r = httpx.get(url.removesuffix("/v1") + "/health", timeout=60)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_the_key_never_appears_in_logs(url, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for headers in ({}, bearer("nope"), bearer(KEY)):
        httpx.post(url + "/chat/completions", json=CHAT, headers=headers, timeout=60)
        httpx.post(url + "/completions", content=b"{bad json", headers={"Content-Type": "application/json",
                                                                        **headers}, timeout=60)
    out, err = capfd.readouterr()
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert any("/v1/chat/completions" in r.getMessage() for r in caplog.records)  # the access log ran
    assert KEY not in caplog.text and KEY not in out and KEY not in err


class Loaded(Exception):
    """Raised instead of binding the port (the step before the model loads) or loading a
    model: `main` got past its checks."""


@pytest.fixture
def no_load(monkeypatch):
    def load(*args, **kwargs):
        raise Loaded()

    monkeypatch.setattr(server.Engine, "load", load)
    monkeypatch.setattr(serve_recipe, "bind", load)
    monkeypatch.delenv(server.API_KEY_ENV, raising=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.7", "myhost.example"])
def test_binding_beyond_loopback_needs_a_key_or_insecure(no_load, monkeypatch, host):
    cfg = load_config(None, [])
    with pytest.raises(ConfigError) as e:
        serve_recipe.main(cfg, host=host)
    assert "API key" in str(e.value) and "--insecure" in str(e.value) and host in str(e.value)
    with pytest.raises(Loaded):
        serve_recipe.main(cfg, host=host, api_key=KEY)
    with pytest.raises(Loaded):
        serve_recipe.main(cfg, host=host, insecure=True)
    monkeypatch.setenv(server.API_KEY_ENV, KEY)
    with pytest.raises(Loaded):
        serve_recipe.main(cfg, host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_key(no_load, host):
    with pytest.raises(Loaded):
        serve_recipe.main(load_config(None, []), host=host)


def test_api_key_from_the_environment(monkeypatch):
    monkeypatch.setenv(server.API_KEY_ENV, KEY)
    assert server.resolve_api_key(None) == KEY
    assert server.resolve_api_key("given") == "given"
    monkeypatch.setenv(server.API_KEY_ENV, "")
    assert server.resolve_api_key(None) is None
