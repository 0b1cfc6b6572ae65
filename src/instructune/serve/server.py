"""`instructune serve`: an OpenAI-compatible HTTP server over any instructune run or HF model.

    instructune serve --model runs/quickstart --port 8000
    curl -s 127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
         -d '{"model": "runs/quickstart", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 32}'

Routes: POST /v1/chat/completions, POST /v1/completions (prompt: a string or a list of them),
GET /v1/models, GET /health. Replies have OpenAI's shapes (id, object, created, model,
choices with message/text and finish_reason "stop"|"length", usage). The loaded model answers
under the names `/v1/models` lists (`model_names`, default the name it was loaded by); a request
naming another `model` gets 404 (code "model_not_found"), one naming none is answered.

Bounds and errors (OpenAI's error shape, {"error": {"message", "type", "param", "code"}}):
- a body over `serve.max_body_bytes` → 413;
- `max_tokens` over `serve.max_tokens_limit`, or prompt + max_tokens over the model's context
  → 400 (refused, never silently clamped); no max_tokens → `serve.default_max_tokens`;
- invalid JSON or fields (schema) → 400 naming the field; `n` > 1, more than 4 stop
  strings or one over 256 characters, an empty prompt → 400;
- parameters this server cannot honour (`logprobs`, `best_of`, `tools`, `response_format`
  json, `logit_bias`, penalties, `echo`, `suffix`, `top_k`, ...: `UNSUPPORTED`) → 400 naming
  the parameter, unless given their neutral value (false, 1, [], 0, ...); anything else a
  request carries that does not change the reply (`user`, `metadata`, ...) is ignored.

No client input gets a 5xx: the body is read here, strictly, rather than by the framework, so a
UTF-8 byte order mark, invalid UTF-8, NaN / Infinity, numbers too long to convert, nesting too
deep for the parser, and strings holding a lone surrogate (`"\ud800"`, which no tokenizer
takes) are all 400 with a message; `seed` must lie in the range torch's generator takes
(-2**63 .. 2**64-1); a temperature too small to divide by (under 1e-5) samples greedily.

Streaming (`"stream": true`) answers with server-sent events in OpenAI's chunk format
(`chat.completion.chunk` / `text_completion` chunks, then `data: [DONE]`), token by token; with
`stream_options.include_usage` a last chunk carries the usage. The pieces join to exactly the
non-streamed text (see `serve/streaming.py`). A stream runs alone, not batched with other
requests (simpler, and its first token is not held up by a batch); the prompts of a streamed
/v1/completions request run one after another. A client that disconnects stops its generation.

Access: with an API key (`api_key`, or the environment variable INSTRUCTUNE_API_KEY for
`main`) every route but /health needs `Authorization: Bearer <key>` (compared in constant time;
401 in OpenAI's error shape otherwise, and /health then names nothing). The key is never
logged or echoed. `main` refuses to bind beyond loopback without a key, since anyone who can
reach the address could then use the model and the machine, unless `insecure=True` says to.

One worker thread owns the model, so requests never run on it concurrently. Requests that
arrive while a batch runs queue up and run as the next batch, grouped by equal sampling
parameters (max_tokens, temperature, top_p, stop, seed); an idle worker waits
`serve.batch_wait_ms` after a request for others sent at the same moment (each arrival
restarts the wait, 10 waits at most). At temperature > 0 a seeded request's
sample can therefore depend on which requests share its batch (as with OpenAI, seeds are
best effort); sent alone, the same seed gives the same reply.
"""

from __future__ import annotations

import asyncio
import codecs
import hmac
import ipaddress
import json
import os
import queue
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException

from instructune.config import ConfigError, ServeConfig
from instructune.serve.engine import Engine, Generation
from instructune.synth.generator import GenParams

API_KEY_ENV = "INSTRUCTUNE_API_KEY"
MAX_STOPS = 4
MAX_STOP_CHARS = 256  # a stop string is searched for after every token: keep that bounded
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1  # what torch.manual_seed accepts
_SURROGATE = re.compile("[\ud800-\udfff]")


