"""The review decisions log and the review HTTP API (in-process server, real sockets)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from quality_records import write_flagged

from instructune.data.errors import DataError
from instructune.quality.review_app import MAX_BODY_BYTES, make_server
from instructune.quality.review_store import ReviewStore


def read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_decisions_are_logged_replayed_and_exported(tmp_path):
    d = write_flagged(tmp_path / "q")
    store = ReviewStore(d)
    store.decide({"id": "f-1", "action": "approve"})
    store.decide({"id": "f-2", "action": "reject"})
    store.decide({"id": "f-3", "action": "edit", "response": "The meeting moved to 3 pm; bring snacks."})
    store.decide({"id": "f-2", "action": "approve"})
    store.decide({"id": "f-2", "action": "reset"})
    log = read(d / "review_decisions.jsonl")
    assert [(e["id"], e["action"], e["seq"]) for e in log] == [
        ("f-1", "approve", 1), ("f-2", "reject", 2), ("f-3", "edit", 3), ("f-2", "approve", 4), ("f-2", "reset", 5)]
    assert store.counts() == {"pending": 2, "approve": 1, "reject": 0, "edit": 1}

    out = read(d / "reviewed_accepted.jsonl")
    assert [r["id"] for r in out] == ["f-1", "f-3"]
    assert out[1]["response"] == "The meeting moved to 3 pm; bring snacks."
    assert out[1]["instruction"] == "Summarize the note in one sentence."  # not edited: kept
    assert out[1]["meta"]["quality"]["decision"] == "accept"
    assert out[1]["meta"]["quality"]["review"]["action"] == "edit"
    assert out[1]["meta"]["quality"]["failed"] == ["asks for exactly 1 sentence; response has 2 sentences"]

    # A new store (a restarted server) rebuilds the same state from the log alone.
    again = ReviewStore(d)
    assert again.counts() == store.counts() and again.seq == 5
    assert again.decide({"id": "f-4", "action": "reject"})["seq"] == 6


def test_torn_last_line_is_skipped(tmp_path):
    d = write_flagged(tmp_path / "q")
    ReviewStore(d).decide({"id": "f-1", "action": "approve"})
    with open(d / "review_decisions.jsonl", "a") as f:
        f.write('{"id": "f-2", "act')  # a crash in the middle of a write
    store = ReviewStore(d)
    assert store.counts() == {"pending": 3, "approve": 1, "reject": 0, "edit": 0}


def test_a_store_after_a_torn_line_keeps_logging_cleanly(tmp_path):
    d = write_flagged(tmp_path / "q")
    ReviewStore(d).decide({"id": "f-1", "action": "approve"})
    with open(d / "review_decisions.jsonl", "a") as f:
        f.write('{"id": "f-2", "act')
    ReviewStore(d).decide({"id": "f-3", "action": "reject"})  # appended after the torn fragment
    store = ReviewStore(d)  # ...must not turn the fragment into a malformed middle line
    assert store.counts() == {"pending": 2, "approve": 1, "reject": 1, "edit": 0}
    assert [e["id"] for e in read(d / "review_decisions.jsonl")] == ["f-1", "f-3"]


@pytest.mark.parametrize("bad", ['{"id": "f-2", "act', "[1, 2]", '{"id": "f-2"}', '{"id": "f-2", "action": "nope"}'])
@pytest.mark.parametrize("where", ["middle", "last line, complete"])
def test_a_malformed_line_that_is_not_a_torn_last_line_is_an_error(tmp_path, bad, where):
    """One bad line must not make the decisions after it disappear silently."""
    d = write_flagged(tmp_path / "q")
    store = ReviewStore(d)
    store.decide({"id": "f-1", "action": "approve"})
    log = d / "review_decisions.jsonl"
    with open(log, "a") as f:
        f.write(bad + "\n")
    if where == "middle":
        store.decide({"id": "f-3", "action": "reject"})
    with pytest.raises(DataError) as e:
        ReviewStore(d)
    assert (e.value.path, e.value.line) == (str(log), 2)
    assert f"{log}:2:" in str(e.value)


@pytest.mark.parametrize("payload, message", [
    ({"id": "nope", "action": "approve"}, "unknown record id 'nope'"),
    ({"id": "f-1", "action": "delete"}, "action must be one of approve, reject, edit, reset, got 'delete'"),
    ({"id": "f-1", "action": "edit"}, "an edit needs string field(s) among instruction, context, response"),
    ({"id": "f-1", "action": "edit", "response": 3}, "an edit needs string field(s)"),
    ({"id": "f-1", "action": "edit", "response": "  "}, "an edit cannot leave the response empty"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_decisions_are_refused(tmp_path, payload, message):
    store = ReviewStore(write_flagged(tmp_path / "q"))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.decide(payload)
    assert not (store.dir / "review_decisions.jsonl").exists()


def test_missing_dir_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="flagged.jsonl does not exist"):
        ReviewStore(tmp_path)


@pytest.fixture
def server(tmp_path):
    srv = make_server(ReviewStore(write_flagged(tmp_path / "q")), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx comes back as it is


def call(srv, path, body=None, headers=None, method=None, token=True, full=False):
    """(status, body) of one request; `token`: send the server's token as a bearer header
    (True), send `token` itself (a string), or send none (False). `full`: (status, body, headers)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    auth = {} if token is False else {"Authorization": f"Bearer {srv.token if token is True else token}"}
    req = urllib.request.Request(srv.base_url.rstrip("/") + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **auth, **(headers or {})})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            out = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        out = e.code, e.read(), e.headers
    return out if full else out[:2]


