"""`instructune review DIR`: a local web page to approve, reject or edit the flagged records.

DIR is an `instructune quality` output dir. Decisions are appended to DIR/review_decisions.jsonl
the moment they are made and approved / edited records are written to
DIR/reviewed_accepted.jsonl (see `quality/review_store.py`). Binds 127.0.0.1 by default. The
page asks for a token drawn at each start: the printed URL carries it (`?token=...`) and
sets a cookie; `--insecure` turns the check off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from instructune.quality.review_app import make_server
from instructune.quality.review_store import LOG_NAME, OUT_NAME, ReviewStore
from instructune.recipes.checks import bind_errors


def main(out_dir: str | Path, host: str = "127.0.0.1", port: int = 8765,
         announce: Callable[[str], None] = print, insecure: bool = False) -> None:
    """Serve the review page for `out_dir` until interrupted.

    Raises:
        FileNotFoundError: `out_dir` has no flagged.jsonl.
        CheckError: the port is in use.
    """
    store = ReviewStore(out_dir)
    with bind_errors(host, port, "--port N"):
        server = make_server(store, host, port, insecure=insecure)
    c = store.counts()
    announce(f"review: {server.url} ({len(store.records)} flagged, {c['pending']} pending); "
             f"decisions → {Path(out_dir) / LOG_NAME}, approved → {Path(out_dir) / OUT_NAME}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