class ApiError(Exception):
    """An error reply: HTTP `status` with OpenAI's error body."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_response(status: int, message: str, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status,
                        headers=headers)


# Request parameters this server cannot honour, with the values that ask for nothing (and so
# are accepted): anything else is refused, since ignoring it would change the reply silently.
UNSUPPORTED: dict[str, tuple] = {
    "logprobs": (None, False), "top_logprobs": (None, 0), "best_of": (None, 1), "echo": (None, False),
    "suffix": (None, ""), "tools": (None, []), "tool_choice": (None, "none"), "functions": (None, []),
    "function_call": (None, "none"), "response_format": (None, {"type": "text"}), "logit_bias": (None, {}),
    "presence_penalty": (None, 0), "frequency_penalty": (None, 0), "top_k": (None, 0, -1),
    "min_p": (None, 0), "repetition_penalty": (None, 1), "audio": (None,), "modalities": (None, ["text"]),
}


def refuse_unsupported(body: dict[str, Any]) -> None:
    """ApiError (400) for the first parameter of `body` that asks for something unsupported."""
    for name, neutral in UNSUPPORTED.items():
        value = body.get(name)
        # `type(x) is bool` keeps True from passing for 1 (best_of) and False for 0.
        if not any(value == ok and (type(value) is bool) == (type(ok) is bool) for ok in neutral):
            shown = repr(value)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ApiError(400, f"{name} is not supported by instructune serve (got {shown}); leave it out",
                           name)


# ---- request bodies --------------------------------------------------------------------------

class _StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")  # other OpenAI fields (user, presence_penalty, ...) are ignored

    model: str | None = None
    max_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int | None = Field(None, ge=SEED_MIN, le=SEED_MAX)
    stop: str | list[str] | None = None
    n: int = 1
    stream: bool = False
    stream_options: _StreamOptions | None = None


class _TextPart(BaseModel):
    type: Literal["text"]
    text: str


class _Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[_TextPart]


class ChatRequest(_Sampling):
    messages: list[_Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)


class CompletionRequest(_Sampling):
    prompt: str | list[str]


# ---- the worker that owns the model ----------------------------------------------------------

@dataclass
class _Job:
    prompts: list[list[int]]
    params: GenParams  # seed None: draw one per batch
    future: Future


@dataclass
class _StreamJob:
    """Prompts to stream one after another; `emit` gets ("text", i, piece), ("done", i,
    Generation), ("error", exception) and finally ("end",), from the worker thread."""

    prompts: list[list[int]]
    params: GenParams
    strip: bool
    emit: Callable[[tuple], None]
    cancelled: threading.Event = field(default_factory=threading.Event)


def _key(p: GenParams) -> tuple:
    return (p.max_new_tokens, p.temperature, p.top_p, tuple(p.stop), p.seed)


class BatchWorker:
    """Runs generation jobs on one thread; jobs waiting together with equal parameters share a batch.

    Args:
        gen: the generation engine (its model is touched by this thread only).
        batch_size: after the first job of an idle spell, wait for up to this many prompts, so
            that requests sent together (a client's thread pool) share one batch.
        wait_s: how long to wait for the next job, in seconds; each arrival restarts the wait
            (requests sent together trickle in), for at most 10 * wait_s in all.
    """

    def __init__(self, gen: Engine, batch_size: int = 8, wait_s: float = 0.01):
        self.gen, self.queue, self.batch_size, self.wait_s = gen, queue.Queue(), batch_size, wait_s
        self.batches = self.prompts = 0  # generate() calls and prompts served (shown by /health)
        self.thread = threading.Thread(target=self._loop, name="instructune-generate", daemon=True)
        self.thread.start()

    def submit(self, prompts: list[list[int]], params: GenParams) -> Future:
        """Queue `prompts`; the future's result is their `Generation`s in order."""
        fut: Future = Future()
        self.queue.put(_Job(prompts, params, fut))
        return fut

    def submit_stream(self, job: _StreamJob) -> None:
        """Queue a streamed job; it runs alone, and reports through `job.emit`."""
        self.queue.put(job)

    def _loop(self) -> None:
        while True:
            jobs = [self.queue.get()]
            first = time.monotonic()
            deadline = first + self.wait_s
            while True:  # everything that queued up while the last batch ran, or arrives right now
                wait = deadline - time.monotonic()
                try:
                    if sum(len(j.prompts) for j in jobs) < self.batch_size and wait > 0:
                        jobs.append(self.queue.get(timeout=wait))
                        deadline = min(time.monotonic() + self.wait_s, first + 10 * self.wait_s)
                    else:
                        jobs.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            groups: dict[tuple, list[_Job]] = {}
            for job in jobs:
                if not isinstance(job, _StreamJob):
                    groups.setdefault(_key(job.params), []).append(job)
            for group in groups.values():
                self._run(group)
            for job in jobs:
                if isinstance(job, _StreamJob):
                    self._stream(job)

    def _stream(self, job: _StreamJob) -> None:
        params = job.params if job.params.seed is not None else replace(job.params, seed=random.randrange(2**31))
        self.batches += 1
        try:
            for i, prompt in enumerate(job.prompts):
                if job.cancelled.is_set():
                    break
                self.prompts += 1
                g = self.gen.stream(prompt, params, lambda piece, i=i: job.emit(("text", i, piece)),
                                    job.cancelled.is_set, strip=job.strip)
                job.emit(("done", i, g))
        except Exception as e:  # reported in the stream; the worker goes on
            job.emit(("error", e))
        finally:
            job.emit(("end",))

    def _run(self, jobs: list[_Job]) -> None:
        params = jobs[0].params
        if params.seed is None:
            params = replace(params, seed=random.randrange(2**31))
        prompts = [p for j in jobs for p in j.prompts]
        self.batches, self.prompts = self.batches + 1, self.prompts + len(prompts)
        try:
            gens = self.gen.generate(prompts, params)
        except Exception as e:  # one bad batch must not kill the worker
            for j in jobs:
                j.future.set_exception(e)
            return
        k = 0
        for j in jobs:
            j.future.set_result(gens[k:k + len(j.prompts)])
            k += len(j.prompts)


# ---- request → params, prompts → reply -------------------------------------------------------

def lone_surrogate_at(value: Any) -> str | None:
    """The dotted path ("messages.0.content", "" for the body itself) of the first string or
    key in a parsed JSON value that holds a lone surrogate; None when there is none."""
    todo: list[tuple[str, Any]] = [("", value)]  # a stack, not recursion: nesting may be deep
    while todo:
        path, v = todo.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return path
        elif isinstance(v, dict):
            for k, item in v.items():
                if _SURROGATE.search(k):
                    return path
                todo.append((f"{path}.{k}" if path else k, item))
        elif isinstance(v, list):
            todo += [(f"{path}.{i}" if path else str(i), item) for i, item in enumerate(v)]
    return None


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of a request body, read strictly (see the module docstring).

    Raises:
        ApiError: 400 naming what is wrong (and where, for a lone surrogate).
    """
    if raw.startswith(codecs.BOM_UTF8):
        raise ApiError(400, "the body starts with a UTF-8 byte order mark (BOM); send JSON without one")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, f"the body is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None

    def no_constant(name: str):
        raise ApiError(400, f"the body is not valid JSON: {name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as e:
        raise ApiError(400, f"the body is not valid JSON (character {e.pos}: {e.msg})") from None
    except RecursionError:
        raise ApiError(400, "the body is not valid JSON here: nested too deeply") from None
    except ValueError as e:  # an integer literal past Python's conversion limit
        raise ApiError(400, f"the body holds a number too long to read ({e})") from None
    where = lone_surrogate_at(value)
    if where is not None:
        raise ApiError(400, f"{where or 'body'}: a string (or key) contains a lone surrogate (an unpaired "
                            "\\ud800-\\udfff escape); strings must be valid Unicode", where or None)
    return value


def parse_request(raw: bytes, model: type[BaseModel]) -> Any:
    """A request model from a raw body (400 naming the field on any problem, an unsupported
    parameter included)."""
    value = parse_json_body(raw)
    if not isinstance(value, dict):
        raise ApiError(400, f"the body must be a JSON object, got a JSON {type(value).__name__}")
    refuse_unsupported(value)
    try:
        return model.model_validate(value)
    except ValidationError as e:
        raise validation_error(e.errors()) from None


def validation_error(errs: list) -> ApiError:
    """A 400 naming the first fields of pydantic errors (`messages.0.role: ...`)."""
    def where(err) -> str:
        return ".".join(str(x) for x in err["loc"] if x != "body") or "body"

    msg = "; ".join(f"{where(err)}: {err['msg']}" for err in errs[:5])
    return ApiError(400, f"invalid request: {msg}", where(errs[0]) if errs else None)


def sampling_params(req: _Sampling, max_tokens: int | None, cfg: ServeConfig) -> GenParams:
    """GenParams from a request's fields, enforcing the server's bounds (raises ApiError)."""
    if req.n != 1:
        raise ApiError(400, f"n={req.n} is not supported by instructune serve, which returns one choice (n=1); "
                            "send several requests instead", "n")
    if max_tokens is None:
        max_tokens = min(cfg.default_max_tokens, cfg.max_tokens_limit)
    if max_tokens > cfg.max_tokens_limit:
        raise ApiError(400, f"max_tokens {max_tokens} exceeds this server's limit {cfg.max_tokens_limit}",
                       "max_tokens")
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > MAX_STOPS:
        raise ApiError(400, f"at most {MAX_STOPS} stop strings (got {len(stop)})", "stop")
    if any(len(x) > MAX_STOP_CHARS for x in stop):
        raise ApiError(400, f"a stop string may hold at most {MAX_STOP_CHARS} characters "
                            f"(got {max(len(x) for x in stop)})", "stop")
    return GenParams(max_new_tokens=max_tokens, temperature=req.temperature, top_p=req.top_p,
                     stop=[s for s in stop if s], seed=req.seed)


def check_context(gen: Engine, prompts: list[list[int]], max_tokens: int) -> None:
    """Refuse prompts that, with `max_tokens` new tokens, would not fit the model's context."""
    limit = gen.max_positions
    for i, p in enumerate(prompts):
        if not p:
            raise ApiError(400, "prompt must not be empty", "prompt")
        if limit is not None and len(p) + max_tokens > limit:
            raise ApiError(400, f"prompt {i} has {len(p)} tokens; with max_tokens {max_tokens} that exceeds "
                                f"the model's context of {limit} tokens", "max_tokens")


def usage(gens: list[Generation]) -> dict[str, int]:
    prompt, completion = sum(g.prompt_tokens for g in gens), sum(g.completion_tokens for g in gens)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_messages(req: ChatRequest) -> list[dict[str, str]]:
    """Plain {role, content} dicts for the chat template (text parts joined; developer → system)."""
    return [{"role": "system" if m.role == "developer" else m.role,
             "content": m.content if isinstance(m.content, str) else "\n".join(p.text for p in m.content)}
            for m in req.messages]


# ---- streaming (server-sent events) ----------------------------------------------------------

def sse(obj) -> str:
    """One server-sent event holding `obj` as JSON (or the literal `[DONE]`)."""
    return f"data: {obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)}\n\n"


class ChunkFormat:
    """OpenAI's chunk shapes for one streamed reply.

    Args:
        chat: chat.completion.chunk (delta) rather than text_completion (text).
        model: the name in every chunk.
        include_usage: every chunk has "usage": null, and a last chunk (no choices) the usage.
    """

    def __init__(self, chat: bool, model: str, include_usage: bool):
        self.chat, self.model, self.include_usage = chat, model, include_usage
        self.id = f"chatcmpl-{uuid.uuid4().hex}" if chat else f"cmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def chunk(self, choices: list[dict], usage_: dict | None = None) -> dict:
        out = {"id": self.id, "object": "chat.completion.chunk" if self.chat else "text_completion",
               "created": self.created, "model": self.model, "choices": choices}
        if self.include_usage:
            out["usage"] = usage_
        return out

    def choice(self, index: int, text: str | None, finish_reason: str | None = None, role: bool = False) -> dict:
        """A choice with new text (`None`: none, the closing chunk) and the finish reason."""
        if not self.chat:
            return {"index": index, "text": text or "", "logprobs": None, "finish_reason": finish_reason}
        delta = {"role": "assistant", "content": ""} if role else {} if text is None else {"content": text}
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


async def stream_events(worker: BatchWorker, prompts: list[list[int]], params: GenParams,
                        fmt: ChunkFormat) -> AsyncIterator[str]:
    """The server-sent events of one streamed request (see `ChunkFormat`)."""
    loop, events = asyncio.get_running_loop(), asyncio.Queue()

    def emit(item: tuple) -> None:  # called on the worker thread
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down): stop generating
            job.cancelled.set()

    job = _StreamJob(prompts, params, strip=fmt.chat, emit=emit)
    worker.submit_stream(job)
    gens: list[Generation] = []
    try:
        if fmt.chat:
            yield sse(fmt.chunk([fmt.choice(0, "", role=True)]))
        while (item := await events.get())[0] != "end":
            if item[0] == "text":
                yield sse(fmt.chunk([fmt.choice(item[1], item[2])]))
            elif item[0] == "done":
                gens.append(item[2])
                yield sse(fmt.chunk([fmt.choice(item[1], None, item[2].finish_reason)]))
            else:  # an error after the first byte: reported in the stream, which then ends
                e = item[1]
                yield sse({"error": {"message": f"generation failed: {type(e).__name__}: {e}",
                                     "type": "server_error", "param": None, "code": None}})
                return
        if fmt.include_usage:
            yield sse(fmt.chunk([], usage(gens)))
        yield sse("[DONE]")
    finally:
        job.cancelled.set()  # the client left (or the stream ended): stop the generation