def test_http_api(server):
    status, page = call(server, "/")
    assert status == 200 and b"<title>instructune review</title>" in page and b"http" not in page.split(b"<script>")[1]
    status, body = call(server, "/api/decision", {"id": "f-2", "action": "reject"})
    assert status == 200
    assert json.loads(body)["counts"] == {"pending": 3, "approve": 0, "reject": 1, "edit": 0}
    status, body = call(server, "/api/state")
    state = json.loads(body)
    assert [(r["record"]["id"], (r["review"] or {}).get("action")) for r in state["records"]] == [
        ("f-1", None), ("f-2", "reject"), ("f-3", None), ("f-4", None)]


def test_http_refusals(server):
    assert call(server, "/api/decision", {"id": "x", "action": "approve"})[0] == 400
    assert call(server, "/api/decision", b"{not json")[0] == 400
    assert call(server, "/api/decision", b"id=f-1", {"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert call(server, "/api/decision", b"x" * (MAX_BODY_BYTES + 1))[0] == 413
    assert call(server, "/api/state", headers={"Host": "evil.example:80"})[0] == 403
    assert call(server, "/nope")[0] == 404
    assert not (server.store.dir / "review_decisions.jsonl").exists()


def test_refusing_a_large_body_does_not_reset_the_connection(server):
    """The 413 used to be sent with the body unread, so the client, still sending, got a broken
    pipe or a reset about one time in three instead of the reply."""
    for _ in range(10):
        assert call(server, "/api/decision", b"x" * (MAX_BODY_BYTES + 1))[0] == 413


def test_replies_are_not_held_by_nagle():
    from instructune.quality.review_app import ReviewHandler

    assert ReviewHandler.disable_nagle_algorithm  # header and body go out as two writes


# --- the page needs the token printed at start (URL) or its cookie -------------------------------

def test_the_url_holds_a_random_token(tmp_path):
    store = ReviewStore(write_flagged(tmp_path / "q"))
    a, b = make_server(store, "127.0.0.1", 0), make_server(store, "127.0.0.1", 0)
    try:
        assert len(a.token) >= 32 and a.token != b.token
        assert a.url == f"{a.base_url}?token={a.token}"
    finally:
        a.server_close()
        b.server_close()


@pytest.mark.parametrize("method, path, body", [("GET", "/", None), ("GET", "/api/state", None),
                                                ("POST", "/api/decision", {"id": "f-1", "action": "approve"})])
@pytest.mark.parametrize("token", [False, "wrong-token", ""])
def test_no_or_wrong_token_is_401(server, method, path, body, token):
    status, reply = call(server, path, body, method=method, token=token)
    assert status == 401 and server.token.encode() not in reply
    status, _ = call(server, path + "?token=nope", body, method=method, token=False)
    assert status == 401
    assert not (server.store.dir / "review_decisions.jsonl").exists()


def test_token_in_the_url_sets_a_cookie_that_the_page_then_uses(server):
    status, _, headers = call(server, f"/?token={server.token}", token=False, full=True)
    assert status == 303 and headers["Location"] == "/"  # the token leaves the address bar
    cookie = headers["Set-Cookie"]
    name = f"instructune_review_{server.server_address[1]}"  # per port: two servers on one host
    assert cookie.startswith(f"{name}={server.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    jar = {"Cookie": f"{name}={server.token}"}
    status, page = call(server, "/", headers=jar, token=False)
    assert status == 200 and b"<title>instructune review</title>" in page and server.token.encode() not in page
    assert call(server, "/api/state", headers=jar, token=False)[0] == 200
    assert call(server, "/api/decision", {"id": "f-1", "action": "approve"}, headers=jar, token=False)[0] == 200
    assert call(server, "/api/state", headers={"Cookie": f"{name}=stale"}, token=False)[0] == 401


def test_right_bearer_token_is_answered(server):
    assert call(server, "/api/state")[0] == 200


def test_insecure_needs_no_token(tmp_path):
    srv = make_server(ReviewStore(write_flagged(tmp_path / "q")), "127.0.0.1", 0, insecure=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        assert srv.token is None and srv.url == srv.base_url
        assert call(srv, "/api/state", token=False)[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_review_on_a_port_in_use_is_one_line_naming_it(tmp_path, capsys):
    import socket

    from instructune.cli import main

    d = write_flagged(tmp_path / "q")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["review", str(d), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == (f"instructune review: error: port {port} on 127.0.0.1 is in use (another server?); "
                   f"choose another with --port N (0 picks a free one)\n")
