"""The one worker thread that owns the model. `instructune serve` submits each request here
(`serve/server.py`), so the engine's model is only ever touched by this thread.

Continuous batching (Orca's idea; credits in `generation/running_batch.py`): on an `Engine`
whose model can run a `RunningBatch` (no add-ons, a fixed temperature: `Engine.joins`), every
job, streamed or not, becomes rows of the running batch. A job that arrives while the batch
decodes joins it at the next step (its prompts prefilled and merged), up to `batch_size` rows;
rows leave as they end, and a job's future is set (or its stream closed) once all its rows
have. Jobs whose sampling (temperature, top-p, top-k, repetition penalty, stop strings)
differs from the running batch's wait for the next one. Each row samples with its own RNG (the
job's seed, or one drawn per job, and the prompt's position), so a seeded request gets the
same reply alone or joined.

Otherwise (add-ons, temperature "auto", or an engine that is no `Engine`): jobs queue up and
run in whole batches of equal sampling parameters; streams run alone.

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
from collections import deque
from dataclasses import dataclass, field, replace

from instructune.generation.batched import raw_segments, row_seed
from instructune.generation.engine import Engine, Generation
from instructune.generation.params import GenParams
from instructune.generation.running_batch import Row
from instructune.generation.streaming import TextDeltas


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


def join_key(p: GenParams) -> tuple:
    """What rows of one running batch share: the token choice and the stop strings (each row
    has its own length limit and seed)."""
    choice = ("greedy",) if p.greedy else (p.temperature, p.top_p, p.top_k)
    return (*choice, p.repetition_penalty, tuple(p.stop))


@dataclass(eq=False)
class _Live:
    """A job decoding in the running batch: its generations so far, and its rows not ended."""

    job: _Job | StreamJob
    params: GenParams  # seed set
    gens: list[Generation | None]
    left: int
    deltas: list[TextDeltas] = field(default_factory=list)  # streams: one per prompt

    @property
    def cancelled(self) -> bool:
        return isinstance(self.job, StreamJob) and self.job.cancelled.is_set()


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
        self.backlog: deque = deque()  # jobs taken off the queue that the running batch could not take
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

    def _next(self, timeout: float | None = None, block: bool = True):
        """The next job: the backlog's first, else the queue's (queue.Empty when none came)."""
        if self.backlog:
            return self.backlog.popleft()
        return self.queue.get(timeout=timeout) if block else self.queue.get_nowait()

    def _joins(self, job) -> bool:
        return isinstance(self.gen, Engine) and self.gen.joins(job.params)

    def _loop(self) -> None:
        while True:
            jobs = [self._next()]
            first = time.monotonic()
            deadline = first + self.wait_s
            while True:  # everything that queued up while the last batch ran, or arrives right now
                wait = deadline - time.monotonic()
                try:
                    if sum(len(j.prompts) for j in jobs) < self.batch_size and wait > 0:
                        jobs.append(self._next(timeout=wait))
                        deadline = min(time.monotonic() + self.wait_s, first + 10 * self.wait_s)
                    else:
                        jobs.append(self._next(block=False))
                except queue.Empty:
                    break
            joining = [j for j in jobs if self._joins(j)]
            if joining:  # the first's kind decodes now; the others wait in the backlog
                self.backlog.extend(j for j in jobs if all(j is not k for k in joining))
                self._decode(joining)
                continue
            groups: dict[tuple, list[_Job]] = {}
            for job in jobs:
                if not isinstance(job, StreamJob):
                    groups.setdefault(_key(job.params), []).append(job)
            for group in groups.values():
                self._run(group)
            for job in jobs:
                if isinstance(job, StreamJob):
                    self._stream(job)

    # --- continuous batching ------------------------------------------------------------------
    def _decode(self, jobs: list) -> None:
        """Run one running batch until it empties, admitting jobs of its kind as they arrive."""
        key = join_key(jobs[0].params)
        batch = self.gen.running_batch(jobs[0].params)
        waiting: deque[Row] = deque()
        for job in jobs:
            self._admit(job, key, waiting)
        self.batches += 1
        try:
            while True:
                while True:  # jobs that arrived during the last step
                    try:
                        self._admit(self.queue.get_nowait(), key, waiting)
                    except queue.Empty:
                        break
                ended = batch.cancel(lambda r: r.tag[0].cancelled)
                while waiting and waiting[0].tag[0].cancelled:
                    self._ended(waiting.popleft(), "cancelled")
                room = self.batch_size - len(batch)
                if waiting and room > 0:
                    rows = [waiting.popleft() for _ in range(min(room, len(waiting)))]
                    self.prompts += len(rows)
                    ended += batch.add(rows)
                elif batch:
                    ended += batch.step()
                for r in ended:
                    self._ended(r, r.finish)
                if not batch and not waiting:
                    return
        except Exception as e:  # one bad batch must not kill the worker: its jobs get the error
            self._fail({r.tag[0] for r in [*batch.rows, *waiting]}, e)

    def _admit(self, job, key: tuple, waiting: deque) -> None:
        """Queue `job`'s prompts as rows of the running batch of `key`, or put it in the backlog."""
        if not self._joins(job) or join_key(job.params) != key:
            self.backlog.append(job)
            return
        params = job.params if job.params.seed is not None else replace(job.params, seed=random.randrange(2**31))
        live = _Live(job, params, [None] * len(job.prompts), len(job.prompts))
        for i, prompt in enumerate(job.prompts):
            on_token = None
            if isinstance(job, StreamJob):
                live.deltas.append(TextDeltas(self.gen.tokenizer, params.stop, job.strip))
                on_token = self._streamer(live, i)
            waiting.append(Row(prompt, params.max_new_tokens, row_seed(params.seed, i), on_token, (live, i)))

    @staticmethod
    def _streamer(live: _Live, i: int) -> Callable[[int], None]:
        def on_token(token_id: int) -> None:
            if piece := live.deltas[i].push(token_id):
                live.job.emit(("text", i, piece))
        return on_token

    def _ended(self, row: Row, finish: str) -> None:
        """Record a row that left the batch; complete its job once all its rows have."""
        live, i = row.tag
        job = live.job
        if finish != "cancelled":
            g = live.gens[i] = self.gen.finish(row.prompt, row.ids, live.params,
                                               0.0 if live.params.greedy else live.params.temperature)
            if isinstance(job, StreamJob):
                if job.strip:
                    g.text = g.text.strip()
                if rest := live.deltas[i].finish(g.text):
                    job.emit(("text", i, rest))
                job.emit(("done", i, g))
        live.left -= 1
        if live.left == 0:
            if isinstance(job, StreamJob):
                job.emit(("end",))
            else:
                job.future.set_result(live.gens)

    @staticmethod
    def _fail(lives: set, e: Exception) -> None:
        for live in lives:
            if isinstance(live.job, StreamJob):
                live.job.emit(("error", e))
                live.job.emit(("end",))
            elif not live.job.future.done():
                live.job.future.set_exception(e)

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
