"""No 5xx on client input: the requests that used to crash the server get 400 with a message,
and 1,000 random bad requests (shapes, types, huge numbers, encodings) on loopback get no 5xx,
after which the server still answers (in-process server on the tiny model, `start_app`)."""

from __future__ import annotations

import json
import random

import httpx2 as httpx
import pytest

JSON = {"Content-Type": "application/json"}
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
COMPLETION = {"prompt": "Hello", "max_tokens": 1}


@pytest.fixture(scope="module")
def url(start_app):
    return start_app()


def raw(url: str, path: str, body: bytes, headers=JSON) -> httpx.Response:
    return httpx.post(url + path, content=body, headers=headers, timeout=60)


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize("path, body, param, words", [
    ("/completions", b'{"prompt": "\\ud800", "max_tokens": 1}', "prompt", "lone surrogate"),
    ("/completions", b'{"prompt": ["ok", "a\\udfffb"], "max_tokens": 1}', "prompt.1", "lone surrogate"),
    ("/chat/completions", b'{"messages": [{"role": "user", "content": "\\ud83d"}]}', "messages.0.content",
     "lone surrogate"),
    ("/completions", b'{"prompt": "hi", "\\ud800": 1}', None, "lone surrogate"),
    ("/completions", b'{"prompt": "hi", "seed": 18446744073709551616}', "seed", "seed"),
    ("/completions", b'{"prompt": "hi", "seed": -9223372036854775809}', "seed", "seed"),
    ("/completions", b'\xef\xbb\xbf{"prompt": "hi"}', None, "byte order mark"),
    ("/completions", b'{"prompt": "caf\xe9"}', None, "not valid UTF-8"),
    ("/completions", b'{"prompt": "hi", "temperature": NaN}', None, "NaN"),
    ("/completions", b'{"prompt": "hi", "top_p": Infinity}', None, "Infinity"),
    ("/completions", b'{"prompt": "hi", "max_tokens": 1' + b"0" * 5000 + b"}", None, "number"),
    ("/completions", b"[" * 9000 + b"]" * 9000, None, "nested"),
    ("/completions", b'["prompt"]', None, "JSON object"),
    ("/completions", b'{"prompt": "hi", "temperature": 1e400}', "temperature", "temperature"),
    ("/completions", b'{"prompt": "hi", "stop": ["' + b"x" * 300 + b'"]}', "stop", "characters"),
])
def test_bad_input_is_400_with_a_message(url, path, body, param, words):
    r = raw(url, path, body)
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert words in err["message"] and err["param"] == param and err["type"] == "invalid_request_error"


def test_a_tiny_temperature_samples_greedily_instead_of_failing(url):
    body = {"prompt": "Hello", "max_tokens": 4}
    greedy = httpx.post(url + "/completions", json={**body, "temperature": 0}, timeout=60).json()
    tiny = httpx.post(url + "/completions", json={**body, "temperature": 1e-300}, timeout=60)
    assert tiny.status_code == 200 and tiny.json()["choices"] == greedy["choices"]


def test_seed_range_edges_are_accepted(url):
    for seed in (0, 2**64 - 1, -(2**63)):
        r = httpx.post(url + "/completions", json={**COMPLETION, "seed": seed, "temperature": 1.0}, timeout=60)
        assert r.status_code == 200, (seed, r.text)


# ---- fuzz --------------------------------------------------------------------------------------

def random_value(rng: random.Random, depth: int = 0):
    """A random JSON value of any type, with the awkward cases weighted in."""
    kinds = ["null", "bool", "int", "bigint", "float", "str", "weird_str"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, 1, -1, 2, 5, 64, 65, 1024, 2**31, -(2**31)])
    if kind == "bigint":
        return rng.choice([2**63, 2**64, -(2**63) - 1, 10**30, -(10**30)]) * rng.choice([1, -1])
    if kind == "float":
        return rng.choice([0.0, -0.0, 0.5, 1e-300, 5e-324, 1e308, -1e308, 2.5, 1.0000001])
    if kind == "str":
        return rng.choice(["", " ", "hi", "user", "assistant", "text", "x" * 300, "\u202e\u0000\n", "日本語"])
    if kind == "weird_str":
        return rng.choice(["\ud800", "a\udfffb", "\ud83d\ude00", "\x00", "<|im_end|>", "\ufeff"])
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["role", "content", "type", "text", "prompt", "x", "\ud800"]): random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


FIELDS = ["model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "stop", "n", "stream",
          "stream_options", "logprobs", "best_of", "tools", "prompt", "messages", "echo", "suffix", "logit_bias"]


