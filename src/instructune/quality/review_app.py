"""The review web app: a page of flagged records to approve, reject or edit (stdlib HTTP server).

    server = make_server(ReviewStore("out/quality"), "127.0.0.1", 8765)
    server.serve_forever()

Routes:
    GET  /               the page (review_page.html: plain HTML + vanilla JS, nothing fetched
                         from elsewhere); per record it shows the text, what failed, the scores,
                         the domain (meta.quality.domain) and any Self-Refine history (meta.refine)
    GET  /api/state      {"dir", "counts", "records": [{"record", "review"}]}
    POST /api/decision   {"id", "action": approve|reject|edit|reset, ["instruction", "context",
                         "response"]} → {"ok": true, "entry", "counts"}; 400 with {"error"}

Each decision is saved (appended and fsync'ed, see `review_store`) before the reply, and the
page marks a record decided only after that reply. It binds 127.0.0.1 by default, refuses
bodies over MAX_BODY_BYTES, accepts only JSON posts (a cross-site form cannot send one without
a CORS preflight, which is never granted) and, on a loopback bind, only loopback Host headers
(against DNS rebinding).
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from instructune.quality.review_store import ReviewStore

PAGE = Path(__file__).with_name("review_page.html")
MAX_BODY_BYTES = 1_000_000
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ReviewHandler(BaseHTTPRequestHandler):
    """One request; the store and the page come from the server."""

    server: ReviewServer
    protocol_version = "HTTP/1.1"

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

    def _host_ok(self) -> bool:
        if self.server.server_address[0] not in LOOPBACK:
            return True
        try:
            return urlsplit("//" + (self.headers.get("Host") or "")).hostname in LOOPBACK
        except ValueError:  # a malformed Host header
            return False

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._json(403, {"error": "unexpected Host header"})
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            return self._send(200, self.server.page, "text/html; charset=utf-8")
        if path == "/api/state":
            return self._json(200, self.server.store.snapshot())
        return self._json(404, {"error": f"no route {path}"})

    def do_POST(self) -> None:
        if not self._host_ok():
            return self._json(403, {"error": "unexpected Host header"})
        if urlsplit(self.path).path != "/api/decision":
            return self._json(404, {"error": "no such route"})
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._json(415, {"error": "send application/json"})
        try:
            length = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            length = -1
        if length < 0:
            return self._json(411, {"error": "Content-Length required"})
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body must not be parsed as a next request
            return self._json(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
        try:
            entry = self.server.store.decide(json.loads(self.rfile.read(length) or b"null"))
        except ValueError as e:  # bad JSON, unknown id or action, bad edit
            return self._json(400, {"error": str(e)})
        self._json(200, {"ok": True, "entry": entry, "counts": self.server.store.counts()})


class ReviewServer(ThreadingHTTPServer):
    """A threading HTTP server holding the store and the page bytes."""

    daemon_threads = True

    def __init__(self, store: ReviewStore, host: str, port: int):
        self.store, self.page = store, PAGE.read_bytes()
        super().__init__((host, port), ReviewHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def make_server(store: ReviewStore, host: str = "127.0.0.1", port: int = 8765) -> ReviewServer:
    """A bound (not yet serving) review server; port 0 picks a free one (see `.url`)."""
    return ReviewServer(store, host, port)