# ---- the app ---------------------------------------------------------------------------------

class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413 before any route sees it.

    The body is read here (at most `limit` + one chunk) and replayed to the app, so a chunked
    upload without Content-Length is bounded too.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._too_large(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            more = msg.get("more_body", False)
            if size > self.limit:
                return await self._too_large(scope, receive, send)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        await error_response(413, f"request body exceeds {self.limit} bytes")(scope, receive, send)


class BearerAuth:
    """ASGI middleware: every HTTP route except `open_paths` needs `Authorization: Bearer KEY`.

    The token is compared with `hmac.compare_digest` (no timing leak), and neither the key nor
    the token sent appear in replies or logs. It runs before the body is read, so an
    unauthenticated client cannot make the server buffer a body.
    """

    def __init__(self, app, key: str, open_paths: tuple[str, ...] = ("/health",)):
        self.app, self.key, self.open_paths = app, key.encode("utf-8"), open_paths

    def allowed(self, scope) -> bool:
        if scope["path"] in self.open_paths:
            return True
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        # Compare even when the scheme is wrong, so the time taken says nothing either way.
        ok = hmac.compare_digest(token.strip(), self.key)
        return ok and scheme.lower() == b"bearer"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.allowed(scope):
            return await self.app(scope, receive, send)
        reply = error_response(401, "missing or incorrect API key: send the header Authorization: Bearer <key>",
                               code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        await reply(scope, receive, send)


def resolve_api_key(api_key: str | None) -> str | None:
    """`api_key`, else the environment variable `API_KEY_ENV`; None when neither is set (or empty)."""
    return api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address ("localhost", 127.0.0.0/8, ::1); a host name that
    is not "localhost" may resolve anywhere, so it is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: str | None, insecure: bool) -> None:
    """Refuse to serve beyond loopback without an API key unless `insecure`.

    Raises:
        ConfigError: saying why and what to do.
    """
    if api_key or insecure or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to serve on {host} without an API key: anyone who can reach that address could use "
        f"the model and this machine. Give one (--api-key, or the environment variable {API_KEY_ENV}; "
        "clients send it as Authorization: Bearer <key>), bind 127.0.0.1, or pass --insecure to serve "
        "without a key anyway.")


