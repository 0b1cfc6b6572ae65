"""Server-sent events in OpenAI's chunk format (`chat.completion.chunk`, `text_completion`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

from instructune.generation.batch_worker import BatchWorker, StreamJob
from instructune.generation.engine import Generation
from instructune.generation.params import GenParams


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
                        fmt: ChunkFormat, segments: list[list[int]] | None = None) -> AsyncIterator[str]:
    """The server-sent events of one streamed request (see `ChunkFormat`); `segments`: per
    prompt token, when the request has them (a chat on an instructune run)."""
    loop, events = asyncio.get_running_loop(), asyncio.Queue()

    def emit(item: tuple) -> None:  # called on the worker thread
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down): stop generating
            job.cancelled.set()

    job = StreamJob(prompts, params, strip=fmt.chat, emit=emit, segments=segments)
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


def usage(gens: list[Generation]) -> dict[str, int]:
    prompt, completion = sum(g.prompt_tokens for g in gens), sum(g.completion_tokens for g in gens)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
