"""The Celery app for the slow integration tests' worker: the portal's app, plus (when
``SCORING_TEST_RUN_DELAY`` is set) a pause inside every recompute, after it announced itself in
Redis (``scoring-test:running``), so that a test can kill the worker in the middle of a run.
While ``scoring-test:hold`` exists, a run that has slept its delay waits before loading anything:
a test checks what a killed run left behind before the redelivered run can write."""

from __future__ import annotations

import os
import time
from typing import Any

from celery.signals import task_prerun

from dti_portal.celery import app

__all__ = ["app"]

_patched: list[bool] = []


@task_prerun.connect
def _slow_down_recompute(**kwargs: Any) -> None:
    delay = float(os.environ.get("SCORING_TEST_RUN_DELAY") or 0)
    if not delay or _patched:
        return
    import redis

    from scoring.services import recompute

    real = recompute.load_inputs

    def slow_load(*args: Any, **kw: Any) -> Any:
        r = redis.Redis.from_url(os.environ["REDIS_URL"])
        r.set("scoring-test:running", "1")
        time.sleep(delay)
        deadline = time.monotonic() + 120
        while r.exists("scoring-test:hold") and time.monotonic() < deadline:
            time.sleep(0.1)
        return real(*args, **kw)

    recompute.load_inputs = slow_load  # type: ignore[assignment]
    _patched.append(True)
