"""Whether a response is JSON, allowing the markdown fence models wrap JSON in."""

from __future__ import annotations

import json
import re

# IFEval strips exactly these opening fences (```json, ```Json, ```JSON or a bare ```) and a
# closing ```; any other language tag leaves the text invalid, as it does there.
_OPEN_FENCE = re.compile(r"^```(?:json|Json|JSON)?")


def json_body(text: str) -> str:
    """`text` without surrounding whitespace and without an opening/closing ``` fence.

    Args:
        text: a response.

    Returns:
        What should parse as JSON.
    """
    body = _OPEN_FENCE.sub("", text.strip(), count=1)
    return body.removesuffix("```").strip()


def json_error(text: str) -> str | None:
    """None when `text` (fence allowed, see `json_body`) is valid JSON, else the parser's reason.

    Args:
        text: a response.

    Returns:
        None, or e.g. "Expecting value".
    """
    try:
        json.loads(json_body(text))
        return None
    except ValueError as e:
        return str(e).split(":")[0]
