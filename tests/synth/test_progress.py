"""The synth progress bar shows requests in flight and tokens while a generator call runs."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from instructune.generation.generator import GenStats
from instructune.generation.params import GenParams
from instructune.synth import _run, _runlog, self_instruct
from instructune.synth._runlog import TrackedGenerator, synth_progress

sys.path.insert(0, str(Path(__file__).parent))
from test_self_instruct import bank_generator, load_seed_tasks, small_cfg, write_seeds  # noqa: E402


class Blocking:
    """A generator whose call waits until the test lets it finish."""

    name = "blocking"

    def __init__(self):
        self.stats = GenStats()
        self.entered, self.release = threading.Event(), threading.Event()

    def chat(self, conversations, params):
        self.entered.set()
        self.stats.completion_tokens += 7  # an HTTP backend counts each reply as it arrives
        self.release.wait(5)
        self.stats.requests += len(conversations)
        return ["ok"] * len(conversations)


def test_the_live_column_counts_requests_in_flight_during_a_call():
    inner = Blocking()
    gen = TrackedGenerator(inner)
    show = synth_progress("x", 1, enabled=False, live=gen)
    worker = threading.Thread(target=gen.chat, args=([[{"role": "user", "content": "hi"}]] * 4, GenParams()))
    worker.start()
    assert inner.entered.wait(5)
    assert show.live() == "· in flight 4 · 7 tokens"
    inner.release.set()
    worker.join()
    assert show.live() == "· in flight 0 · 7 tokens"
    assert gen.name == "blocking" and gen.stats is inner.stats


def test_self_instruct_shows_requests_in_flight_while_its_generator_runs(tmp_path, monkeypatch):
    seen, bars = [], []

    def recording(*a, **k):
        bars.append(synth_progress(*a, **k))
        return bars[-1]

    monkeypatch.setattr(_run, "synth_progress", recording)
    gen = bank_generator()
    answer = gen._answer

    def answer_and_look(prompt):
        seen.append(bars[0].live())
        return answer(prompt)

    gen._answer = answer_and_look
    seeds = write_seeds(tmp_path)
    self_instruct.run(gen, load_seed_tasks([seeds]), small_cfg(seeds, rounds=1), tmp_path / "out", progress=False)
    assert seen and seen[0] == "· in flight 2 · 0 tokens"  # the round's 2 task prompts, while they run
    assert _runlog.synth_progress is not recording
