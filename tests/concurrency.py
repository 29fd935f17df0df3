"""Running one action from many threads at once, for the race tests (PostgreSQL only)."""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable

import pytest
from django.db import connection

#: The marks of a race test module: slow, and skipped unless the tests run on PostgreSQL
#: (SQLite's whole-database lock would serialise the requests and prove nothing).
RACE_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs PostgreSQL (DATABASE_URL): SQLite serialises writers",
    ),
]


def race(n: int, fn: Callable[..., object]) -> list[object]:
    """Runs ``fn`` in ``n`` threads released together by a barrier; each thread has its own
    database connection (closed at the end). ``fn`` takes no argument or the thread's index.
    Returns what each call returned or raised, in completion order."""
    takes_index = bool(inspect.signature(fn).parameters)
    barrier = threading.Barrier(n)
    results: list[object] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            try:
                out: object = fn(i) if takes_index else fn()
            except Exception as exc:  # noqa: BLE001 - collected and asserted on
                out = exc
            with lock:
                results.append(out)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == n
    return results
