"""OpenAI-shaped errors of the server: `ApiError`, the error response, and the refusal of
parameters the server cannot honour."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse



class ApiError(Exception):
    """An error reply: HTTP `status` with OpenAI's error body."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_response(status: int, message: str, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status,
                        headers=headers)


# Request parameters this server cannot honour, with the values that ask for nothing (and so
# are accepted): anything else is refused, since ignoring it would change the reply silently.
UNSUPPORTED: dict[str, tuple] = {
    "logprobs": (None, False), "top_logprobs": (None, 0), "best_of": (None, 1), "echo": (None, False),
    "suffix": (None, ""), "tools": (None, []), "tool_choice": (None, "none"), "functions": (None, []),
    "function_call": (None, "none"), "response_format": (None, {"type": "text"}), "logit_bias": (None, {}),
    "presence_penalty": (None, 0), "frequency_penalty": (None, 0), "top_k": (None, 0, -1),
    "min_p": (None, 0), "repetition_penalty": (None, 1), "audio": (None,), "modalities": (None, ["text"]),
}


def refuse_unsupported(body: dict[str, Any]) -> None:
    """ApiError (400) for the first parameter of `body` that asks for something unsupported."""
    for name, neutral in UNSUPPORTED.items():
        value = body.get(name)
        # `type(x) is bool` keeps True from passing for 1 (best_of) and False for 0.
        if not any(value == ok and (type(value) is bool) == (type(ok) is bool) for ok in neutral):
            shown = repr(value)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ApiError(400, f"{name} is not supported by instructune serve (got {shown}); leave it out",
                           name)


# ---- request bodies --------------------------------------------------------------------------
