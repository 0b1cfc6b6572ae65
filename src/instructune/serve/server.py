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
- `temperature` is a number from 0 to 2 or "auto" (each prompt sampled at the temperature the
  model's temperature head predicts for it; a batch may then hold several). Omitted, it is
  "auto" on a model with the head (an instructune run trained with
  `addons.temperature_head.enabled=true`) and 1 otherwise; "auto" on a model without the
  head → 400 naming `temperature`;
- parameters this server cannot honour (`logprobs`, `best_of`, `tools`, `response_format`
  json, `logit_bias`, penalties, `echo`, `suffix`, `top_k`, ...: `UNSUPPORTED`) → 400 naming
  the parameter, unless given their neutral value (false, 1, [], 0, ...); anything else a
  request carries that does not change the reply (`user`, `metadata`, ...) is ignored.

No client input gets a 5xx: the body is read here, strictly, rather than by the framework, so a
UTF-8 byte order mark, invalid UTF-8, NaN / Infinity, numbers too long to convert, nesting too
deep for the parser, and strings holding a lone surrogate (`"\ud800"`, which no tokenizer
takes) are all 400 with a message; `seed` must lie in the range torch's generator takes
(-2**63 .. 2**64-1); a temperature too small to divide by (under 1e-5) samples greedily.

Segments (what an instructune run's add-ons read, `data/templates.py`): serving a run dir, a
chat is rendered with the run's own template as a `Record` (system messages → system, earlier
turns → history, the last user message → instruction; `Engine.chat_prompts`), so its prompt
ids and segments are exactly those of training; such a chat must end with a user message
(400 otherwise). Any other model gets its chat template as before. Raw completions carry no
segments: every prompt token is read as instruction.

Streaming (`"stream": true`) answers with server-sent events in OpenAI's chunk format
(`chat.completion.chunk` / `text_completion` chunks, then `data: [DONE]`), token by token; with
`stream_options.include_usage` a last chunk carries the usage. The pieces join to exactly the
non-streamed text (see `generation/streaming.py`). A stream runs alone, not batched with other
requests (simpler, and its first token is not held up by a batch); the prompts of a streamed
/v1/completions request run one after another. A client that disconnects stops its generation.

Access: with an API key (`api_key`, or the environment variable INSTRUCTUNE_API_KEY for
`main`) every route but /health needs `Authorization: Bearer <key>` (compared in constant time;
401 in OpenAI's error shape otherwise, and /health then names nothing). The key is never
logged or echoed. `main` refuses to bind beyond loopback without a key, since anyone who can
reach the address could then use the model and the machine, unless `insecure=True` says to.

One worker thread owns the model (`generation/batch_worker.py`), so requests never run on it
concurrently. Requests that arrive while a batch runs queue up and run as the next batch,
grouped by equal sampling parameters (max_tokens, temperature, top_p, stop, seed); an idle
worker waits `serve.batch_wait_ms` after a request for others sent at the same moment (each
arrival restarts the wait, 10 waits at most). At temperature > 0 a seeded request's
sample can therefore depend on which requests share its batch (as with OpenAI, seeds are
best effort); sent alone, the same seed gives the same reply.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from starlette.exceptions import HTTPException

from instructune.config import ServeConfig
from instructune.generation.batch_worker import BatchWorker
from instructune.generation.engine import Engine, Generation
from instructune.generation.params import GenParams
from instructune.serve.api_errors import ApiError, error_response
from instructune.serve.auth import API_KEY_ENV, check_exposure, resolve_api_key  # noqa: F401  (the server's API)
from instructune.serve.middleware import BearerAuth, BodyLimit
from instructune.serve.requests import (ChatRequest, CompletionRequest, Sampling, chat_messages, parse_request,
                                        sampling_params, validation_error)
from instructune.serve.stream import ChunkFormat, stream_events, usage


def check_context(gen: Engine, prompts: list[list[int]], max_tokens: int) -> None:
    """Refuse prompts that, with `max_tokens` new tokens, would not fit the model's context."""
    limit = gen.max_positions
    for i, p in enumerate(prompts):
        if not p:
            raise ApiError(400, "prompt must not be empty", "prompt")
        if limit is not None and len(p) + max_tokens > limit:
            raise ApiError(400, f"prompt {i} has {len(p)} tokens; with max_tokens {max_tokens} that exceeds "
                                f"the model's context of {limit} tokens", "max_tokens")


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
    auto = bool(getattr(gen, "has_temperature_head", False))  # temperature "auto" served (and the default)

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

    def model_name(req: Sampling) -> str:
        """The served name a request asked for (the first one when it names none)."""
        if req.model is None:
            return names[0]
        if req.model not in names:
            raise ApiError(404, f"the model {req.model!r} does not exist here; this server serves: "
                                f"{', '.join(names)} (see /v1/models)", "model", "model_not_found")
        return req.model

    async def run(prompts: list[list[int]], params: GenParams,
                  segments: list[list[int]] | None = None) -> list[Generation]:
        check_context(gen, prompts, params.max_new_tokens)
        return await asyncio.wrap_future(worker.submit(prompts, params, segments))

    def stream(req: Sampling, prompts: list[list[int]], params: GenParams, chat: bool,
               segments: list[list[int]] | None = None) -> StreamingResponse:
        check_context(gen, prompts, params.max_new_tokens)  # refused before the first byte
        fmt = ChunkFormat(chat, model_name(req), bool(req.stream_options and req.stream_options.include_usage))
        return StreamingResponse(stream_events(worker, prompts, params, fmt, segments),
                                 media_type="text/event-stream",
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
        params = sampling_params(req, req.max_completion_tokens or req.max_tokens, cfg, auto)
        try:
            prompt, segments = gen.chat_prompts([chat_messages(req)])
        except Exception as e:  # the (chat) template refused these messages (or there is none)
            what = f"the run's template {gen.template.name!r}" if gen.template else "the chat template"
            raise ApiError(400, f"cannot apply {what}: {e}", "messages") from e
        if req.stream:
            return stream(req, prompt, params, chat=True, segments=segments)
        g = (await run(prompt, params, segments))[0]
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": name, "usage": usage([g]),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": g.text.strip()},
                             "finish_reason": g.finish_reason, "logprobs": None}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        req = parse_request(await request.body(), CompletionRequest)
        name = model_name(req)
        params = sampling_params(req, req.max_tokens, cfg, auto)
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
