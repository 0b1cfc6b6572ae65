"""`instructune serve` over the real wire: the CLI verb runs the tiny model in a subprocess on
127.0.0.1 (fixture `served`, tests/serve/conftest.py, limits: body 20000 bytes, max_tokens 64),
and both raw HTTP requests and the `OpenAIGenerator` backend talk to it.
"""

from __future__ import annotations

import httpx2 as httpx
import pytest

from instructune.generation.params import GenParams
from instructune.synth.backends import LocalGenerator, OpenAIGenerator

PROMPTS = ["Hello", "The capital of", "Summarize the following article", "Write a poem about the sea",
           "Translate to French:", "List three colours", "What is 2 + 2?", "Explain photosynthesis"]
GREEDY = ["lolololololo", " of of of of of of", "lelelelelele", "aaaaaa", "::::::", "ssssss", "??????",
          "isisisisisis"]
GREEDY0 = GenParams(max_new_tokens=6, temperature=0)


@pytest.fixture(scope="module")
def local(tiny_model) -> LocalGenerator:
    return LocalGenerator.load(tiny_model)


def post(url: str, path: str, body=None, **kw) -> httpx.Response:
    """POST `body` as JSON (or raw `content=`) to `url + path`."""
    if body is not None:
        kw["json"] = body
    return httpx.post(url + path, timeout=120, **kw)


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_binds_loopback_and_lists_the_model(served, tiny_model):
    assert served.startswith("http://127.0.0.1:")  # no --host given: loopback only
    health = httpx.get(served.removesuffix("/v1") + "/health").json()
    assert (health["status"], health["model"]) == ("ok", tiny_model)
    assert isinstance(health["batches"], int) and health["prompts"] >= health["batches"]
    models = httpx.get(served + "/models").json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == [tiny_model]


def test_chat_completion_shape(served, local, tiny_model):
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]
    r = post(served, "/chat/completions", {"model": tiny_model, "messages": msgs, "max_tokens": 5,
                                           "temperature": 1.0, "seed": 5})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["model"] == tiny_model and isinstance(body["created"], int)
    [choice] = body["choices"]
    want = local.generate(local.chat_ids([msgs]), GenParams(max_new_tokens=5, temperature=1.0, seed=5))[0]
    assert choice == {"index": 0, "message": {"role": "assistant", "content": want.text.strip()},
                      "finish_reason": want.finish_reason, "logprobs": None}
    n_prompt = len(local.chat_ids([msgs])[0])
    assert body["usage"] == {"prompt_tokens": n_prompt, "completion_tokens": want.completion_tokens,
                             "total_tokens": n_prompt + want.completion_tokens}


def test_chat_accepts_text_parts(served):
    parts = {"role": "user", "content": [{"type": "text", "text": "Name"}, {"type": "text", "text": "a colour."}]}
    plain = {"role": "user", "content": "Name\na colour."}
    a = post(served, "/chat/completions", {"messages": [parts], "max_tokens": 4, "temperature": 0}).json()
    b = post(served, "/chat/completions", {"messages": [plain], "max_tokens": 4, "temperature": 0}).json()
    assert a["usage"] == b["usage"] and a["choices"] == b["choices"]


def test_completion_shape_list_prompt_and_stop(served, tiny_model):
    r = post(served, "/completions", {"model": tiny_model, "prompt": ["Hello", "The capital of"], "max_tokens": 6,
                                      "temperature": 0, "stop": "ol"})
    assert r.status_code == 200
    body = r.json()
    assert body["id"].startswith("cmpl-") and body["object"] == "text_completion" and body["model"] == tiny_model
    assert body["choices"] == [
        {"index": 0, "text": "l", "finish_reason": "stop", "logprobs": None},
        {"index": 1, "text": " of of of of of of", "finish_reason": "length", "logprobs": None}]
    assert body["usage"]["completion_tokens"] == 2 + 6
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 8


def test_max_tokens_bound_and_context(served):
    ok = post(served, "/completions", {"prompt": "Hello", "max_tokens": 64, "temperature": 0})
    assert ok.status_code == 200 and ok.json()["usage"]["completion_tokens"] == 64
    r = post(served, "/completions", {"prompt": "Hello", "max_tokens": 65})
    assert r.status_code == 400
    assert error_of(r) == {"message": "max_tokens 65 exceeds this server's limit 64", "type": "invalid_request_error",
                           "param": "max_tokens", "code": None}
    r = post(served, "/completions", {"prompt": "Hello " * 1100, "max_tokens": 8})  # tiny context: 1024
    assert r.status_code == 400 and "exceeds the model's context of 1024 tokens" in error_of(r)["message"]


