"""The review web app: a page of flagged records to approve, reject or edit (stdlib HTTP server).

    server = make_server(ReviewStore("out/quality"), "127.0.0.1", 8765)
    print(server.url)            # http://127.0.0.1:8765/?token=...: what the reviewer opens
    server.serve_forever()

Routes:
    GET  /               the page (review_page.html: plain HTML + vanilla JS, nothing fetched
                         from elsewhere); per record it shows the text, what failed, the scores,
                         the domain (meta.quality.domain), any Self-Refine history
                         (meta.refine) and an augmented record's constraints (meta.augment)
    GET  /api/state      {"dir", "counts", "records": [{"record", "review"}]}
    POST /api/decision   {"id", "action": approve|reject|edit|reset, ["instruction", "context",
                         "response"]} → {"ok": true, "entry", "counts"}; 400 with {"error"}

Access: the server draws a random token at start (`secrets.token_urlsafe`); `server.url`
holds it (`/?token=...`, the URL to print and open). Opening it sets a cookie (HttpOnly,
SameSite=Strict, named per port) and redirects to `/`, so the token leaves the address bar and
the page's own requests carry the cookie; scripts may send `Authorization: Bearer <token>`.
Anything else gets 401: another local user, or a page in the browser from another site, cannot
read or decide. Tokens are compared in constant time. `insecure=True` turns the check off.

Each decision is saved (appended and fsync'ed, see `review_store`) before the reply, and the
page marks a record decided only after that reply. It binds 127.0.0.1 by default, refuses
bodies over MAX_BODY_BYTES, accepts only JSON posts (a cross-site form cannot send one without
a CORS preflight, which is never granted) and, on a loopback bind, only loopback Host headers
(against DNS rebinding).
"""

from __future__ import annotations

import hmac
import json
import secrets
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from instructune.quality.review_store import ReviewStore

PAGE = Path(__file__).with_name("review_page.html")
MAX_BODY_BYTES = 1_000_000
DRAIN_BYTES = 8 * MAX_BODY_BYTES  # a refused body up to this size is read and dropped, see `_refuse`
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ReviewHandler(BaseHTTPRequestHandler):
    """One request; the store and the page come from the server."""

    server: ReviewServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waited for the client's
    # delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the page is the interface
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _refuse(self, status: int, obj: Any) -> None:
        """Reply `status` to a request whose body is not wanted, then close the connection.

        The body is read and dropped first (up to DRAIN_BYTES): closing with it unread makes the
        kernel reset the connection, and a client still sending gets a broken pipe instead of
        the reply.
        """
        try:
            left = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            left = 0
        if left <= DRAIN_BYTES:
            while left > 0 and (chunk := self.rfile.read(min(left, 1 << 16))):
                left -= len(chunk)
        self.close_connection = True  # an unread rest must not be parsed as a next request
        self._json(status, obj)

    def _host_ok(self) -> bool:
        if self.server.server_address[0] not in LOOPBACK:
            return True
        try:
            return urlsplit("//" + (self.headers.get("Host") or "")).hostname in LOOPBACK
        except ValueError:  # a malformed Host header
            return False

    def _sent_tokens(self) -> list[str]:
        """The tokens this request carries: in the query, a bearer header, the cookie."""
        out = parse_qs(urlsplit(self.path).query).get("token", [])
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer":
            out.append(token.strip())
        try:
            morsel = SimpleCookie(self.headers.get("Cookie") or "").get(self.server.cookie_name)
        except CookieError:  # a malformed Cookie header carries no token
            morsel = None
        if morsel is not None:
            out.append(morsel.value)
        return out

    def _authorized(self) -> bool:
        want = self.server.token
        if want is None:  # insecure
            return True
        # compare_digest on every candidate: the time taken says nothing about the token
        return any([hmac.compare_digest(t.encode(), want.encode()) for t in self._sent_tokens()])

    def _unauthorized(self) -> None:
        self._refuse(401, {"error": "missing or wrong token: open the URL `instructune review` printed at "
                                    "start (it ends in ?token=...)"})

    def _enter(self) -> None:
        """`/?token=T` (valid): set the cookie and redirect to `/`, dropping the token from the URL."""
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Set-Cookie", f"{self.server.cookie_name}={self.server.token}; HttpOnly; "
                                       "SameSite=Strict; Path=/")
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._json(403, {"error": "unexpected Host header"})
        if not self._authorized():
            return self._unauthorized()
        url = urlsplit(self.path)
        path = url.path
        if path in ("/", "/index.html") and self.server.token and "token" in parse_qs(url.query):
            return self._enter()
        if path in ("/", "/index.html"):
            return self._send(200, self.server.page, "text/html; charset=utf-8")
        if path == "/api/state":
            return self._json(200, self.server.store.snapshot())
        return self._json(404, {"error": f"no route {path}"})

    def do_POST(self) -> None:
        if not self._host_ok():
            return self._refuse(403, {"error": "unexpected Host header"})
        if not self._authorized():
            return self._unauthorized()
        if urlsplit(self.path).path != "/api/decision":
            return self._refuse(404, {"error": "no such route"})
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._refuse(415, {"error": "send application/json"})
        try:
            length = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            length = -1
        if length < 0:
            return self._json(411, {"error": "Content-Length required"})
        if length > MAX_BODY_BYTES:
            return self._refuse(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
        try:
            entry = self.server.store.decide(json.loads(self.rfile.read(length) or b"null"))
        except ValueError as e:  # bad JSON, unknown id or action, bad edit
            return self._json(400, {"error": str(e)})
        self._json(200, {"ok": True, "entry": entry, "counts": self.server.store.counts()})


class ReviewServer(ThreadingHTTPServer):
    """A threading HTTP server holding the store, the page bytes and the access token.

    Args:
        store: the review store.
        host, port: where to bind (port 0 picks a free one).
        token: the access token; None draws a random one.
        insecure: no token at all (every request is let in).
    """

    daemon_threads = True

    def __init__(self, store: ReviewStore, host: str, port: int, token: str | None = None,
                 insecure: bool = False):
        self.store, self.page = store, PAGE.read_bytes()
        self.token = None if insecure else (token or secrets.token_urlsafe(32))
        super().__init__((host, port), ReviewHandler)

    @property
    def cookie_name(self) -> str:
        # Cookies are shared by every port of a host: one name per port keeps two servers apart.
        return f"instructune_review_{self.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The server's address, without the token."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def url(self) -> str:
        """The URL to open: `base_url` with `?token=...` (a secret: show it to the reviewer only)."""
        return self.base_url + (f"?token={self.token}" if self.token else "")


def make_server(store: ReviewStore, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                insecure: bool = False) -> ReviewServer:
    """A bound (not yet serving) review server; port 0 picks a free one. Print `.url` (it holds
    the access token); `insecure=True` serves without a token."""
    return ReviewServer(store, host, port, token, insecure)
