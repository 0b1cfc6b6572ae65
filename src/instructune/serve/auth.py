"""Who may talk to the server: the API key (argument or environment) and the refusal to bind
beyond loopback without one."""

from __future__ import annotations

import ipaddress
import os

from instructune.config import ConfigError


API_KEY_ENV = "INSTRUCTUNE_API_KEY"


def resolve_api_key(api_key: str | None) -> str | None:
    """`api_key`, else the environment variable `API_KEY_ENV`; None when neither is set (or empty)."""
    return api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address ("localhost", 127.0.0.0/8, ::1); a host name that
    is not "localhost" may resolve anywhere, so it is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: str | None, insecure: bool) -> None:
    """Refuse to serve beyond loopback without an API key unless `insecure`.

    Raises:
        ConfigError: saying why and what to do.
    """
    if api_key or insecure or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to serve on {host} without an API key: anyone who can reach that address could use "
        f"the model and this machine. Give one (--api-key, or the environment variable {API_KEY_ENV}; "
        "clients send it as Authorization: Bearer <key>), bind 127.0.0.1, or pass --insecure to serve "
        "without a key anyway.")