def test_request_body_bound_is_413(served):
    big = {"prompt": "a" * 20001}
    r = post(served, "/completions", big)
    assert r.status_code == 413 and error_of(r)["message"] == "request body exceeds 20000 bytes"

    def chunks():  # no Content-Length: the server must count the bytes itself
        yield b'{"prompt": "'
        for _ in range(30):
            yield b"a" * 1000
        yield b'"}'

    r = post(served, "/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("path,body,param", [
    ("/chat/completions", {"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
    ("/chat/completions", {"messages": []}, "messages"),
    ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
    ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "temperature": 3}, "temperature"),
    ("/completions", {"prompt": "hi", "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ("/completions", {"prompt": "hi", "max_tokens": 0}, "max_tokens"),
    ("/completions", {"prompt": ""}, "prompt"),
    ("/completions", {"prompt": []}, "prompt"),
    ("/completions", {"max_tokens": 3}, "prompt"),
])
def test_bad_input_is_400_naming_the_field(served, path, body, param):
    r = post(served, path, body)
    assert r.status_code == 400 and error_of(r)["param"] == param


def test_malformed_json_and_unknown_route(served):
    r = post(served, "/chat/completions", content=b'{"messages": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_of(r)["message"].startswith("the body is not valid JSON")
    r = httpx.get(served + "/nothing-here")
    assert r.status_code == 404 and error_of(r)["message"] == "Not Found"


def test_http_backend_concurrent_requests_come_back_in_order(served, tiny_model):
    gen = OpenAIGenerator(served, model=tiny_model, concurrency=4, api_key_env="", max_retries=0)
    assert gen.complete(PROMPTS, GREEDY0) == GREEDY  # 8 requests, 4 in flight, batched server-side
    assert gen.complete(list(reversed(PROMPTS)), GREEDY0) == list(reversed(GREEDY))
    assert (gen.stats.requests, gen.stats.failures, gen.stats.completion_tokens) == (16, 0, 16 * 6)
    gen.close()


def test_http_backend_matches_local_backend(served, local, tiny_model):
    gen = OpenAIGenerator(served, model=tiny_model, concurrency=1, api_key_env="", max_retries=0)
    sampled = GenParams(max_new_tokens=6, temperature=1.0, seed=5)
    convs = [[{"role": "user", "content": p}] for p in PROMPTS[:3]]
    # concurrency 1: each request runs alone on the server, like one-by-one local calls
    assert gen.chat(convs, sampled) == [local.chat([c], sampled)[0] for c in convs]
    assert gen.chat(convs[:1], sampled) == ["cookem blQsh o"]  # each row its own RNG (row_seed)
    stop = GenParams(max_new_tokens=6, temperature=0, stop=["ol", "::"])
    assert gen.complete(PROMPTS[:5], stop) == local.complete(PROMPTS[:5], stop) == [
        "l", " of of of of of of", "lelelelelele", "aaaaaa", ""]
    gen.close()


def test_temperature_0_is_deterministic(served):
    body = {"messages": [{"role": "user", "content": "Write a poem about the sea"}], "max_tokens": 8,
            "temperature": 0}
    first = post(served, "/chat/completions", body).json()["choices"]
    assert all(post(served, "/chat/completions", body).json()["choices"] == first for _ in range(2))
    body = {"prompt": "Explain photosynthesis", "max_tokens": 6, "temperature": 0, "seed": 123}
    assert post(served, "/completions", body).json()["choices"][0]["text"] == "isisisisisis"


@pytest.mark.slow
def test_serve_default_model_over_http(tmp_path):
    """`instructune serve` with no --model serves the embedded default; the HTTP backend reads it."""
    import re
    import subprocess
    import sys
    import time

    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "instructune", "serve", "--port", "0"],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(900):
            m = re.search(r"at (http://\S+/v1)", log.read_text())
            if m or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert m, log.read_text()
        gen = OpenAIGenerator(m.group(1), model="smollm2-135m-instruct", api_key_env="", max_retries=0)
        [reply] = gen.chat([[{"role": "user", "content": "What is the capital of France?"}]],
                           GenParams(max_new_tokens=24, temperature=0))
        assert "Paris" in reply and gen.stats.completion_tokens > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_batch_worker_groups_queued_jobs_by_sampling_parameters():
    """Jobs queued while a batch runs share the next batch when their parameters are equal."""
    import threading

    from instructune.generation.batch_worker import BatchWorker
    from instructune.generation.engine import Generation

    entered, release, calls = threading.Event(), threading.Event(), []

    class Recorder:  # stands in for LocalGenerator: echoes prompts, first call blocks until released
        def generate(self, prompts, params):
            calls.append(([p[0] for p in prompts], params.temperature, params.seed))
            entered.set()
            release.wait(30)
            return [Generation(f"{p[0]}@{params.temperature}", "stop", 1, 1) for p in prompts]

    worker = BatchWorker(Recorder(), batch_size=8, wait_s=0.0)
    p, q = GenParams(temperature=0.0, seed=1), GenParams(temperature=0.5, seed=None)
    a = worker.submit([[1]], p)
    assert entered.wait(30)
    b, c, d = worker.submit([[2], [3]], p), worker.submit([[4]], q), worker.submit([[5]], p)
    release.set()
    assert [g.text for g in b.result(30)] == ["2@0.0", "3@0.0"]
    assert [g.text for g in c.result(30)] + [g.text for g in d.result(30)] + [g.text for g in a.result(30)] == [
        "4@0.5", "5@0.0", "1@0.0"]
    assert [call[:2] for call in calls] == [([1], 0.0), ([2, 3, 5], 0.0), ([4], 0.5)]
    assert calls[1][2] == 1 and isinstance(calls[2][2], int)  # an unseeded batch gets a drawn seed


def test_a_port_in_use_is_one_line_naming_it_before_the_model_loads(tiny_model, capsys):
    import socket

    from instructune.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--model", tiny_model, "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"port {port} on 127.0.0.1 is in use" in err and "--port N or serve.port=N" in err
