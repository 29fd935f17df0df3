"""Deadline reminders: the daily digests to agencies with unfinished items and the escalations
to the heads of agencies past a deadline (run daily by ``evidence.tasks.send_deadline_reminders``).
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from agencies.models import Agency, User
from indicators.models import Indicator
from indicators.scoring_rules.base import Msg

from ..models import ItemExtension, Notification, ReminderDigest, ReportingPeriod, Submission
from .notifications import absolute_url, mail_subject, message_fields, period_msg

logger = logging.getLogger(__name__)

#: Reminders go out this many days before a period's deadline.
REMINDER_DAYS_BEFORE = (7, 3, 1)
#: The agency's head is told this many days after a missed deadline.
ESCALATION_DAYS_AFTER = (1, 7)
#: Each step above is sent once: on its day, or on a later run when beat or the worker was down
#: that day (a reminder up to the deadline, an escalation up to this many days after its day).
#: Beyond that a late escalation helps nobody; it also bounds the periods a run looks at.
CATCH_UP_DAYS = 7
#: States in which an agency's part is done (sent on, under review or approved).
DONE_STATES = frozenset(
    {
        Submission.State.SUBMITTED_TO_LEAD,
        Submission.State.SUBMITTED,
        Submission.State.UNDER_REVIEW,
        Submission.State.APPROVED,
    }
)


@dataclass
class _Item:
    code: str
    name: str
    status: str
    deadline: datetime.date  # the period's, or the item's own after an ItemExtension
    #: Returned by the lead or the Sở (usually after the deadline): reminded, never escalated as
    #: overdue, as the dashboard counts it (returned, not overdue).
    returned: bool = False
    #: A 0-point sub-indicator: reminded before its deadline (it must be reported), never
    #: escalated as overdue (it puts no points at risk; the dashboards do not count it overdue).
    informational: bool = False


@dataclass
class ReminderReport:
    digests: int = 0
    escalations: int = 0  # e-mailed to the agency's head
    skipped_existing: int = 0
    failures: list[str] = field(default_factory=list)
    # Overdue agencies whose head has no e-mail address (the directory's head_email): their
    # staff got the in-app notice, nobody was escalated to.
    no_head_email: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "digests": self.digests,
            "escalations": self.escalations,
            "skipped_existing": self.skipped_existing,
            "failures": self.failures,
            "no_head_email": self.no_head_email,
        }


def _assignments(framework_id: int) -> tuple[dict[int, list[Indicator]], dict[int, Agency]]:
    """agency id → the sub-indicators it reports (as lead or coordinator), with the agencies.

    A fixed number of queries: sub-indicators with their coordinating agencies and groups
    (prefetched), and the active agencies (to expand groups by kind).
    """
    subs = list(
        Indicator.objects.filter(framework_id=framework_id, level=Indicator.Level.SUB)
        .prefetch_related("coordinating_agencies", "coordinating_groups__members")
        .order_by("sort_key")
    )
    agencies = {a.pk: a for a in Agency.objects.filter(is_active=True)}
    by_kind: dict[str, list[int]] = defaultdict(list)
    for a in agencies.values():
        by_kind[a.kind].append(a.pk)
    assigned: dict[int, list[Indicator]] = defaultdict(list)
    for ind in subs:
        ids: set[int] = set()
        if ind.lead_agency_id:
            ids.add(ind.lead_agency_id)
        ids.update(a.pk for a in ind.coordinating_agencies.all())
        for group in ind.coordinating_groups.all():
            ids.update(m.pk for m in group.members.all())
            for kind in group.kinds or []:
                ids.update(by_kind.get(kind, []))
        for agency_id in ids:
            if agency_id in agencies:
                assigned[agency_id].append(ind)
    return assigned, agencies


def unfinished_items(period: ReportingPeriod) -> dict[int, list[_Item]]:
    """agency id → its items of ``period`` not yet sent on (missing, draft or returned), each
    with the deadline that applies to it (an ItemExtension's, else the period's)."""
    assigned, _agencies = _assignments(period.framework_id)
    states = {
        (agency_id, indicator_id): state
        for agency_id, indicator_id, state in Submission.objects.filter(period=period).values_list(
            "agency_id", "indicator_id", "state"
        )
    }
    own_deadline = {
        (agency_id, indicator_id): deadline
        for agency_id, indicator_id, deadline in ItemExtension.objects.filter(
            period=period
        ).values_list("agency_id", "indicator_id", "deadline")
    }
    labels: dict[str | None, str] = {
        None: _("chưa báo cáo"),
        Submission.State.DRAFT: _("đang soạn, chưa gửi"),
        Submission.State.RETURNED: _("bị trả lại, cần giải trình"),
    }
    result: dict[int, list[_Item]] = {}
    for agency_id, indicators in assigned.items():
        items = []
        for ind in indicators:
            state = states.get((agency_id, ind.pk))
            if state in DONE_STATES:
                continue
            items.append(
                _Item(
                    code=ind.code,
                    name=ind.name,
                    status=labels.get(state, str(state)),
                    deadline=own_deadline.get((agency_id, ind.pk), period.deadline),
                    returned=state == Submission.State.RETURNED,
                    informational=not ind.is_scored,
                )
            )
        if items:
            result[agency_id] = items
    return result


def _step_due(deadline: datetime.date, today: datetime.date, last: datetime.date | None) -> bool:
    """Whether today's step for ``deadline`` is still to be sent; ``last`` is the day of the
    agency's latest digest of that step's kind (before or overdue) for the period, before today.

    Before the deadline the step is the nearest of ``REMINDER_DAYS_BEFORE`` at or above the days
    left (4-7 days left: the 7-day step); after it the largest of ``ESCALATION_DAYS_AFTER`` at or
    below the days late. A step is sent when no digest of its kind went out since the step's day:
    on that day normally, on the next run when that day was missed.
    """
    if deadline >= today:
        ahead = [n for n in REMINDER_DAYS_BEFORE if n >= (deadline - today).days]
        if not ahead:
            return False
        since = deadline - datetime.timedelta(days=min(ahead))
    else:
        late = (today - deadline).days
        past = [n for n in ESCALATION_DAYS_AFTER if n <= late]
        if not past or late - max(past) >= CATCH_UP_DAYS:
            return False
        since = deadline + datetime.timedelta(days=max(past))
    return last is None or last < since


def _due(
    period: ReportingPeriod,
    items: list[_Item],
    today: datetime.date,
    last_sent: dict[str, datetime.date] | None = None,
) -> tuple[str, list[_Item]] | None:
    """What one agency is told today about ``period``, if anything.

    An escalation when an overdue item's step (1 or 7 days late) is still to be sent (listing the
    overdue items); else a reminder when an item's step (7, 3 or 1 days ahead) is (listing the
    items still due): see ``_step_due``; ``last_sent`` maps a digest kind to the day of the
    agency's latest one before today. Items of a closed period count only under their own
    extension.
    """
    last_sent = last_sent or {}
    closed = period.status == ReportingPeriod.Status.CLOSED
    live = [it for it in items if not closed or it.deadline != period.deadline]
    # Only what was never sent is overdue (and only a scored item, see ``_Item.informational``):
    # such an item was unfinished on every day since its
    # deadline, so a step caught up late is a step really missed.
    overdue = [
        it for it in live if it.deadline < today and not it.returned and not it.informational
    ]
    last = last_sent.get(ReminderDigest.Kind.OVERDUE)
    if any(_step_due(it.deadline, today, last) for it in overdue):
        return ReminderDigest.Kind.OVERDUE, overdue
    upcoming = [it for it in live if it.deadline >= today]
    last = last_sent.get(ReminderDigest.Kind.BEFORE)
    if any(_step_due(it.deadline, today, last) for it in upcoming):
        return ReminderDigest.Kind.BEFORE, upcoming
    return None


def _last_sent(
    period: ReportingPeriod, today: datetime.date
) -> dict[int, dict[str, datetime.date]]:
    """agency id → digest kind → the day of its latest digest for ``period`` before today.

    Today's digests are left out on purpose: a second run the same day finds the same steps due
    and is stopped by the one-digest-per-day constraint (counted as ``skipped_existing``).
    """
    last: dict[int, dict[str, datetime.date]] = defaultdict(dict)
    rows = (
        ReminderDigest.objects.filter(period=period, day__lt=today)
        .values("agency_id", "kind")
        .annotate(last=Max("day"))
    )
    for row in rows:
        last[row["agency_id"]][row["kind"]] = row["last"]
    return last


def _inbox_path() -> str:
    try:
        return reverse("evidence:inbox")
    except NoReverseMatch:
        return reverse("home")


def _send_one(
    *,
    agency: Agency,
    period: ReportingPeriod,
    today: datetime.date,
    kind: str,
    items: list[_Item],
    staff: list[User],
) -> list[str] | None:
    """Writes the digest row and sends its one email in one transaction.

    The addresses e-mailed (may be none: the in-app notices still go out); None: already sent.
    """
    lines = "\n".join(
        f"- {it.code}. {it.name} ({it.status}, {_('hạn')} {it.deadline:%d/%m/%Y})" for it in items
    )
    if kind == ReminderDigest.Kind.BEFORE:
        nearest = min(it.deadline for it in items)
        days = (nearest - today).days
        deadline = nearest.strftime("%d/%m/%Y")
        args = {"agency": agency.name, "period": period, "deadline": deadline, "days": days}
        if days > 0:
            subject = _(
                "[Cổng DTI] Nhắc hạn báo cáo %(period)s: còn %(days)s ngày, %(n)s chỉ số chưa gửi"
            ) % {"period": period, "days": days, "n": len(items)}
            intro = (
                _(
                    "Kính gửi %(agency)s,\n\nHạn báo cáo %(period)s là ngày %(deadline)s (còn "
                    "%(days)s ngày). Các chỉ số sau chưa được gửi:"
                )
                % args
            )
            message = Msg(
                gettext_noop(
                    "Còn %(days)s ngày đến hạn báo cáo %(period)s: %(n)s chỉ số chưa gửi."
                ),
                days=str(days),
                period=period_msg(period),
                n=str(len(items)),
            )
            action = _("Đề nghị đơn vị hoàn thành và gửi báo cáo trên Cổng DTI trước hạn:")
        else:  # a catch-up run on the deadline day: "today", not "0 days left"
            subject = _(
                "[Cổng DTI] Nhắc hạn báo cáo %(period)s: hôm nay là hạn, %(n)s chỉ số chưa gửi"
            ) % {"period": period, "n": len(items)}
            intro = (
                _(
                    "Kính gửi %(agency)s,\n\nHạn báo cáo %(period)s là hôm nay, ngày %(deadline)s. "
                    "Các chỉ số sau chưa được gửi:"
                )
                % args
            )
            message = Msg(
                gettext_noop("Hôm nay là hạn báo cáo %(period)s: %(n)s chỉ số chưa gửi."),
                period=period_msg(period),
                n=str(len(items)),
            )
            action = _("Đề nghị đơn vị hoàn thành và gửi báo cáo trên Cổng DTI trong ngày hôm nay:")
        recipients = [u.email for u in staff if u.email and u.email_notifications]
        note_kind = Notification.Kind.REMINDER
    else:
        oldest = min(it.deadline for it in items)
        late = (today - oldest).days
        subject = _("[Cổng DTI] %(agency)s quá hạn báo cáo %(period)s: %(n)s chỉ số") % {
            "agency": agency.name,
            "period": period,
            "n": len(items),
        }
        intro = _(
            "Kính gửi Thủ trưởng %(agency)s,\n\nĐơn vị đã quá hạn báo cáo %(period)s (hạn "
            "%(deadline)s, quá %(late)s ngày). Các chỉ số sau chưa được gửi:"
        ) % {
            "agency": agency.name,
            "period": period,
            "deadline": oldest.strftime("%d/%m/%Y"),
            "late": late,
        }
        recipients = [agency.head_email] if agency.head_email else []
        action = _("Đề nghị đơn vị khẩn trương hoàn thành và gửi báo cáo trên Cổng DTI:")
        message = Msg(
            gettext_noop("Quá hạn báo cáo %(period)s %(late)s ngày: %(n)s chỉ số chưa gửi."),
            period=period_msg(period),
            late=str(late),
            n=str(len(items)),
        )
        note_kind = Notification.Kind.OVERDUE
    body = f"{intro}\n\n{lines}\n\n{action}\n{absolute_url(_inbox_path())}\n"
    fields = message_fields(message)  # the in-app notice: shown in each reader's language
    try:
        with transaction.atomic():
            ReminderDigest.objects.create(
                agency=agency, period=period, day=today, kind=kind, items=len(items)
            )
            now = timezone.now()
            Notification.objects.bulk_create(
                Notification(
                    recipient=u,
                    kind=note_kind,
                    link=_inbox_path(),
                    emailed_at=now if u.email in recipients else None,
                    **fields,
                )
                for u in staff
            )
            if recipients:
                EmailMessage(mail_subject(subject), body, None, recipients).send()
    except IntegrityError:
        return None
    return recipients


def reminder_send_due(*, today: datetime.date | None = None) -> ReminderReport:
    """Sends what is due ``today``: one digest per agency with unfinished items, 7, 3 and 1 days
    before a deadline; an escalation to the agency's head 1 and 7 days after it. The deadline is the
    period's, or an item's own after an ItemExtension (also in a closed period). A step whose
    day was missed (beat or the worker down) goes out on the next run (``CATCH_UP_DAYS``).

    Idempotent: the ``ReminderDigest`` row (unique per agency, period and day) is written in the
    same transaction as the email, so a second run the same day sends nothing, and a step is sent
    once: a later run sees the digest of that step.
    An escalation counts only when it was e-mailed: an agency without a ``head_email`` (the
    agency directory's column) is listed in ``no_head_email`` instead, and logged.
    Each digest is its own transaction (a mail-server failure rolls back that agency's digest
    only: it is listed in ``failures`` for the task to retry).
    """
    today = today or timezone.localdate()
    report = ReminderReport()
    lo = today - datetime.timedelta(days=max(ESCALATION_DAYS_AFTER) + CATCH_UP_DAYS - 1)
    hi = today + datetime.timedelta(days=max(REMINDER_DAYS_BEFORE))
    extended = ItemExtension.objects.filter(deadline__gte=lo, deadline__lte=hi).values("period")
    periods = ReportingPeriod.objects.filter(
        Q(status=ReportingPeriod.Status.OPEN, deadline__gte=lo, deadline__lte=hi)
        | Q(pk__in=extended)
    )
    for period in periods:
        last_sent = _last_sent(period, today)
        due = {
            agency_id: todo
            for agency_id, items in unfinished_items(period).items()
            if (todo := _due(period, items, today, last_sent.get(agency_id))) is not None
        }
        if not due:
            continue
        staff_by_agency: dict[int, list[User]] = defaultdict(list)
        for u in User.objects.filter(
            agency_id__in=list(due), role=User.Role.AGENCY_STAFF, is_active=True
        ):
            staff_by_agency[u.agency_id].append(u)  # type: ignore[index]
        agencies = Agency.objects.in_bulk(list(due))
        for agency_id, (kind, items) in due.items():
            try:
                sent = _send_one(
                    agency=agencies[agency_id],
                    period=period,
                    today=today,
                    kind=kind,
                    items=items,
                    staff=staff_by_agency.get(agency_id, []),
                )
            except OSError as exc:  # mail server trouble: the row was rolled back, retry later
                logger.warning("reminder for agency %s failed: %s", agency_id, exc)
                report.failures.append(str(agency_id))
                continue
            if sent is None:
                report.skipped_existing += 1
            elif kind == ReminderDigest.Kind.BEFORE:
                report.digests += 1
            elif sent:
                report.escalations += 1
            else:
                # Not an escalation: the head was told nothing (the staff's notices went out).
                code = agencies[agency_id].code
                logger.warning(
                    "overdue agency %s has no head_email: no escalation e-mail for %s "
                    "(set it in the agency directory)",
                    code,
                    period,
                )
                report.no_head_email.append(code)
    return report
