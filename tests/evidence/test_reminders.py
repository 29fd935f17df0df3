"""Deadline reminders (Celery beat): one digest per agency per day, idempotent, escalation; each
step sent once, also on a later day when its own day was missed."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from agencies.models import Agency, User
from evidence.models import Notification, ReminderDigest, Submission
from evidence.services.reminders import unfinished_items
from evidence.tasks import send_deadline_reminders
from tests.evidence.review_setup import make_item
from tests.factories import (
    AgencyFactory,
    AgencyGroupFactory,
    FrameworkFactory,
    ReportingPeriodFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE = datetime.date(2025, 12, 25)
S = Submission.State


def at(day: datetime.date, hour: int = 7) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, 30, tzinfo=VN)


@pytest.fixture
def world(agency_a, agency_b, user_a, user_b):
    """A leads 1.1 (draft: unfinished), B coordinates 1.1 (sent to the lead: done),
    C leads 1.2 (nothing yet: unfinished), D leads 1.3 (approved: done)."""
    period = ReportingPeriodFactory(framework=FrameworkFactory(), deadline=DEADLINE)
    one = make_item(agency_a, agency_b, code="1.1", period=period)
    Submission.objects.filter(pk=one.contribution.pk).update(state=S.SUBMITTED_TO_LEAD)
    agency_c = AgencyFactory(code="so-c", name="Sở Thử nghiệm C", head_email="giamdoc.c@example.vn")
    agency_d = AgencyFactory(code="so-d", name="Sở Thử nghiệm D", head_email="giamdoc.d@example.vn")
    user_c = UserFactory(username="staff_c", agency=agency_c)
    user_d = UserFactory(username="staff_d", agency=agency_d)
    two = make_item(agency_c, agency_b, code="1.2", period=period)
    Submission.objects.filter(pk=two.consolidation.pk).delete()
    Submission.objects.filter(pk=two.contribution.pk).update(state=S.SUBMITTED_TO_LEAD)
    three = make_item(agency_d, agency_b, code="1.3", period=period)
    Submission.objects.filter(pk=three.consolidation.pk).update(state=S.APPROVED)
    Submission.objects.filter(pk=three.contribution.pk).update(state=S.SUBMITTED_TO_LEAD)
    return {"period": period, "a": user_a, "b": user_b, "c": user_c, "d": user_d}


def test_three_days_before_run_twice_one_digest_per_unfinished_agency(world):
    with time_machine.travel(at(DEADLINE - datetime.timedelta(days=3)), tick=False):
        first = send_deadline_reminders.delay().get()
        second = send_deadline_reminders.delay().get()
    assert first["digests"] == 2 and second == {
        "digests": 0,
        "escalations": 0,
        "skipped_existing": 2,
        "failures": [],
        "no_head_email": [],
    }
    digests = ReminderDigest.objects.order_by("agency__code")
    assert [(d.agency.code, d.day, d.kind, d.items) for d in digests] == [
        ("so-a", DEADLINE - datetime.timedelta(days=3), "before", 1),
        ("so-c", DEADLINE - datetime.timedelta(days=3), "before", 1),
    ]
    # one email per agency (not per item), none to agencies that are done (B, D)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "staff_a@example.gov.vn",
        "staff_c@example.gov.vn",
    ]
    assert len(mail.outbox) == 2
    body = next(m for m in mail.outbox if m.to == ["staff_a@example.gov.vn"]).body
    assert "1.1." in body and "25/12/2025" in body and "còn 3 ngày" in body
    assert not Notification.objects.filter(recipient__in=[world["b"], world["d"]]).exists()
    assert Notification.objects.filter(recipient=world["a"], kind="reminder").count() == 1


def days_before(days: int) -> datetime.datetime:
    return at(DEADLINE - datetime.timedelta(days=days))


def days_after(days: int) -> datetime.datetime:
    return at(DEADLINE + datetime.timedelta(days=days))


def test_days_between_the_steps_send_nothing_more(world):
    with time_machine.travel(days_before(8), tick=False):
        send_deadline_reminders()
    assert ReminderDigest.objects.count() == 0 and mail.outbox == []
    sent_on = []
    for days in range(7, -1, -1):  # every day from 7 days before to the deadline
        with time_machine.travel(days_before(days), tick=False):
            if send_deadline_reminders()["digests"]:
                sent_on.append(days)
    assert sent_on == [7, 3, 1]
    assert ReminderDigest.objects.filter(agency__code="so-a").count() == 3


def test_a_missed_step_is_sent_on_the_next_run(world):
    """Beat or the worker down on the 3-day step's day: the next day's run sends it, then the
    1-day step comes on its own day, and each step once."""
    with time_machine.travel(days_before(7), tick=False):
        send_deadline_reminders()
    mail.outbox.clear()
    with time_machine.travel(days_before(2), tick=False):  # nothing ran 3 days before
        assert send_deadline_reminders()["digests"] == 2
    assert "còn 2 ngày" in mail.outbox[0].body
    for days, expected in ((1, 2), (0, 0)):
        with time_machine.travel(days_before(days), tick=False):
            assert send_deadline_reminders()["digests"] == expected
    assert sorted(
        ReminderDigest.objects.filter(agency__code="so-a").values_list("day", flat=True)
    ) == [DEADLINE - datetime.timedelta(days=d) for d in (7, 2, 1)]


def test_several_missed_steps_give_one_reminder(world):
    """Down for the 7- and 3-day steps: one digest on the deadline day, not one per step."""
    with time_machine.travel(days_before(0), tick=False):
        assert send_deadline_reminders()["digests"] == 2
    # On the deadline day the email says so, never "còn 0 ngày" (0 days left).
    sent = mail.outbox[0]
    assert "còn 0 ngày" not in sent.body and "còn 0 ngày" not in sent.subject
    assert "Hạn báo cáo" in sent.body and "là hôm nay, ngày 25/12/2025" in sent.body
    assert "hôm nay là hạn" in sent.subject
    assert "Đề nghị đơn vị hoàn thành và gửi báo cáo trên Cổng DTI" in sent.body
    mail.outbox.clear()
    with time_machine.travel(days_before(0), tick=False):
        send_deadline_reminders()
    assert mail.outbox == []


def test_seven_and_one_day_before(world):
    for days in (7, 1):
        with time_machine.travel(at(DEADLINE - datetime.timedelta(days=days)), tick=False):
            send_deadline_reminders()
    assert ReminderDigest.objects.filter(agency__code="so-a").count() == 2
    assert len(mail.outbox) == 4


def test_email_preference_off_keeps_in_app_only(world):
    User.objects.filter(pk=world["a"].pk).update(email_notifications=False)
    with time_machine.travel(at(DEADLINE - datetime.timedelta(days=3)), tick=False):
        send_deadline_reminders()
    assert [m.to for m in mail.outbox] == [["staff_c@example.gov.vn"]]
    assert Notification.objects.filter(recipient=world["a"], kind="reminder").exists()
    assert ReminderDigest.objects.filter(agency__code="so-a").exists()


def test_escalation_to_head_after_deadline(world):
    with time_machine.travel(at(DEADLINE + datetime.timedelta(days=1)), tick=False):
        res = send_deadline_reminders()
        send_deadline_reminders()
    # A has no head email: only its staff get the in-app notice, which is no escalation
    assert res["escalations"] == 1 and res["no_head_email"] == ["so-a"]
    heads = sorted(m.to[0] for m in mail.outbox)
    assert heads == ["giamdoc.c@example.vn"]
    assert "quá hạn" in mail.outbox[0].body.lower()
    assert ReminderDigest.objects.filter(kind="overdue").count() == 2
    assert Notification.objects.filter(recipient=world["a"], kind="overdue").count() == 1


def test_closed_period_gets_no_reminder(world):
    world["period"].status = "closed"
    world["period"].save()
    with time_machine.travel(at(DEADLINE - datetime.timedelta(days=3)), tick=False):
        send_deadline_reminders()
    assert mail.outbox == []


def test_group_coordination_expands_by_kind(agency_a, user_a):
    period = ReportingPeriodFactory(framework=FrameworkFactory(), deadline=DEADLINE)
    commune = AgencyFactory(code="xa-1", name="UBND xã Một", kind=Agency.Kind.COMMUNE)
    UserFactory(username="xa1", agency=commune)
    group = AgencyGroupFactory(kinds=[Agency.Kind.COMMUNE])
    item = make_item(agency_a, AgencyFactory(code="so-x"), code="2.1", period=period)
    item.indicator.coordinating_groups.add(group)
    SubmissionFactory(
        indicator=item.indicator, agency=AgencyFactory(code="xa-2", kind="commune"), period=period
    )
    pending = unfinished_items(period)
    assert commune.pk in pending and pending[commune.pk][0].code == "2.1"
    assert "chưa báo cáo" in pending[commune.pk][0].status


def _extend(world, agency_code, code, deadline, reviewer):
    from evidence.models import ItemExtension
    from indicators.models import Indicator

    return ItemExtension.objects.create(
        period=world["period"],
        indicator=Indicator.objects.get(framework=world["period"].framework, code=code),
        agency=Agency.objects.get(code=agency_code),
        deadline=deadline,
        reason="gia hạn",
        granted_by=reviewer,
    )


def test_extended_item_reminded_before_its_own_deadline_in_closed_period(world, reviewer):
    world["period"].status = "closed"
    world["period"].save()
    own = DEADLINE + datetime.timedelta(days=10)
    _extend(world, "so-a", "1.1", own, reviewer)
    with time_machine.travel(at(own - datetime.timedelta(days=3)), tick=False):
        send_deadline_reminders()
        send_deadline_reminders()
    assert [m.to for m in mail.outbox] == [
        ["staff_a@example.gov.vn"]
    ]  # not C: closed, no extension
    assert "04/01/2026" in mail.outbox[0].body and "còn 3 ngày" in mail.outbox[0].body


def test_extended_item_not_escalated_before_its_own_deadline(world, reviewer):
    _extend(world, "so-a", "1.1", DEADLINE + datetime.timedelta(days=5), reviewer)
    with time_machine.travel(days_before(1), tick=False):  # A: its item's 7-day step
        send_deadline_reminders()
    with time_machine.travel(days_after(1), tick=False):
        res = send_deadline_reminders()
    assert res["escalations"] == 1 and res["digests"] == 0
    assert list(
        ReminderDigest.objects.filter(day=DEADLINE + datetime.timedelta(days=1)).values_list(
            "agency__code", "kind"
        )
    ) == [("so-c", "overdue")]


def test_a_missed_escalation_is_sent_late_once_and_not_weeks_late(world):
    with time_machine.travel(days_after(3), tick=False):  # nothing ran 1 day after
        assert send_deadline_reminders()["escalations"] == 1
    assert mail.outbox[0].to == ["giamdoc.c@example.vn"] and "quá 3 ngày" in mail.outbox[0].body
    for days, expected in ((4, 0), (6, 0), (7, 1), (8, 0), (13, 0)):
        with time_machine.travel(days_after(days), tick=False):
            assert send_deadline_reminders()["escalations"] == expected, days
    assert len(mail.outbox) == 2


def test_an_escalation_more_than_catch_up_days_late_is_dropped(world):
    from evidence.services.reminders import CATCH_UP_DAYS, ESCALATION_DAYS_AFTER

    last_day = max(ESCALATION_DAYS_AFTER) + CATCH_UP_DAYS - 1
    with time_machine.travel(days_after(last_day + 1), tick=False):
        send_deadline_reminders()
    assert mail.outbox == [] and not ReminderDigest.objects.exists()
    with time_machine.travel(days_after(last_day), tick=False):
        assert send_deadline_reminders()["escalations"] == 1


def test_a_returned_or_reopened_item_is_never_escalated_as_overdue(world):
    """D's 1.3 is reopened by the Sở ten days after the deadline (returned): D was on time, its
    head is not told it is late, neither at once nor at the next steps (the dashboard counts
    such an item returned, not overdue)."""
    three = Submission.objects.get(indicator__code="1.3", agency__code="so-d")
    Submission.objects.filter(pk=three.pk).update(state=S.RETURNED)
    for days in (1, 7, 10, 13):
        with time_machine.travel(days_after(days), tick=False):
            send_deadline_reminders()
    assert "giamdoc.d@example.vn" not in [m.to[0] for m in mail.outbox]
    assert not ReminderDigest.objects.filter(agency__code="so-d").exists()


def test_a_mail_server_failure_rolls_back_that_agencys_digest_and_the_task_retries(
    world, monkeypatch
):
    """The service lists the agency whose email failed (its digest and notices rolled back, the
    others kept); the task turns that into a transient error so Celery retries, and the retry
    sends only what is still missing."""
    from django.core.mail import EmailMessage

    from evidence.services.reminders import reminder_send_due

    real_send = EmailMessage.send

    def send(self, *args, **kwargs):
        if self.to == ["staff_a@example.gov.vn"]:
            raise OSError("smtp down")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", send)
    with time_machine.travel(days_before(3), tick=False):
        report = reminder_send_due()
        assert report.failures == [str(world["a"].agency_id)] and report.digests == 1
        assert list(ReminderDigest.objects.values_list("agency__code", flat=True)) == ["so-c"]
        assert not Notification.objects.filter(recipient=world["a"]).exists()
        with pytest.raises(OSError):
            send_deadline_reminders.apply(throw=True, retries=3).get()
        monkeypatch.setattr(EmailMessage, "send", real_send)
        assert send_deadline_reminders()["digests"] == 1
    assert ReminderDigest.objects.count() == 2


def test_an_informational_item_is_reminded_but_never_escalated_as_overdue(world):
    """C's 1.2 has 0 points (informational): C is reminded before the deadline (it must still
    be reported) but its head is not told it is overdue: it is no scoring risk, as on the
    dashboards."""
    from indicators.models import Indicator

    Indicator.objects.filter(code="1.2", framework=world["period"].framework).update(
        max_points=0, scoring_rule={"type": "informational"}
    )
    with time_machine.travel(at(DEADLINE - datetime.timedelta(days=3)), tick=False):
        send_deadline_reminders()
    assert ReminderDigest.objects.filter(agency__code="so-c", kind="before").exists()
    with time_machine.travel(at(DEADLINE + datetime.timedelta(days=1)), tick=False):
        res = send_deadline_reminders()
    assert res["escalations"] == 0
    assert "giamdoc.c@example.vn" not in [m.to[0] for m in mail.outbox]
    assert not ReminderDigest.objects.filter(agency__code="so-c", kind="overdue").exists()
    # A's scored 1.1 is still overdue (in-app: A has no head e-mail)
    assert ReminderDigest.objects.filter(agency__code="so-a", kind="overdue").exists()


def test_escalation_goes_out_for_an_agency_whose_name_has_a_line_break(world):
    """A name imported from a directory cell typed on two lines (Alt+Enter) went into the
    subject as it was: Django refused the header (BadHeaderError), the agency's head never got
    the escalation and the task retried it on every run. The subject is one line."""
    Agency.objects.filter(code="so-c").update(name="Sở Thử nghiệm C\nBcc: x@example.com")
    with time_machine.travel(at(DEADLINE + datetime.timedelta(days=1)), tick=False):
        res = send_deadline_reminders()
    assert res["escalations"] == 1 and not res.get("failures")
    (message,) = mail.outbox
    assert message.to == ["giamdoc.c@example.vn"] and message.bcc == []
    assert "\n" not in message.subject and "Sở Thử nghiệm C Bcc" in message.subject
