"""In-app notifications and their emails.

``notify`` writes one Notification per recipient in the caller's transaction; the emails go out
after commit through ``evidence.tasks.send_notification_emails`` (only to users who keep
``email_notifications`` on and have an address). Marking read is the only change a user makes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from agencies.models import User

from ..models import Notification, Submission


class Kind:
    """Notification kinds (``Notification.kind``)."""

    SUBMITTED_TO_LEAD = "submitted_to_lead"
    SUBMITTED = "submitted"
    RESUBMITTED = "resubmitted"
    APPROVED = "approved"
    RETURNED = "returned"
    REOPENED = "reopened"
    FINAL = "final"
    REMINDER = "reminder"
    OVERDUE = "overdue"


def agency_recipients(agency_id: int) -> list[User]:
    """The active staff accounts of an agency."""
    return list(
        User.objects.filter(agency_id=agency_id, role=User.Role.AGENCY_STAFF, is_active=True)
    )


def reviewer_recipients() -> list[User]:
    """The Sở's active reviewers (items arriving for review)."""
    return list(User.objects.filter(role=User.Role.REVIEWER, is_active=True))


def submission_link(submission: Submission, *, for_reviewer: bool) -> str:
    """Where a notification about ``submission`` leads its recipient ("" if no page exists)."""
    names = (
        ("evidence:review_detail", "evidence:submission_history")
        if for_reviewer
        else ("evidence:submission_detail", "evidence:submission_history")
    )
    for name in names:
        try:
            return reverse(name, args=[submission.pk])
        except NoReverseMatch:
            continue
    return ""


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    message: str,
    link: str = "",
    submission: Submission | None = None,
) -> list[Notification]:
    """One in-app notification per distinct recipient; emails are sent after commit."""
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                recipient=user, kind=kind, message=message, link=link, submission=submission
            )
        )
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created if n.recipient.email_notifications and n.recipient.email]
    if ids:
        from ..tasks import send_notification_emails

        transaction.on_commit(lambda: _enqueue_emails(send_notification_emails, ids))
    return created


def _enqueue_emails(task: Any, ids: list[int]) -> None:
    """Enqueues the email task; a broker outage must not break the request (inbox still works)."""
    try:
        task.delay(ids)
    except Exception:  # noqa: BLE001 - the in-app notification exists; email is best effort
        import logging

        logging.getLogger(__name__).warning("could not enqueue notification emails %s", ids)


@transaction.atomic
def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Marks the user's own notifications read (all unread ones when ``notification_ids`` is None).

    Returns how many changed; ids of other users' notifications are ignored.
    """
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


@transaction.atomic
def user_set_email_notifications(*, user: User, enabled: bool) -> User:
    """The user's own preference: receive notification and reminder emails or not."""
    user.email_notifications = enabled
    user.save(update_fields=["email_notifications", "updated_at"])
    return user