def create_app(gen: Engine, cfg: ServeConfig, model_names: list[str] | None = None,
               api_key: str | None = None) -> FastAPI:
    """The FastAPI app serving `gen` within `cfg`'s bounds.

    Args:
        gen: the generation engine.
        cfg: the `serve` config section (bounds, batching).
        model_names: the names the model answers to (`/v1/models`); default `[gen.name]`.
        api_key: when set, every route but /health needs `Authorization: Bearer <api_key>`.
    """
    names = list(model_names or [gen.name])
    app = FastAPI(title="instructune serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    if api_key:
        app.add_middleware(BearerAuth, key=api_key)  # added last: runs first, before the body is read
    worker = BatchWorker(gen, cfg.batch_size, cfg.batch_wait_ms / 1000)
    app.state.worker = worker

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError):
        return error_response(e.status, e.message, e.param, e.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        bad = validation_error(e.errors())  # (bodies are parsed by `parse_request`; this is a fallback)
        return error_response(bad.status, bad.message, bad.param)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException):
        return error_response(e.status_code, str(e.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, e: Exception):  # still OpenAI's shape, so clients can read it
        return error_response(500, f"generation failed: {type(e).__name__}: {e}")

    def model_name(req: _Sampling) -> str:
        """The served name a request asked for (the first one when it names none)."""
        if req.model is None:
            return names[0]
        if req.model not in names:
            raise ApiError(404, f"the model {req.model!r} does not exist here; this server serves: "
                                f"{', '.join(names)} (see /v1/models)", "model", "model_not_found")
        return req.model

    async def run(prompts: list[list[int]], params: GenParams) -> list[Generation]:
        check_context(gen, prompts, params.max_new_tokens)
        return await asyncio.wrap_future(worker.submit(prompts, params))

    def stream(req: _Sampling, prompts: list[list[int]], params: GenParams, chat: bool) -> StreamingResponse:
        check_context(gen, prompts, params.max_new_tokens)  # refused before the first byte
        fmt = ChunkFormat(chat, model_name(req), bool(req.stream_options and req.stream_options.include_usage))
        return StreamingResponse(stream_events(worker, prompts, params, fmt), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/health")
    async def health():
        if api_key:  # open to anyone: say that the server is up, nothing more
            return {"status": "ok"}
        return {"status": "ok", "model": gen.name, "batches": worker.batches, "prompts": worker.prompts}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "instructune"}
                                           for name in names]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        req = parse_request(await request.body(), ChatRequest)
        name = model_name(req)
        params = sampling_params(req, req.max_completion_tokens or req.max_tokens, cfg)
        try:
            prompt = gen.chat_ids([chat_messages(req)])
        except Exception as e:  # the chat template refused these messages (or there is none)
            raise ApiError(400, f"cannot apply the chat template: {e}", "messages") from e
        if req.stream:
            return stream(req, prompt, params, chat=True)
        g = (await run(prompt, params))[0]
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": name, "usage": usage([g]),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": g.text.strip()},
                             "finish_reason": g.finish_reason, "logprobs": None}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        req = parse_request(await request.body(), CompletionRequest)
        name = model_name(req)
        params = sampling_params(req, req.max_tokens, cfg)
        texts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
        if not texts or len(texts) > cfg.max_prompts:
            raise ApiError(400, f"prompt must hold 1 to {cfg.max_prompts} strings (got {len(texts)})", "prompt")
        if req.stream:
            return stream(req, gen.complete_ids(texts), params, chat=False)
        gens = await run(gen.complete_ids(texts), params)
        return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                "model": name, "usage": usage(gens),
                "choices": [{"index": i, "text": g.text, "finish_reason": g.finish_reason, "logprobs": None}
                            for i, g in enumerate(gens)]}

    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one.

    It listens before the URL is announced, so a client that connects at once is queued
    until the server accepts rather than refused. TCP_NODELAY is set here (accepted
    connections inherit it): a reply written in two parts would otherwise wait for the
    client's delayed ACK, ~40 ms per request on a keep-alive connection.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock
