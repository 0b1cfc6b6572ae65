"""ASGI middleware of the server: the body-size limit and bearer-token auth."""

from __future__ import annotations

import hmac

from instructune.serve.api_errors import error_response


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413 before any route sees it.

    The body is read here (at most `limit` + one chunk) and replayed to the app, so a chunked
    upload without Content-Length is bounded too.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._too_large(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            more = msg.get("more_body", False)
            if size > self.limit:
                return await self._too_large(scope, receive, send)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        await error_response(413, f"request body exceeds {self.limit} bytes")(scope, receive, send)


class BearerAuth:
    """ASGI middleware: every HTTP route except `open_paths` needs `Authorization: Bearer KEY`.

    The token is compared with `hmac.compare_digest` (no timing leak), and neither the key nor
    the token sent appear in replies or logs. It runs before the body is read, so an
    unauthenticated client cannot make the server buffer a body.
    """

    def __init__(self, app, key: str, open_paths: tuple[str, ...] = ("/health",)):
        self.app, self.key, self.open_paths = app, key.encode("utf-8"), open_paths

    def allowed(self, scope) -> bool:
        if scope["path"] in self.open_paths:
            return True
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        # Compare even when the scheme is wrong, so the time taken says nothing either way.
        ok = hmac.compare_digest(token.strip(), self.key)
        return ok and scheme.lower() == b"bearer"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.allowed(scope):
            return await self.app(scope, receive, send)
        reply = error_response(401, "missing or incorrect API key: send the header Authorization: Bearer <key>",
                               code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        await reply(scope, receive, send)
