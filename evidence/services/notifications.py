"""In-app notifications and their emails.

``notify`` writes one Notification per recipient in the caller's transaction; the emails go out
after commit through ``evidence.tasks.send_notification_emails`` (only to users who keep
``email_notifications`` on and have an address). Marking read is the only change a user makes.

Messages are :class:`~indicators.scoring_rules.base.Msg` (a msgid marked with ``gettext_noop``
and its arguments), stored structured so each reader sees them in their own language: whatever
is itself UI text (a period's label, a return reason, "Sở KH&CN") is a nested ``Msg``; agency
names, indicator codes and people's comments are plain text (data); points are ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from agencies.models import User
from indicators.scoring_rules.base import Msg

from ..models import Notification, ReportingPeriod, Submission

#: The kinds live on their model; the services name them through this alias.
Kind = Notification.Kind


def agency_recipients(agency_id: int) -> list[User]:
    """The active staff accounts of an agency."""
    return list(
        User.objects.filter(agency_id=agency_id, role=User.Role.AGENCY_STAFF, is_active=True)
    )


def reviewer_recipients() -> list[User]:
    """The Sở's active reviewers (items arriving for review)."""
    return list(User.objects.filter(role=User.Role.REVIEWER, is_active=True))


def period_msg(period: ReportingPeriod) -> Msg:
    """A period's label ("Quý 4/2025", "Cả năm 2025") as a message. Quarter and year are text,
    not numbers: a year must not print as "2.025"."""
    if period.quarter is None:
        return Msg(gettext_noop("Cả năm %(year)s"), year=str(period.year))
    return Msg(
        gettext_noop("Quý %(quarter)s/%(year)s"), quarter=str(period.quarter), year=str(period.year)
    )


def item_msg(submission: Submission) -> Msg:
    """The item as "3.4 (Quý 4/2025)": the sub-indicator's code and its period's label."""
    return Msg(
        "%(code)s (%(period)s)",
        code=submission.indicator.code,
        period=period_msg(submission.period),
    )


def points_arg(points: Decimal) -> Decimal:
    """Points as a message argument: two decimals at most, shown in the reader's number format."""
    return Decimal(points).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def message_fields(message: Msg | str) -> dict[str, Any]:
    """A notification's ``message`` (Vietnamese, whatever language the actor uses) and
    ``message_msg`` (structured, or None for a plain text)."""
    if isinstance(message, str):
        return {"message": message, "message_msg": None}
    with translation.override("vi"):
        # not str(message): that writes numbers as "12.5"; rendering gives the Vietnamese "12,5"
        text = message.render()
    return {"message": text, "message_msg": message.as_json()}


def mail_subject(text: str) -> str:
    """``text`` on one line: a line break in a header (a reason typed on several lines, a name
    imported from a cell written on two) makes Django refuse the whole message (BadHeaderError);
    it is also how a header would be injected."""
    return " ".join(text.split())


def absolute_url(path: str) -> str:
    """``path`` on the portal's public address (``SITE_URL``), for emails."""
    return f"{settings.SITE_URL.rstrip('/')}{path}"


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
    message: Msg | str,
    link: str = "",
    submission: Submission | None = None,
) -> list[Notification]:
    """One in-app notification per distinct recipient; emails are sent after commit.

    ``message``: a :class:`Msg` (shown in each reader's language); a plain string is stored as
    it is (shown the same to everyone).
    """
    fields = message_fields(message)
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(recipient=user, kind=kind, link=link, submission=submission, **fields)
        )
    return _store(rows)


def _store(rows: list[Notification]) -> list[Notification]:
    """Writes the notifications in one insert; emails those recipients who want email after
    commit."""
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created if n.recipient.email_notifications and n.recipient.email]
    if ids:
        from ..tasks import send_notification_emails

        transaction.on_commit(lambda: _enqueue_emails(send_notification_emails, ids))
    return created


def notify_contributors(*, consolidation: Submission, kind: str, message: Msg) -> None:
    """Tells the coordinating agencies whose contributions went into ``consolidation`` (sent to
    the lead, not returned by it) what became of the item, each with a link to its own part
    (3 queries whatever the number of agencies)."""
    contributions = (
        Submission.objects.filter(
            indicator_id=consolidation.indicator_id,
            period_id=consolidation.period_id,
            is_consolidation=False,
            state=Submission.State.SUBMITTED_TO_LEAD,
        )
        .exclude(agency_id=consolidation.agency_id)
        .only("pk", "agency_id")
    )
    by_agency = {c.agency_id: c for c in contributions}
    fields = message_fields(message)
    links = {pk: submission_link(c, for_reviewer=False) for pk, c in by_agency.items()}
    _store(
        [
            Notification(
                recipient=user,
                kind=kind,
                link=links[user.agency_id],  # type: ignore[index]
                submission=by_agency[user.agency_id],  # type: ignore[index]
                **fields,
            )
            for user in User.objects.filter(
                agency_id__in=by_agency, role=User.Role.AGENCY_STAFF, is_active=True
            )
        ]
    )


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


def notification_email_send(*, notification_ids: list[int]) -> int:
    """Emails the given notifications to recipients who want email; each at most once.

    Emails are in Vietnamese, the portal's default language (users have no stored language, and
    the task may run in the actor's request, in whatever language the actor uses).
    """
    sent = 0
    rows = Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True)
    for n in rows.select_related("recipient"):
        user = n.recipient
        if not (user.email_notifications and user.email and user.is_active):
            continue
        with translation.override("vi"):
            text = n.text
            subject = _("[Cổng DTI] %(text)s") % {"text": mail_subject(text)[:90]}
        body = text + (f"\n\n{absolute_url(n.link)}" if n.link else "")
        # Taken before sending: another worker on the same ids (a redelivered or duplicated
        # task) finds it taken and sends nothing. A failed send gives it back for the retry.
        claimed = Notification.objects.filter(pk=n.pk, emailed_at__isnull=True)
        if not claimed.update(emailed_at=timezone.now()):
            continue
        try:
            send_mail(subject, body, None, [user.email])
        except Exception:
            Notification.objects.filter(pk=n.pk).update(emailed_at=None)
            raise
        sent += 1
    return sent
