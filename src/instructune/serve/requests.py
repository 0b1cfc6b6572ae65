"""Reading requests: the body parsed strictly (no 5xx on any client input), the request
schemas, and their sampling parameters."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, TypeAdapter, ValidationError,
                      field_validator)
from pydantic_core import PydanticCustomError

from instructune.config import ServeConfig
from instructune.generation.params import GenParams
from instructune.serve.api_errors import ApiError, refuse_unsupported


MAX_STOPS = 4
MAX_STOP_CHARS = 256  # a stop string is searched for after every token: keep that bounded
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1  # what torch.manual_seed accepts
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_TEMPERATURE = 2.0
TEMPERATURES = f'a number from 0 to {MAX_TEMPERATURE:g}, or "auto" (the model\'s temperature head predicts one)'
# Numbers and booleans are strict: "5" or true for max_tokens, "0.5" for top_p are a client's
# mistake (often a form field sent as text), answered with a 400 naming the field rather than
# read as 5 or 1. A JSON integer still counts as a float.
_FLOAT = TypeAdapter(StrictFloat)


class _StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: StrictBool = False


class Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")  # other OpenAI fields (user, presence_penalty, ...) are ignored

    model: str | None = None
    max_tokens: StrictInt | None = Field(None, ge=1)
    temperature: float | Literal["auto"] | None = None  # None: "auto" with a temperature head, else 1
    top_p: StrictFloat = Field(1.0, gt=0.0, le=1.0)
    seed: StrictInt | None = Field(None, ge=SEED_MIN, le=SEED_MAX)
    stop: str | list[str] | None = None
    n: StrictInt = 1
    stream: StrictBool = False
    stream_options: _StreamOptions | None = None

    @field_validator("temperature", mode="before")
    @classmethod
    def _temperature(cls, v: Any) -> float | str | None:
        """None, "auto", or a number in [0, 2] (read as pydantic reads a float); one message otherwise."""
        if v is None or v == "auto":
            return v
        try:
            t = _FLOAT.validate_python(v)
        except ValidationError:
            t = None
        if t is None or not 0.0 <= t <= MAX_TEMPERATURE:
            shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
            raise PydanticCustomError("temperature", "must be {allowed} (got {got})",
                                      {"allowed": TEMPERATURES, "got": shown})
        return t


class _TextPart(BaseModel):
    type: Literal["text"]
    text: str


class _Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[_TextPart]


class ChatRequest(Sampling):
    messages: list[_Message] = Field(min_length=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)


class CompletionRequest(Sampling):
    prompt: str | list[str]


# ---- the worker that owns the model ----------------------------------------------------------


def lone_surrogate_at(value: Any) -> str | None:
    """The dotted path ("messages.0.content", "" for the body itself) of the first string or
    key in a parsed JSON value that holds a lone surrogate; None when there is none."""
    todo: list[tuple[str, Any]] = [("", value)]  # a stack, not recursion: nesting may be deep
    while todo:
        path, v = todo.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return path
        elif isinstance(v, dict):
            for k, item in v.items():
                if _SURROGATE.search(k):
                    return path
                todo.append((f"{path}.{k}" if path else k, item))
        elif isinstance(v, list):
            todo += [(f"{path}.{i}" if path else str(i), item) for i, item in enumerate(v)]
    return None


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of a request body, read strictly (see the module docstring).

    Raises:
        ApiError: 400 naming what is wrong (and where, for a lone surrogate).
    """
    if raw.startswith(codecs.BOM_UTF8):
        raise ApiError(400, "the body starts with a UTF-8 byte order mark (BOM); send JSON without one")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, f"the body is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None

    def no_constant(name: str):
        raise ApiError(400, f"the body is not valid JSON: {name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as e:
        raise ApiError(400, f"the body is not valid JSON (character {e.pos}: {e.msg})") from None
    except RecursionError:
        raise ApiError(400, "the body is not valid JSON here: nested too deeply") from None
    except ValueError as e:  # an integer literal past Python's conversion limit
        raise ApiError(400, f"the body holds a number too long to read ({e})") from None
    where = lone_surrogate_at(value)
    if where is not None:
        raise ApiError(400, f"{where or 'body'}: a string (or key) contains a lone surrogate (an unpaired "
                            "\\ud800-\\udfff escape); strings must be valid Unicode", where or None)
    return value


def parse_request(raw: bytes, model: type[BaseModel]) -> Any:
    """A request model from a raw body (400 naming the field on any problem, an unsupported
    parameter included)."""
    value = parse_json_body(raw)
    if not isinstance(value, dict):
        raise ApiError(400, f"the body must be a JSON object, got a JSON {type(value).__name__}")
    refuse_unsupported(value)
    try:
        return model.model_validate(value)
    except ValidationError as e:
        raise validation_error(e.errors()) from None


def validation_error(errs: list) -> ApiError:
    """A 400 naming the first fields of pydantic errors (`messages.0.role: ...`)."""
    def where(err) -> str:
        return ".".join(str(x) for x in err["loc"] if x != "body") or "body"

    msg = "; ".join(f"{where(err)}: {err['msg']}" for err in errs[:5])
    return ApiError(400, f"invalid request: {msg}", where(errs[0]) if errs else None)


def sampling_params(req: Sampling, max_tokens: int | None, cfg: ServeConfig, auto: bool = False) -> GenParams:
    """GenParams from a request's fields, enforcing the server's bounds (raises ApiError).

    Args:
        auto: the model has a temperature head, so temperature "auto" is served, and an omitted
            temperature means "auto"; otherwise an omitted one is 1 and "auto" is refused (400).
    """
    if req.n != 1:
        raise ApiError(400, f"n={req.n} is not supported by instructune serve, which returns one choice (n=1); "
                            "send several requests instead", "n")
    if max_tokens is None:
        max_tokens = min(cfg.default_max_tokens, cfg.max_tokens_limit)
    if max_tokens > cfg.max_tokens_limit:
        raise ApiError(400, f"max_tokens {max_tokens} exceeds this server's limit {cfg.max_tokens_limit}",
                       "max_tokens")
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > MAX_STOPS:
        raise ApiError(400, f"at most {MAX_STOPS} stop strings (got {len(stop)})", "stop")
    if any(len(x) > MAX_STOP_CHARS for x in stop):
        raise ApiError(400, f"a stop string may hold at most {MAX_STOP_CHARS} characters "
                            f"(got {max(len(x) for x in stop)})", "stop")
    temperature = req.temperature if req.temperature is not None else "auto" if auto else 1.0
    if temperature == "auto" and not auto:
        raise ApiError(400, 'temperature "auto" needs a model with a temperature head (an instructune run trained '
                            "with addons.temperature_head.enabled=true), and this model has none; send a number "
                            f"from 0 to {MAX_TEMPERATURE:g}, or leave temperature out (1)", "temperature")
    return GenParams(max_new_tokens=max_tokens, temperature=temperature, top_p=req.top_p,
                     stop=[s for s in stop if s], seed=req.seed)


def chat_messages(req: ChatRequest) -> list[dict[str, str]]:
    """Plain {role, content} dicts for the chat template (text parts joined; developer → system)."""
    return [{"role": "system" if m.role == "developer" else m.role,
             "content": m.content if isinstance(m.content, str) else "\n".join(p.text for p in m.content)}
            for m in req.messages]


# ---- streaming (server-sent events) ----------------------------------------------------------
