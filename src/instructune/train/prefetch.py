"""Collate accumulation windows ahead of the training step, in a background thread.

    for item in prefetch(windows, collate_fn, depth=2): ...

Collation is Python over Arrow rows; done on the main thread it sits between two steps while
the device waits. Here a daemon thread runs `collate_fn` over the window stream (and pins
the tensors for asynchronous copies on CUDA) up to `depth` windows ahead; the main thread
only takes finished windows off a queue. The order is the stream's order, so the run is the
same with any depth; an exception in the thread is raised in the consumer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterable[T], work: Callable[[T], Any], depth: int = 2) -> Iterator[tuple[T, Any]]:
    """Yield (item, work(item)) for each item in order, computing up to `depth` ahead.

    Args:
        items: the input stream (may be endless; it is read only as far as consumed + depth).
        work: the function to run in the background thread.
        depth: results kept ready; 0 runs `work` on the consumer's thread instead.
    """
    if depth == 0:
        for item in items:
            yield item, work(item)
        return
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, work(item))):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))
            return
        put(_END)

    thread = threading.Thread(target=produce, name="instructune-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            got = ready.get()
            if got is _END:
                return
            if isinstance(got, _Failure):
                raise got.exc
            yield got
    finally:
        # The consumer stopped (done, islice exhausted, or an exception): release the thread.
        stop.set()
        thread.join(timeout=5)
