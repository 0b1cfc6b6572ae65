"""`instructune serve`: load a model and serve it over HTTP (OpenAI-compatible) until interrupted.

    instructune serve --model runs/x [--host 127.0.0.1] [--port 8000] [--api-key KEY | $INSTRUCTUNE_API_KEY]

Binding beyond loopback needs an API key, or `--insecure` to say you mean it.
"""

from __future__ import annotations

from dataclasses import replace

from instructune.config import Config
from instructune.generation.engine import Engine
from instructune.recipes.checks import bind_errors
from instructune.serve.auth import check_exposure, resolve_api_key
from instructune.serve.server import bind, create_app


def main(cfg: Config, model: str | None = None, host: str | None = None, port: int | None = None,
         announce=print, api_key: str | None = None, insecure: bool = False) -> None:
    """Load the model and serve it until interrupted.

    Args:
        cfg: the config (`serve` section; `model.dtype`).
        model: overrides `serve.model` (a run dir, path or hub id; default `model.name`).
        host: overrides `serve.host`.
        port: overrides `serve.port` (0 picks a free port).
        announce: called with the base URL once the socket is bound (never with the key).
        api_key: the key clients must send (`Authorization: Bearer`); None reads the
            environment variable `INSTRUCTUNE_API_KEY`.
        insecure: allow binding beyond loopback without a key.
    Raises:
        ConfigError: a bind beyond loopback without a key or `insecure`, or a port in use (before
            anything loads).
    """
    import uvicorn

    scfg = replace(cfg.serve, host=host or cfg.serve.host, port=cfg.serve.port if port is None else port)
    key = resolve_api_key(api_key)
    check_exposure(scfg.host, key, insecure)
    name = model or scfg.model or cfg.model.name
    # Bound before the model loads: a port in use is answered at once, not after the load.
    with bind_errors(scfg.host, scfg.port, "--port N or serve.port=N"):
        sock = bind(scfg.host, scfg.port)
    gen = Engine.load(name, dtype=cfg.model.dtype, batch_size=scfg.batch_size)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    access = " (API key required: Authorization: Bearer <key>)" if key else ""
    announce(f"serving {name} at http://{shown}:{bound_port}/v1{access}")
    server = uvicorn.Server(uvicorn.Config(create_app(gen, scfg, api_key=key), log_level="warning"))
    server.run(sockets=[sock])
