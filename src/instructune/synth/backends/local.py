"""The local generator: a `transformers` model in this process (batched, left padding, KV cache).

    gen = LocalGenerator.load("smollm2-135m-instruct")          # or a run dir, path, hub id
    gen.chat([[{"role": "user", "content": "Name a colour."}]], GenParams(temperature=0))

It is the generation engine (`generation/engine.py`, which `instructune serve` uses too, so the
HTTP backend and this one answer alike) with the synth interface on top: text-only `chat` and
`complete`, and the counters of `GenStats`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from instructune.generation.engine import Engine, Generation
from instructune.generation.generator import GenStats, Message
from instructune.generation.params import GenParams


class LocalGenerator(Engine):
    """`Generator` over an in-process causal LM (see `Engine` for the arguments)."""

    def __init__(self, model, tokenizer, name: str = "local", batch_size: int = 8, template=None):
        super().__init__(model, tokenizer, name, batch_size, template)
        self.stats = GenStats()

    def generate(self, prompts: list[list[int]], params: GenParams, segments: list[list[int]] | None = None,
                 on_batch: Callable[[int, int], None] | None = None) -> list[Generation]:
        """`Engine.generate`, counted in `stats`."""
        start = time.perf_counter()
        results = super().generate(prompts, params, segments, on_batch)
        self.stats.requests += len(prompts)
        self.stats.prompt_tokens += sum(len(p) for p in prompts)
        self.stats.completion_tokens += sum(g.completion_tokens for g in results)
        self.stats.seconds += time.perf_counter() - start
        return results

    def chat(self, conversations: list[list[Message]], params: GenParams) -> list[str]:
        """One reply per conversation (whitespace stripped), in input order (an instructune run
        is prompted with its own template and segments, as `instructune serve` prompts it)."""
        prompts, segments = self.chat_prompts(conversations)
        return [g.text.strip() for g in self.generate(prompts, params, segments)]

    def complete(self, prompts: list[str], params: GenParams) -> list[str]:
        """One continuation per raw prompt, in input order (not stripped: a continuation's
        leading space matters)."""
        return [g.text for g in self.generate(self.complete_ids(prompts), params)]
