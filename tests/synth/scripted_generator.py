"""A `Generator` for tests: canned replies chosen by what the prompt says; no model.

    gen = ScriptedGenerator([("Class label:", " positive\nInput: I love it."), ("", "default")])

The first rule whose pattern occurs in the prompt answers (a string, or a function of the
prompt). Every prompt is kept in `prompts`; `kill_at_call=n` raises `Killed` at the n-th call
(before answering it), to simulate a run killed half-way.
"""

from __future__ import annotations

from collections.abc import Callable

from instructune.generation.generator import GenStats
from instructune.generation.params import GenParams

Reply = str | Callable[[str], str]


class Killed(RuntimeError):
    """The simulated kill."""


class ScriptedGenerator:
    name = "scripted"

    def __init__(self, rules: list[tuple[str, Reply]], kill_at_call: int | None = None):
        self.rules, self.kill_at_call = rules, kill_at_call
        self.stats = GenStats()
        self.prompts: list[str] = []
        self.calls = 0

    def _answer(self, prompt: str) -> str:
        for pattern, reply in self.rules:
            if pattern in prompt:
                return reply(prompt) if callable(reply) else reply
        raise AssertionError(f"no scripted reply for prompt: {prompt[:200]!r}")

    def _batch(self, prompts: list[str]) -> list[str]:
        self.calls += 1
        if self.kill_at_call is not None and self.calls >= self.kill_at_call:
            raise Killed(f"killed at call {self.calls}")
        self.prompts += prompts
        self.stats.requests += len(prompts)
        return [self._answer(p) for p in prompts]

    def chat(self, conversations: list[list[dict[str, str]]], params: GenParams) -> list[str]:
        return self._batch([c[-1]["content"] for c in conversations])

    def complete(self, prompts: list[str], params: GenParams) -> list[str]:
        return self._batch(list(prompts))
