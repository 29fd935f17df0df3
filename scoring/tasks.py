"""Scoring Celery tasks: they take ids, are idempotent and retry only transient errors.

- ``recompute_scores(framework_id, period_id)``: the coalesced recompute (see
  :mod:`scoring.services`); ``acks_late`` so that a worker killed mid-run leaves the message to
  be redelivered, and the sequence check makes a repeated run harmless.
- ``sweep_stale``: every minute (beat), recomputes what is stale because an enqueue failed (the
  broker was down) or a run was lost.
- ``recompute_all_open``: nightly, recomputes every open period (overdue items change with the
  date alone).
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError

from . import services

TRANSIENT = (OperationalError, InterfaceError, KombuOperationalError, ConnectionError, TimeoutError)


@shared_task(
    name="scoring.tasks.recompute_scores",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def recompute_scores(framework_id: int, period_id: int) -> str:
    """Recomputes one (framework, period) if a change was requested since the last run."""
    # Cleared before reading anything: a change arriving from now on enqueues a new run.
    services.marker_clear(framework_id, period_id)
    outcome = services.score_recompute(framework_id=framework_id, period_id=period_id)
    return outcome.reason or ("written" if outcome.wrote else "skipped")


@shared_task(
    name="scoring.tasks.sweep_stale",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
)
def sweep_stale() -> int:
    """Recomputes every stale (framework, period) whose enqueue failed or whose run was lost."""
    return len(services.score_sweep_stale())


@shared_task(
    name="scoring.tasks.recompute_all_open",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
)
def recompute_all_open() -> int:
    """The nightly full recompute of every open period."""
    return len(services.score_recompute_all(open_only=True))
