"""Generator backends: the local model (batching, stop strings, seeds) and the HTTP client's
retries, against a scripted HTTP server on loopback (real sockets, no mocks of the client).

The wire tests against `instructune serve` itself are in tests/serve/test_server.py.
"""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from instructune.config import Config, ConfigError, SynthConfig, load_config
from instructune.generation.params import GenParams
from instructune.generation.stopping import cut_at_stop
from instructune.synth.backends import GeneratorError, LocalGenerator, OpenAIGenerator, build_generator
from instructune.synth.backends.openai_http import retry_after_seconds

PROMPTS = ["Hello", "The capital of", "Summarize the following article", "Write a poem about the sea",
           "Translate to French:", "List three colours", "What is 2 + 2?", "Explain photosynthesis"]
# Greedy continuations of PROMPTS by the seeded tiny model (tests/tiny.py), 6 new tokens each.
GREEDY = ["lolololololo", " of of of of of of", "lelelelelele", "aaaaaa", "::::::", "ssssss", "??????",
          "isisisisisis"]
GREEDY0 = GenParams(max_new_tokens=6, temperature=0)


@pytest.fixture(scope="module")
def local(tiny_model) -> LocalGenerator:
    return LocalGenerator.load(tiny_model, batch_size=3)


# ---- local backend ---------------------------------------------------------------------------

def test_local_batched_equals_one_by_one_at_temperature_0(local):
    batched = local.complete(PROMPTS, GREEDY0)  # 3 batches of 3, 3, 2 prompts, sorted by length
    assert batched == GREEDY
    assert [local.complete([p], GREEDY0)[0] for p in PROMPTS] == GREEDY
    convs = [[{"role": "user", "content": p}] for p in PROMPTS[:4]]
    assert local.chat(convs, GREEDY0) == [local.chat([c], GREEDY0)[0] for c in convs]


def test_local_generation_details_and_stats(local):
    local.stats.requests = local.stats.completion_tokens = 0
    gens = local.generate(local.complete_ids(PROMPTS[:2]), GREEDY0)
    assert [(g.text, g.finish_reason, g.prompt_tokens, g.completion_tokens) for g in gens] == [
        ("lolololololo", "length", len(local.complete_ids(["Hello"])[0]), 6),
        (" of of of of of of", "length", len(local.complete_ids(["The capital of"])[0]), 6)]
    assert (local.stats.requests, local.stats.completion_tokens) == (2, 12)


def test_local_stop_strings_cut_the_text_and_end_the_row(local):
    params = GenParams(max_new_tokens=6, temperature=0, stop=["ol", "::"])
    gens = local.generate(local.complete_ids(PROMPTS[:5]), params)
    # "lo|lo": the row ends as soon as "ol" is generated (2 tokens) and is cut before it.
    assert [(g.text, g.finish_reason, g.completion_tokens) for g in gens] == [
        ("l", "stop", 2), (" of of of of of of", "length", 6), ("lelelelelele", "length", 6),
        ("aaaaaa", "length", 6), ("", "stop", 2)]
    assert local.complete(PROMPTS[:5], params) == ["l", " of of of of of of", "lelelelelele", "aaaaaa", ""]


def test_local_stop_string_never_matches_across_the_prompt(local):
    # "Hel" + "lo" (prompt) + "lo" (generated) ends in "Hellolo", but the generated text alone never
    # holds it: generation must run to max_new_tokens (transformers' own stop_strings would stop here).
    gens = local.generate(local.complete_ids(["Hello"]), GenParams(max_new_tokens=6, temperature=0,
                                                                   stop=["Hellolo"]))
    assert (gens[0].text, gens[0].finish_reason, gens[0].completion_tokens) == ("lolololololo", "length", 6)


def test_local_sampling_is_seeded(local):
    convs = [[{"role": "user", "content": p}] for p in PROMPTS[:2]]
    a = local.chat(convs, GenParams(max_new_tokens=6, temperature=1.0, seed=5))
    b = local.chat(convs, GenParams(max_new_tokens=6, temperature=1.0, seed=5))
    c = local.chat(convs, GenParams(max_new_tokens=6, temperature=1.0, seed=6))
    assert a == b and a != c
    assert local.chat(convs[:1], GenParams(max_new_tokens=6, temperature=1.0, seed=5)) == ["cookem blQsh o"]  # each row its own RNG (row_seed)


