"""The prefetch thread keeps order, stops with its consumer and hands on errors."""

from __future__ import annotations

import itertools
import threading

import pytest

from instructune.train.prefetch import prefetch


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_order_and_results_match_a_plain_loop(depth):
    assert list(prefetch(range(10), lambda x: x * x, depth)) == [(x, x * x) for x in range(10)]


def test_work_runs_off_the_consumer_thread_and_stops_with_an_endless_stream():
    main = threading.get_ident()
    threads = set()

    def work(x):
        threads.add(threading.get_ident())
        return x

    got = [r for _, r in itertools.islice(prefetch(itertools.count(), work, 2), 5)]
    assert got == [0, 1, 2, 3, 4] and main not in threads
    assert not any(t.name == "instructune-prefetch" and t.is_alive() for t in threading.enumerate())


def test_an_error_in_the_thread_is_raised_in_the_consumer():
    def work(x):
        if x == 3:
            raise ValueError("bad row")
        return x

    seen = []
    with pytest.raises(ValueError, match="bad row"):
        for x, _ in prefetch(range(10), work, 2):
            seen.append(x)
    assert seen == [0, 1, 2]
