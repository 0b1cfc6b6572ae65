"""Continuous batching in the worker: a request that arrives while a batch decodes joins it and
gets the reply it gets alone; a streamed one too, its pieces joining to its text."""

from __future__ import annotations

import threading

from instructune.generation.batch_worker import BatchWorker, StreamJob
from instructune.generation.engine import Engine
from instructune.generation.params import GenParams
from instructune.generation.running_batch import RunningBatch


def test_requests_arriving_mid_batch_join_it_and_finish(varied, prompts, monkeypatch):
    model, tok = varied
    engine = Engine(model, tok)
    greedy = GenParams(max_new_tokens=8, temperature=0)
    alone = [engine.generate([p], greedy)[0] for p in prompts]

    stepped, sizes, real_step = threading.Event(), [], RunningBatch.step

    def step(self):  # record the batch size at every step; say when the first job is decoding
        sizes.append(len(self))
        stepped.set()
        return real_step(self)

    monkeypatch.setattr(RunningBatch, "step", step)
    worker = BatchWorker(engine, batch_size=8, wait_s=0.0)
    long = worker.submit([prompts[4]], GenParams(max_new_tokens=200, temperature=0))
    assert stepped.wait(30)
    late = worker.submit(prompts[:3], greedy)
    events: list[tuple] = []
    done = threading.Event()
    worker.submit_stream(StreamJob([prompts[5]], greedy, strip=False,
                                   emit=lambda e: (events.append(e), e[0] == "end" and done.set())))
    assert [g.text for g in late.result(60)] == [g.text for g in alone[:3]]
    assert done.wait(60) and "".join(e[2] for e in events if e[0] == "text") == alone[5].text
    assert len([e for e in events if e[0] == "text"]) > 2  # streamed token by token, not all at the end
    assert [e[2].text for e in events if e[0] == "done"] == [alone[5].text]
    assert long.result(120)[0].completion_tokens > 8
    assert worker.batches == 1 and max(sizes) >= 4  # one running batch, the late rows inside it


def test_other_sampling_waits_for_the_next_batch(varied, prompts):
    model, tok = varied
    worker = BatchWorker(Engine(model, tok), batch_size=8, wait_s=0.05)
    a = worker.submit(prompts[:2], GenParams(max_new_tokens=4, temperature=0))
    b = worker.submit(prompts[2:3], GenParams(max_new_tokens=4, temperature=0, stop=["zz"]))
    assert len(a.result(60)) == 2 and len(b.result(60)) == 1 and worker.batches == 2
