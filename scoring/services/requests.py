"""Recompute requests: coalesced, after commit, never failing the change that asked.

:func:`score_recompute_request` (called after commit when scoring inputs change) bumps
``requested_seq`` and enqueues the ``recompute_scores`` task, unless one is already queued (a
cache marker, :func:`queued_marker_key`, set for ``COALESCE_MARKER_TTL`` seconds, cleared by the
task when it starts). The task is enqueued with a short countdown so that a burst of approvals is
computed by a handful of runs. If the broker is down the request still succeeds:
``enqueue_failed_at`` is recorded, the summary says stale, and the periodic ``sweep_stale`` task
recomputes it when the worker is back.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import ScoreState

logger = logging.getLogger(__name__)


#: Delay before a queued recompute runs, so that a burst of changes is computed once.
COALESCE_COUNTDOWN = 2
#: Lifetime of the "a recompute is already queued" marker (a safety net if a task is lost).
COALESCE_MARKER_TTL = 60
#: A stale state whose request is older than this (seconds; setting
#: ``SCORING_SWEEP_GRACE_SECONDS``) is swept even if a run is believed queued.
SWEEP_GRACE_SECONDS = 30


def queued_marker_key(framework_id: int, period_id: int) -> str:
    return f"scoring:queued:{framework_id}:{period_id}"


def _marker_add(key: str) -> bool:
    """Sets the marker; True when it was not set. A cache outage counts as "not set"."""
    try:
        return bool(cache.add(key, "1", timeout=COALESCE_MARKER_TTL))
    except Exception:  # the cache is best effort (Redis may be down); enqueue anyway
        logger.warning("scoring: cache unavailable for the recompute marker", exc_info=True)
        return True


def marker_clear(framework_id: int, period_id: int) -> None:
    try:
        cache.delete(queued_marker_key(framework_id, period_id))
    except Exception:
        logger.warning("scoring: cache unavailable to clear the recompute marker", exc_info=True)


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError as KombuOperationalError

    errors: list[type[BaseException]] = [KombuOperationalError, ConnectionError, TimeoutError]
    try:
        import redis.exceptions

        errors.append(redis.exceptions.ConnectionError)
        errors.append(redis.exceptions.TimeoutError)
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    return tuple(errors)


def _enqueue(framework_id: int, period_id: int, *, countdown: int = COALESCE_COUNTDOWN) -> bool:
    """Publishes the recompute task; on a broker failure records it and returns False."""
    from ..tasks import recompute_scores

    try:
        recompute_scores.apply_async(args=(framework_id, period_id), countdown=countdown)
    except _broker_errors() as exc:
        logger.warning("scoring: could not enqueue the recompute (%s); scores are stale", exc)
        _record_failure(framework_id, period_id, f"enqueue: {exc}")
        return False
    except Exception as exc:
        if not recompute_scores.app.conf.task_always_eager:
            raise
        # Eager mode (no broker): the run happened inline and failed. The change that asked
        # for it is committed and must not fail with it; the sweeper retries later.
        logger.exception("scoring: the inline recompute failed; scores are stale")
        _record_failure(framework_id, period_id, f"run: {exc!r}")
        return False
    return True


def _record_failure(framework_id: int, period_id: int, message: str) -> None:
    marker_clear(framework_id, period_id)
    ScoreState.objects.filter(framework_id=framework_id, period_id=period_id).update(
        enqueue_failed_at=timezone.now(), last_error=message[:1000]
    )


def score_recompute_request(*, framework_id: int, period_id: int) -> None:
    """Marks the (framework, period) scores stale and enqueues a coalesced recompute.

    Never raises because of the broker or the cache: the change that triggered it has already
    been committed and must succeed. Called by the ``scores_invalidated`` receiver after commit;
    when called inside a transaction the enqueue waits for the commit.
    """
    state, _created = ScoreState.objects.get_or_create(
        framework_id=framework_id, period_id=period_id
    )
    ScoreState.objects.filter(pk=state.pk).update(
        requested_seq=F("requested_seq") + 1, updated_at=timezone.now()
    )

    def enqueue() -> None:
        if _marker_add(queued_marker_key(framework_id, period_id)):
            _enqueue(framework_id, period_id)

    transaction.on_commit(enqueue)
