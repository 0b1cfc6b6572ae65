"""The `serve` section: the OpenAI-compatible HTTP server."""

from __future__ import annotations

from dataclasses import dataclass

from instructune.config.errors import at_least, between, check_ranges


@dataclass
class ServeConfig:
    """`instructune serve`: the OpenAI-compatible HTTP server (`serve/server.py`).

    Attributes:
        model: model to serve: a run dir (its export/), a path or a hub id; "" serves model.name.
        host: address to bind; 127.0.0.1 keeps it on this machine.
        port: TCP port; 0 picks a free one (the URL is printed).
        max_body_bytes: larger request bodies are refused with 413.
        max_tokens_limit: requests asking for more new tokens (max_tokens) are refused with 400.
        default_max_tokens: new tokens when a request gives no max_tokens.
        max_prompts: prompts per /v1/completions request at most (400 beyond).
        batch_size: prompts per forward batch; requests that arrive while one batch runs are
            batched together when their sampling parameters are equal.
        batch_wait_ms: when idle, how long a request waits for others to share its batch
            (clients that send several at once); each arrival restarts the wait, up to 10 times
            this in all.
    """

    model: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_000_000
    max_tokens_limit: int = 1024
    default_max_tokens: int = 256
    max_prompts: int = 32
    batch_size: int = 8
    batch_wait_ms: float = 10.0

    def __post_init__(self) -> None:
        check_ranges(self, {"port": between(0, 65535), "max_body_bytes": at_least(1), "max_tokens_limit": at_least(1),
                           "default_max_tokens": at_least(1), "max_prompts": at_least(1), "batch_size": at_least(1),
                           "batch_wait_ms": at_least(0)})
