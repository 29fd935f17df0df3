"""Celery tasks of evidence: notification emails, deadline reminders and the janitor of
orphan files (beat).

Tasks take ids, are idempotent and retry only transient errors (SMTP/network: ``OSError``); the
work itself is done by services (:mod:`evidence.services.notifications`,
:mod:`evidence.services.reminders`).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .services.notifications import notification_email_send
from .services.reminders import reminder_send_due
from .services.storage_cleanup import evidence_orphans_remove


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_emails(notification_ids: list[int]) -> int:
    """Emails the given notifications to recipients who want email; each at most once."""
    return notification_email_send(notification_ids=notification_ids)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def send_deadline_reminders() -> dict[str, Any]:
    """Beat, daily: the deadline reminders and escalations due today (idempotent: a second run
    the same day sends nothing). Agencies whose email failed make the task retry."""
    report = reminder_send_due()
    if report.failures:
        raise OSError(f"reminders failed for agencies {', '.join(report.failures)}")
    return report.as_dict()


@shared_task
def remove_orphan_files() -> dict[str, Any]:
    """Beat, nightly: removes stored files no row points at and stale temporary uploads, older
    than ``MEDIA_ORPHAN_GRACE_HOURS`` (idempotent: a second run finds nothing)."""
    return evidence_orphans_remove().as_dict()
