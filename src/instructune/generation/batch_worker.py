"""The one worker thread that owns the model: jobs queue up and run in batches of equal
sampling parameters; streams run alone. `instructune serve` submits each request here
(`serve/server.py`), so the engine's model is only ever touched by this thread.

Temperature "auto" is one sampling parameter like any other: "auto" jobs share a batch, in
which each prompt is sampled at its own predicted temperature (`generation/auto_temperature.py`).
A job may carry the segments of its prompt tokens (a chat on an instructune run); in a batch
mixing such jobs with jobs without (raw completions), the latter's tokens are instruction, as
`generate_ids` reads a prompt without segments."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from instructune.generation.batched import raw_segments
from instructune.generation.engine import Engine
from instructune.generation.params import GenParams


@dataclass
class _Job:
    prompts: list[list[int]]
    params: GenParams  # seed None: draw one per batch
    future: Future
    segments: list[list[int]] | None = None  # per prompt token; None: all instruction


@dataclass
class StreamJob:
    """Prompts to stream one after another; `emit` gets ("text", i, piece), ("done", i,
    Generation), ("error", exception) and finally ("end",), from the worker thread."""

    prompts: list[list[int]]
    params: GenParams
    strip: bool
    emit: Callable[[tuple], None]
    cancelled: threading.Event = field(default_factory=threading.Event)
    segments: list[list[int]] | None = None  # per prompt token; None: all instruction


def _key(p: GenParams) -> tuple:
    return (p.max_new_tokens, p.temperature, p.top_p, p.top_k, p.repetition_penalty, tuple(p.stop), p.seed)


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

    def submit(self, prompts: list[list[int]], params: GenParams,
               segments: list[list[int]] | None = None) -> Future:
        """Queue `prompts` (with their tokens' `segments`, if any); the future's result is their
        `Generation`s in order."""
        fut: Future = Future()
        self.queue.put(_Job(prompts, params, fut, segments))
        return fut

    def submit_stream(self, job: StreamJob) -> None:
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
                if not isinstance(job, StreamJob):
                    groups.setdefault(_key(job.params), []).append(job)
            for group in groups.values():
                self._run(group)
            for job in jobs:
                if isinstance(job, StreamJob):
                    self._stream(job)

    def _stream(self, job: StreamJob) -> None:
        params = job.params if job.params.seed is not None else replace(job.params, seed=random.randrange(2**31))
        self.batches += 1
        try:
            for i, prompt in enumerate(job.prompts):
                if job.cancelled.is_set():
                    break
                self.prompts += 1
                seg = {"segments": job.segments[i]} if job.segments is not None else {}
                g = self.gen.stream(prompt, params, lambda piece, i=i: job.emit(("text", i, piece)),
                                    job.cancelled.is_set, strip=job.strip, **seg)
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
        seg = {}
        if any(j.segments is not None for j in jobs):
            seg = {"segments": [s for j in jobs
                                for s in (j.segments if j.segments is not None else raw_segments(j.prompts))]}
        self.batches, self.prompts = self.batches + 1, self.prompts + len(prompts)
        try:
            gens = self.gen.generate(prompts, params, **seg)
        except Exception as e:  # one bad batch must not kill the worker
            for j in jobs:
                j.future.set_exception(e)
            return
        k = 0
        for j in jobs:
            j.future.set_result(gens[k:k + len(j.prompts)])
            k += len(j.prompts)
