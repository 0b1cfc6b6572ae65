"""`stream: true`: server-sent events in OpenAI's chunk format, token by token, whose text joins
to exactly the non-streamed reply (in-process server on the tiny model, `start_app`)."""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest

CHAT = [{"role": "user", "content": "Write a poem about the sea"}]


@pytest.fixture(scope="module")
def url(start_app):
    return start_app()


def events(url: str, path: str, body: dict) -> list:
    """The `data:` payloads of a streamed reply (JSON decoded; the final "[DONE]" as is)."""
    with httpx.stream("POST", url + path, json=body, timeout=120) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines), lines
    data = [line.removeprefix("data: ") for line in lines]
    assert data[-1] == "[DONE]" and "[DONE]" not in data[:-1]
    return [json.loads(d) for d in data[:-1]] + ["[DONE]"]


def plain(url: str, path: str, body: dict) -> dict:
    r = httpx.post(url + path, json={**body, "stream": False}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("sampling", [{"temperature": 0}, {"temperature": 1.0, "seed": 7}])
def test_chat_stream_joins_to_the_plain_reply(url, sampling):
    body = {"messages": CHAT, "max_tokens": 12, **sampling}
    chunks = events(url, "/chat/completions", {**body, "stream": True})[:-1]
    want = plain(url, "/chat/completions", body)
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert all(c["model"] == want["model"] and len(c["choices"]) == 1 for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks[1:]]
    assert "".join(pieces) == want["choices"][0]["message"]["content"]
    if sampling["temperature"]:  # (greedy, the tiny model answers chats with newlines only)
        assert len([p for p in pieces if p]) > 2  # token by token, not one piece at the end
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * (len(chunks) - 1) + \
        [want["choices"][0]["finish_reason"]]
    assert chunks[-1]["choices"][0]["delta"] == {}


def test_completion_stream_with_stop_and_two_prompts(url):
    body = {"prompt": ["Hello", "The capital of"], "max_tokens": 6, "temperature": 0, "stop": "ol"}
    chunks = events(url, "/completions", {**body, "stream": True})[:-1]
    want = plain(url, "/completions", body)
    assert {c["object"] for c in chunks} == {"text_completion"}
    for i, choice in enumerate(want["choices"]):
        mine = [c["choices"][0] for c in chunks if c["choices"][0]["index"] == i]
        assert "".join(c["text"] for c in mine) == choice["text"]
        assert [c["finish_reason"] for c in mine][-1] == choice["finish_reason"]
        assert all(c["finish_reason"] is None for c in mine[:-1])
        assert all("ol" not in c["text"] for c in mine)  # a stop string is never sent, not even in part


def test_stream_usage_when_asked(url):
    body = {"messages": CHAT, "max_tokens": 5, "temperature": 0}
    chunks = events(url, "/chat/completions", {**body, "stream": True,
                                                "stream_options": {"include_usage": True}})[:-1]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == plain(url, "/chat/completions", body)["usage"]
    assert all(c["usage"] is None for c in chunks[:-1])


def test_stream_errors_before_the_first_byte_are_plain_400(url):
    r = httpx.post(url + "/completions", json={"prompt": "hi", "stream": True, "max_tokens": 65}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"


def test_text_deltas_hold_back_what_may_become_a_stop_string(engine):
    from instructune.generation.streaming import TextDeltas

    tok = engine.tokenizer
    ids = tok("lolol done", add_special_tokens=False)["input_ids"]
    deltas = TextDeltas(tok, ["l d"], strip=False)
    pieces = [deltas.push(i) for i in ids]
    final = "lolo"  # cut before "l d"
    pieces.append(deltas.finish(final))
    assert "".join(pieces) == final and all("l d" not in p for p in pieces)


def test_a_cancelled_stream_stops_generating(engine):
    from instructune.generation.params import GenParams

    pieces = []
    g = engine.stream(engine.complete_ids(["Hello"])[0], GenParams(max_new_tokens=64, temperature=0),
                      pieces.append, cancelled=lambda: len(pieces) >= 2)
    assert len(pieces) <= 3 and g.completion_tokens < 8  # the token in flight still arrives
