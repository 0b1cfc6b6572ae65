"""The HTTP generator: any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, a hosted
API, or `instructune serve`).

    gen = OpenAIGenerator("http://127.0.0.1:8000/v1", model="smollm2-135m-instruct", concurrency=4)
    gen.chat([[{"role": "user", "content": "Name a colour."}]], GenParams(temperature=0))

`chat` posts each conversation to `{base_url}/chat/completions`, `complete` each prompt to
`{base_url}/completions`, `concurrency` at a time on a thread pool sharing one connection pool;
replies come back in input order.

Retries: a 429, a 5xx or a transport error (refused connection, timeout) is retried up to
`max_retries` times. The wait before retry `a` (0-based) is the server's `Retry-After` when it
sends one, else `d/2 + uniform(0, d/2)` with `d = backoff_base * 2**a` ("equal jitter", so
clients that failed together do not retry together); every wait is capped at `backoff_max`.
Any other 4xx is not retried (the request itself is wrong).

Failures: a generation that still fails is returned as "" and counted in `stats.failures`; if
*every* generation of a call fails, `GeneratorError` is raised with the last error, because
then the endpoint, key or model is wrong and carrying on would only write empty records.

The API key is read from an environment variable (`api_key_env`) when the generator is made;
it lives only in the request headers, never in `name`, errors or files.
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx

from instructune.generation.generator import GenStats, Message
from instructune.generation.params import GenParams
from instructune.generation.stopping import cut_at_stop

MAX_WIRE_STOPS = 4  # OpenAI accepts at most 4 stop strings; the rest are cut here


class GeneratorError(RuntimeError):
    """Every generation of a call failed (unreachable endpoint, bad key, unknown model, ...)."""


class _Retryable(Exception):
    """A failed attempt worth retrying; `wait` is the server's Retry-After in seconds, if any."""

    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


class _Fatal(Exception):
    """A failed attempt not worth retrying (a 4xx other than 429, or a malformed reply)."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class OpenAIGenerator:
    """`Generator` over an OpenAI-compatible HTTP endpoint.

    Args:
        base_url: the API root that `/chat/completions` hangs off, e.g. "http://127.0.0.1:8000/v1".
        model: model name sent with each request.
        api_key_env: environment variable holding the API key; unset or empty sends no key
            (local servers need none).
        concurrency: requests in flight at once.
        connect_timeout: seconds to open a connection.
        read_timeout: seconds to wait for a reply (a long generation needs many).
        max_retries: retries after the first attempt, on 429, 5xx and transport errors.
        backoff_base: seconds before the first retry (doubled each retry, jittered).
        backoff_max: cap on any one wait, `Retry-After` included.
        sleep: how to wait (tests pass a recorder).
        rng: jitter source (seeded, so waits are reproducible).
    """

    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 4,
                 connect_timeout: float = 10.0, read_timeout: float = 120.0, max_retries: int = 5,
                 backoff_base: float = 1.0, backoff_max: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.base_url, self.model = base_url.rstrip("/"), model
        self.name = f"openai:{model}@{self.base_url}"
        self.concurrency, self.max_retries = concurrency, max_retries
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.sleep, self.rng = sleep, rng or random.Random(0)
        self.stats = GenStats()
        self.last_error: str | None = None
        self._lock = threading.Lock()  # guards stats and rng across worker threads
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency))

    def __repr__(self) -> str:
        return f"OpenAIGenerator({self.name!r}, concurrency={self.concurrency})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def chat(self, conversations: list[list[Message]], params: GenParams) -> list[str]:
        """One reply per conversation (whitespace stripped), in input order; "" where it failed."""
        bodies = [{"messages": c} for c in conversations]
        return [t.strip() for t in self._run("/chat/completions", bodies, params)]

    def complete(self, prompts: list[str], params: GenParams) -> list[str]:
        """One continuation per raw prompt, in input order; "" where it failed."""
        return self._run("/completions", [{"prompt": p} for p in prompts], params)

    def _run(self, path: str, bodies: list[dict[str, Any]], params: GenParams) -> list[str]:
        start = time.perf_counter()
        payload = {"model": self.model, "max_tokens": params.max_new_tokens, "temperature": params.temperature,
                   "top_p": params.top_p, "seed": params.seed, "n": 1}
        if params.stop:
            payload["stop"] = params.stop[:MAX_WIRE_STOPS]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            texts = list(pool.map(lambda b: self._one(path, {**payload, **b}), bodies))
        with self._lock:
            self.stats.requests += len(bodies)
            self.stats.seconds += time.perf_counter() - start
        if bodies and all(t is None for t in texts):
            raise GeneratorError(f"all {len(bodies)} requests to {self.base_url}{path} failed; last: {self.last_error}")
        return ["" if t is None else cut_at_stop(t, params.stop)[0] for t in texts]

    def _one(self, path: str, body: dict[str, Any]) -> str | None:
        """One generation with retries; None when it failed for good."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._attempt(path, body)
            except _Fatal as e:
                return self._fail(str(e))
            except _Retryable as e:
                if attempt == self.max_retries:
                    return self._fail(f"{e} (after {self.max_retries} retries)")
                self.sleep(self._wait(attempt, e.wait))
                with self._lock:
                    self.stats.retries += 1
        raise AssertionError("unreachable")

    def _attempt(self, path: str, body: dict[str, Any]) -> str:
        try:
            r = self._client.post(self.base_url + path, json=body)
        except httpx.TransportError as e:  # refused, reset, timed out: the server may come back
            raise _Retryable(f"{type(e).__name__}: {e}") from e
        if r.status_code == 429 or r.status_code >= 500:
            raise _Retryable(f"HTTP {r.status_code}: {r.text[:200]}", retry_after_seconds(r.headers.get("retry-after")))
        if r.status_code != 200:
            raise _Fatal(f"HTTP {r.status_code}: {r.text[:500]}")
        try:
            data = r.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] if "message" in choice else choice["text"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise _Fatal(f"malformed reply ({type(e).__name__}: {e}): {r.text[:200]}") from e
        usage = data.get("usage") or {}
        with self._lock:
            self.stats.completion_tokens += int(usage.get("completion_tokens") or 0)
            self.stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        return text or ""

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry `attempt` (see module docstring)."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        d = min(self.backoff_base * 2 ** attempt, self.backoff_max)
        with self._lock:
            return d / 2 + self.rng.uniform(0, d / 2)

    def _fail(self, message: str) -> None:
        with self._lock:
            self.stats.failures += 1
            self.last_error = message
        return None
