"""Model names and unsupported parameters: an unknown `model` is 404 in OpenAI's error shape
(`/v1/models` lists the served names), and parameters the server cannot honour are refused
with 400 rather than silently ignored (in-process server on the tiny model, `start_app`)."""

from __future__ import annotations

import httpx2 as httpx
import pytest

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
COMPLETION = {"prompt": "Hello", "max_tokens": 1}


@pytest.fixture(scope="module")
def url(start_app):
    return start_app(model_names=["tiny", "tiny-v2"])


def post(url, path, body):
    return httpx.post(url + path, json=body, timeout=60)


def test_models_lists_the_served_names(url):
    body = httpx.get(url + "/models", timeout=60).json()
    assert body["object"] == "list" and [m["id"] for m in body["data"]] == ["tiny", "tiny-v2"]


@pytest.mark.parametrize("path, body", [("/chat/completions", CHAT), ("/completions", COMPLETION)])
def test_unknown_model_is_404_in_openai_shape(url, path, body):
    r = post(url, path, {**body, "model": "gpt-4o"})
    assert r.status_code == 404
    assert r.json() == {"error": {"message": "the model 'gpt-4o' does not exist here; this server serves: tiny, "
                                             "tiny-v2 (see /v1/models)",
                                  "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}
    streamed = post(url, path, {**body, "model": "gpt-4o", "stream": True})
    assert streamed.status_code == 404


@pytest.mark.parametrize("path, body", [("/chat/completions", CHAT), ("/completions", COMPLETION)])
def test_served_names_and_no_name_are_answered(url, path, body):
    assert post(url, path, {**body, "model": "tiny-v2"}).json()["model"] == "tiny-v2"
    assert post(url, path, body).json()["model"] == "tiny"


@pytest.mark.parametrize("path, field, value", [
    ("/chat/completions", "logprobs", True),
    ("/chat/completions", "top_logprobs", 3),
    ("/completions", "logprobs", 0),
    ("/completions", "logprobs", 5),
    ("/chat/completions", "n", 2),
    ("/completions", "best_of", 2),
    ("/chat/completions", "tools", [{"type": "function", "function": {"name": "f"}}]),
    ("/chat/completions", "tool_choice", "auto"),
    ("/chat/completions", "functions", [{"name": "f"}]),
    ("/chat/completions", "function_call", "auto"),
    ("/chat/completions", "response_format", {"type": "json_object"}),
    ("/completions", "logit_bias", {"50256": -100}),
    ("/completions", "echo", True),
    ("/completions", "suffix", "end"),
    ("/chat/completions", "presence_penalty", 0.5),
    ("/completions", "frequency_penalty", -1.0),
    ("/completions", "top_k", 5),
    ("/completions", "min_p", 0.1),
    ("/completions", "repetition_penalty", 1.3),
])
def test_unsupported_parameters_are_400(url, path, field, value):
    base = CHAT if path == "/chat/completions" else COMPLETION
    r = post(url, path, {**base, field: value})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == field and "not supported" in err["message"] and err["type"] == "invalid_request_error"


@pytest.mark.parametrize("field, value", [
    ("logprobs", False), ("logprobs", None), ("n", 1), ("best_of", 1), ("tools", []), ("tool_choice", "none"),
    ("response_format", {"type": "text"}), ("logit_bias", {}), ("presence_penalty", 0), ("frequency_penalty", 0.0),
    ("user", "u-1"), ("parallel_tool_calls", True), ("stream_options", None)])
def test_neutral_values_of_those_parameters_are_accepted(url, field, value):
    assert post(url, "/chat/completions", {**CHAT, field: value}).status_code == 200
