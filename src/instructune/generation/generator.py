"""The generator interface: how synth (Self-Instruct, Evol-Instruct) and quality (LLM judge)
talk to an LLM, whatever serves it.

Two backends implement it (one file each in `synth/backends/`): a local `transformers` model
(the engine of `generation/engine.py`) and any OpenAI-compatible HTTP endpoint (vLLM, Ollama,
llama.cpp server, a hosted API, or `instructune serve`). Callers only see `Generator`.

    gen = build_generator(cfg.synth)                 # from config
    replies = gen.chat([[{"role": "user", "content": "Write a haiku."}]], GenParams(temperature=0.7))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from instructune.generation.params import GenParams

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass
class GenStats:
    """Counters a backend keeps, for progress bars and throughput reports.

    Attributes:
        requests: generations asked for.
        failures: generations that failed after retries.
        retries: retried HTTP attempts.
        prompt_tokens: prompt tokens sent (when the backend knows).
        completion_tokens: tokens generated (when the backend knows).
        seconds: wall time spent inside chat/complete.
    """

    requests: int = 0
    failures: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class Generator(Protocol):
    """An LLM that answers batches of chats or raw prompts; outputs are in input order."""

    name: str
    stats: GenStats

    def chat(self, conversations: list[list[Message]], params: GenParams) -> list[str]:
        """One reply per conversation (the model's chat template applies)."""
        ...

    def complete(self, prompts: list[str], params: GenParams) -> list[str]:
        """One continuation per raw text prompt (no chat template)."""
        ...
