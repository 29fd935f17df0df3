"""Project-level tasks: a trivial health task proving the Celery wiring."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(name="dti_portal.tasks.ping")
def ping(value: int, result_key: str | None = None) -> int:
    """Returns value + 1; with ``result_key`` also writes it to Redis so a test can see the worker ran."""
    result = value + 1
    if result_key and settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).set(result_key, result, ex=300)
    return result
