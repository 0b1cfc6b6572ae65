"""The generator interface: how synth (Self-Instruct, Evol-Instruct) and quality (LLM judge)
talk to an LLM, whatever serves it.

Two backends implement it (one file each in `synth/backends/`): a local `transformers` model
(batched, left padding, KV cache) and any OpenAI-compatible HTTP endpoint (vLLM, Ollama,
llama.cpp server, a hosted API, or `instructune serve`). Callers only see `Generator`.

    gen = build_generator(cfg.synth)                 # from config
    replies = gen.chat([[{"role": "user", "content": "Write a haiku."}]], GenParams(temperature=0.7))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass
class GenParams:
    """Sampling parameters for one request batch.

    Attributes:
        max_new_tokens: tokens to generate at most.
        temperature: 0 for greedy; "auto": each prompt at the temperature its model's
            temperature head predicts (a local instructune run trained with
            `addons.temperature_head`, or `instructune serve` of one; other servers refuse it).
        top_p: nucleus mass.
        stop: strings that end a generation (removed from the returned text).
        seed: sampling seed (local backend; sent as `seed` to HTTP backends).
    """

    max_new_tokens: int = 256
    temperature: float | Literal["auto"] = 0.7
    top_p: float = 0.95
    stop: list[str] = field(default_factory=list)
    seed: int = 0


@dataclass
class GenStats:
    """Counters a backend keeps, for progress bars and throughput reports.

    Attributes:
        requests: generations asked for.
        failures: generations that failed after retries.
        retries: retried HTTP attempts.
        completion_tokens: tokens generated (when the backend knows).
        seconds: wall time spent inside chat/complete.
    """

    requests: int = 0
    failures: int = 0
    retries: int = 0
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