def test_local_chat_needs_a_chat_template(local):
    bare = LocalGenerator(local.model, local.tokenizer, name="bare")
    template, local.tokenizer.chat_template = local.tokenizer.chat_template, None
    try:
        with pytest.raises(ValueError, match="no chat template"):
            bare.chat([[{"role": "user", "content": "hi"}]], GREEDY0)
    finally:
        local.tokenizer.chat_template = template


def test_cut_at_stop():
    assert cut_at_stop("abcSTOPdefEND", ["END", "STOP"]) == ("abc", True)
    assert cut_at_stop("abc", ["x", ""]) == ("abc", False)


# ---- build_generator -------------------------------------------------------------------------

def test_build_generator_from_config(tiny_model):
    gen = build_generator(SynthConfig(model=tiny_model, batch_size=2))
    assert isinstance(gen, LocalGenerator) and gen.batch_size == 2 and gen.name == tiny_model
    cfg = load_config(None, ["synth.backend=openai", "synth.base_url=http://127.0.0.1:9/v1/", "synth.concurrency=2",
                             "synth.max_retries=1", "synth.model=m"])
    http = build_generator(cfg)  # a whole Config works too
    assert isinstance(http, OpenAIGenerator)
    assert (http.base_url, http.model, http.concurrency, http.max_retries) == ("http://127.0.0.1:9/v1", "m", 2, 1)
    with pytest.raises(ConfigError, match="synth.backend"):
        load_config(None, ["synth.backend=vllm"])
    with pytest.raises(ConfigError, match="concurrency"):
        build_generator(Config(synth=SynthConfig(backend="openai", concurrency=0)))


# ---- HTTP backend against a scripted server --------------------------------------------------

class Scripted:
    """A loopback HTTP server; `reply(n, path, body)` gives (status, headers, json) for attempt n."""

    def __init__(self, reply):
        self.reply, self.seen, self.lock = reply, [], threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.seen.append((self.path, dict(self.headers), body))
                    n = len(outer.seen) - 1
                status, headers, payload = outer.reply(n, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for k, v in {**headers, "Content-Type": "application/json", "Content-Length": str(len(data))}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def ok_chat(text: str, tokens: int = 3) -> tuple[int, dict, dict]:
    return 200, {}, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                  "finish_reason": "stop"}], "usage": {"completion_tokens": tokens}}


@pytest.fixture
def scripted():
    servers = []

    def start(reply) -> Scripted:
        servers.append(Scripted(reply))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def client(url: str, waits: list[float], **kw) -> OpenAIGenerator:
    kw = {"model": "m", "max_retries": 3, "backoff_base": 1.0, "backoff_max": 30.0, "sleep": waits.append,
          "rng": random.Random(0), "api_key_env": "", **kw}
    return OpenAIGenerator(url, **kw)


def test_http_retries_429_and_5xx_honouring_retry_after(scripted):
    script = [(429, {"Retry-After": "7"}, {"error": "slow down"}), (503, {}, {"error": "busy"}), ok_chat("fine")]
    srv = scripted(lambda n, path, body: script[n])
    waits: list[float] = []
    gen = client(srv.url, waits)
    assert gen.chat([[{"role": "user", "content": "hi"}]], GenParams()) == ["fine"]
    assert len(srv.seen) == 3 and {p for p, _, _ in srv.seen} == {"/v1/chat/completions"}
    # Retry 0 waits what the server said; retry 1 has no header: equal jitter in [d/2, d], d = 1 * 2**1.
    assert waits[0] == 7.0 and 1.0 <= waits[1] <= 2.0
    assert waits[1] == 1.0 + random.Random(0).uniform(0, 1.0)
    assert (gen.stats.requests, gen.stats.retries, gen.stats.failures, gen.stats.completion_tokens) == (1, 2, 0, 3)