def bad_request(rng: random.Random) -> tuple[str, bytes, dict]:
    """(path, body bytes, headers) of one random malformed request."""
    path = rng.choice(["/chat/completions", "/completions"])
    body = json.loads(json.dumps(CHAT if path == "/chat/completions" else COMPLETION))
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        if not isinstance(body, dict):
            break
        if op == 0:  # a field gets a random value (max_tokens stays small or invalid: the test stays fast)
            key = rng.choice(FIELDS)
            value = random_value(rng)
            body[key] = value if key not in ("max_tokens", "max_completion_tokens") or not (
                isinstance(value, int) and not isinstance(value, bool) and 1 < value <= 64) else 1
        elif op == 1 and body:  # a field goes
            body.pop(rng.choice(sorted(body)), None)
        elif op == 2 and path == "/chat/completions":  # a message gets a random shape
            body["messages"] = [random_value(rng) if rng.random() < 0.5 else
                                {"role": random_value(rng), "content": random_value(rng)}]
        elif op == 3:
            body = random_value(rng)  # not an object at all, perhaps
        elif op == 4:
            body["n"] = rng.choice([2, 0, -1, 10**6])  # always refused
        else:
            body["max_tokens"] = rng.choice([0, -5, 10**20, "5", 1.5, None, [], 65])
    try:
        data = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        data = b"{}"
    mangle = rng.randrange(8)
    if mangle == 0:
        data = b"\xef\xbb\xbf" + data
    elif mangle == 1 and data:
        i = rng.randrange(len(data))
        data = data[:i] + bytes([rng.choice([0x80, 0xc3, 0xff, 0xed])]) + data[i:]
    elif mangle == 2:
        data = data[:rng.randrange(len(data) + 1)]  # cut short
    elif mangle == 3:
        data = data.replace(b"1", b"NaN", 1)
    headers = dict(JSON) if rng.random() < 0.9 else {"Content-Type": rng.choice(["text/plain", "", "application/x"])}
    # Every request below is bad for sure: a refused `n` where the mangling left it intact.
    if mangle > 3 and isinstance(body, dict) and "n" not in body:
        data = data[:-1] + b', "n": 3}' if data.endswith(b"}") else data + b"]"
    return path, data, headers


def test_fuzz_1000_bad_requests_get_no_5xx_and_the_server_still_answers(url):
    rng = random.Random(11)
    statuses: dict[int, int] = {}
    with httpx.Client(timeout=60) as client:
        for _ in range(1000):
            path, data, headers = bad_request(rng)
            r = client.post(url + path, content=data, headers=headers)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code < 500, (path, data[:300], r.text[:300])
            if r.status_code >= 400:
                error_of(r)
        good = client.post(url + "/completions", json={"prompt": "Hello", "max_tokens": 6, "temperature": 0})
    assert good.status_code == 200 and good.json()["choices"][0]["text"] == "lolololololo"
    assert statuses.get(400, 0) > 900, statuses


def test_bind_turns_off_nagle_so_small_replies_are_not_held_40ms():
    """Without TCP_NODELAY a keep-alive client waited for a delayed ACK (~40 ms) on every reply."""
    import socket

    from instructune.serve.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


@pytest.mark.parametrize("field, value", [
    ("max_tokens", "5"), ("max_tokens", True), ("max_tokens", 5.0), ("n", "1"), ("n", True), ("seed", "7"),
    ("seed", False), ("top_p", "0.5"), ("top_p", True), ("temperature", "0.5"), ("temperature", True),
    ("stream", "true"), ("stream", 1), ("stream_options", {"include_usage": "yes"}),
])
def test_numbers_and_booleans_are_not_coerced_from_other_json_types(field, value):
    # These were read as 5, 1, 0.5, True...; a form field sent as text is the client's mistake.
    from instructune.serve.api_errors import ApiError
    from instructune.serve.requests import ChatRequest, CompletionRequest, parse_request

    for model, body in ((CompletionRequest, {"prompt": "hi"}), (ChatRequest, CHAT)):
        with pytest.raises(ApiError) as e:
            parse_request(json.dumps({**body, field: value}).encode(), model)
        assert e.value.status == 400 and e.value.param.split(".")[0] == field, (e.value.param, e.value.message)
    wrong = json.dumps({**CHAT, "max_completion_tokens": "5"}).encode()
    with pytest.raises(ApiError, match="max_completion_tokens"):
        parse_request(wrong, ChatRequest)


def test_json_numbers_of_the_right_kind_are_accepted():
    from instructune.serve.requests import CompletionRequest, parse_request

    req = parse_request(json.dumps({"prompt": "hi", "max_tokens": 5, "top_p": 1, "temperature": 0, "seed": 3,
                                    "n": 1, "stream": True}).encode(), CompletionRequest)
    assert (req.max_tokens, req.top_p, req.temperature, req.seed, req.stream) == (5, 1.0, 0.0, 3, True)