def test_http_retry_after_is_capped_and_backoff_doubles(scripted):
    srv = scripted(lambda n, path, body: (500, {"Retry-After": "3600"} if n == 0 else {}, {}))
    waits: list[float] = []
    gen = client(srv.url, waits, backoff_max=30.0, max_retries=4)
    with pytest.raises(GeneratorError, match="HTTP 500"):
        gen.complete(["x"], GenParams())
    assert len(srv.seen) == 5 and waits[0] == 30.0  # Retry-After capped at backoff_max
    for a, w in enumerate(waits[1:], start=1):  # d = 2, 4, 8
        assert 2 ** a / 2 <= w <= 2 ** a
    assert (gen.stats.retries, gen.stats.failures) == (4, 1)


def test_http_no_retry_on_400(scripted):
    srv = scripted(lambda n, path, body: (400, {}, {"error": {"message": "bad field"}}))
    waits: list[float] = []
    gen = client(srv.url, waits)
    with pytest.raises(GeneratorError, match="HTTP 400.*bad field"):
        gen.chat([[{"role": "user", "content": "hi"}]], GenParams())
    assert (len(srv.seen), waits, gen.stats.retries, gen.stats.failures) == (1, [], 0, 1)


def test_http_one_failure_in_a_call_is_an_empty_reply(scripted):
    srv = scripted(lambda n, path, body: (400, {}, {}) if body["prompt"] == "bad" else
                   (200, {}, {"choices": [{"text": body["prompt"].upper()}]}))
    gen = client(srv.url, [], concurrency=3)
    assert gen.complete(["a", "bad", "c", "d"], GenParams()) == ["A", "", "C", "D"]
    assert (gen.stats.requests, gen.stats.failures) == (4, 1) and "HTTP 400" in gen.last_error


def test_http_connection_refused_is_retried_then_raised():
    import socket

    with socket.socket() as s:  # a port nobody listens on: bind, read it, close
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits: list[float] = []
    gen = client(f"http://127.0.0.1:{port}/v1", waits, max_retries=2)
    with pytest.raises(GeneratorError, match="ConnectError"):
        gen.complete(["x"], GenParams())
    assert (len(waits), gen.stats.retries, gen.stats.failures) == (2, 2, 1)


def test_http_request_body_key_and_local_stop_cut(scripted, monkeypatch):
    srv = scripted(lambda n, path, body: ok_chat("abc STOP def"))
    monkeypatch.setenv("TEST_GEN_KEY", "sk-secret")
    gen = client(srv.url, [], api_key_env="TEST_GEN_KEY", model="served")
    params = GenParams(max_new_tokens=9, temperature=0.5, top_p=0.9, seed=4, stop=["STOP", "a1", "a2", "a3", "a4"])
    conv = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert gen.chat([conv], params) == ["abc"]  # cut here too: a server may ignore `stop`
    _, headers, body = srv.seen[0]
    assert headers["Authorization"] == "Bearer sk-secret"
    assert body == {"model": "served", "max_tokens": 9, "temperature": 0.5, "top_p": 0.9, "seed": 4, "n": 1,
                    "stop": ["STOP", "a1", "a2", "a3"], "messages": conv}
    assert "sk-secret" not in repr(gen) + gen.name
    monkeypatch.delenv("TEST_GEN_KEY")
    client(srv.url, [], api_key_env="TEST_GEN_KEY").chat([conv], GenParams())
    assert "Authorization" not in srv.seen[1][1]


def test_retry_after_parsing():
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.slow
def test_default_model_local_generator_answers():
    from instructune.model.load import DEFAULT_MODEL

    gen = build_generator(SynthConfig())  # the embedded SmolLM2-135M-Instruct, offline
    convs = [[{"role": "user", "content": "What is the capital of France?"}],
             [{"role": "user", "content": "Write the numbers from one to five."}]]
    replies = gen.chat(convs, GenParams(max_new_tokens=24, temperature=0))
    assert gen.name == DEFAULT_MODEL and "Paris" in replies[0]
    assert replies == [gen.chat([c], GenParams(max_new_tokens=24, temperature=0))[0] for c in convs]
