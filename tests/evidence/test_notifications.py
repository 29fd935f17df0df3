"""Notifications: who is told of what, in-app inbox and unread count, mark read, email on/off."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from agencies.models import User
from evidence.models import Notification
from evidence.services import (
    notification_mark_read,
    submission_approve,
    submission_return,
    submission_submit,
)
from evidence.tasks import send_notification_emails
from tests.evidence.review_setup import make_item
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(agency_a, agency_b):
    return make_item(agency_a, agency_b)


def test_recipients_of_each_event(
    item, user_a, user_b, reviewer, leader, admin_user, django_capture_on_commit_callbacks
):
    second_reviewer = UserFactory(username="reviewer2", role=User.Role.REVIEWER, agency=None)
    with django_capture_on_commit_callbacks(execute=True):
        contrib = submission_submit(submission=item.contribution, actor=user_b, version=1)
    # coordinator submits → the lead agency's staff
    assert list(Notification.objects.values_list("recipient__username", "kind")) == [
        ("staff_a", "submitted_to_lead")
    ]
    assert [m.to for m in mail.outbox] == [["staff_a@example.gov.vn"]]
    assert "phần phối hợp" in mail.outbox[0].body and "/reporting/" in mail.outbox[0].body

    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    # items arrive → every reviewer (not leaders, not other agencies)
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == [
        "reviewer",
        "reviewer2",
    ]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([reviewer.email, second_reviewer.email])
    link = Notification.objects.get(recipient=reviewer).link
    assert link == f"/reporting/review/{cons.pk}/"

    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        cons = submission_return(
            submission=cons, actor=reviewer, version=None, reason_code="khac", reason="Làm rõ"
        )
    # returned / approved → the agency
    assert list(Notification.objects.values_list("recipient__username", "kind")) == [
        ("staff_a", "returned")
    ]
    cons = submission_submit(submission=cons, actor=user_a, version=None)
    Notification.objects.all().delete()
    submission_approve(submission=cons, actor=reviewer, version=None)
    # approved → the lead agency, and the coordinator whose contribution went into it
    assert sorted(Notification.objects.values_list("recipient__username", "kind")) == [
        ("staff_a", "approved"),
        ("staff_b", "approved"),
    ]
    assert contrib.state == "submitted_to_lead"


def test_email_preference_off(item, user_a, user_b, django_capture_on_commit_callbacks):
    User.objects.filter(pk=user_a.pk).update(email_notifications=False)
    with django_capture_on_commit_callbacks(execute=True):
        submission_submit(submission=item.contribution, actor=user_b, version=1)
    assert Notification.objects.filter(recipient=user_a).count() == 1  # in-app still
    assert mail.outbox == []


def test_email_task_is_idempotent(item, user_a, user_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission_submit(submission=item.contribution, actor=user_b, version=1)
    note = Notification.objects.get()
    assert note.emailed_at is not None and len(mail.outbox) == 1
    assert send_notification_emails([note.pk]) == 0
    assert len(mail.outbox) == 1


def test_inbox_unread_count_and_mark_read(client_as, item, user_a, user_b):
    submission_submit(submission=item.contribution, actor=user_b, version=1)
    note = Notification.objects.get(recipient=user_a)
    other = Notification.objects.create(recipient=user_b, kind="x", message="của B")
    c = client_as(user_a)
    res = c.get("/reporting/notifications/")
    html = res.content.decode()
    assert res.status_code == 200 and note.message in html and "của B" not in html
    assert 'id="unread-count">1<' in html  # the navbar badge
    # another user's notification cannot be opened or marked
    assert c.post(f"/reporting/notifications/{other.pk}/open/").status_code == 404
    res = c.post(f"/reporting/notifications/{note.pk}/open/")
    assert res.status_code == 302 and res["Location"] == note.link
    note.refresh_from_db()
    other.refresh_from_db()
    assert note.read_at is not None and other.read_at is None
    assert 'id="unread-count"' not in c.get("/reporting/notifications/").content.decode()


def test_mark_all_read(client_as, user_a, user_b):
    for i in range(3):
        Notification.objects.create(recipient=user_a, kind="x", message=f"m{i}")
    Notification.objects.create(recipient=user_b, kind="x", message="b")
    assert notification_mark_read(user=user_a, notification_ids=[]) == 0
    res = client_as(user_a).post("/reporting/notifications/read-all/")
    assert res.status_code == 302
    assert Notification.objects.filter(recipient=user_a, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(recipient=user_b, read_at__isnull=True).count() == 1


def test_inbox_fixed_queries(client_as, user_a, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client_as(user_a)
    Notification.objects.create(recipient=user_a, kind="x", message="m")
    with CaptureQueriesContext(connection) as small:
        c.get("/reporting/notifications/")
    Notification.objects.bulk_create(
        Notification(recipient=user_a, kind="x", message=f"m{i}") for i in range(25)
    )
    # structured messages (shown in the reader's language) render without queries either
    Notification.objects.bulk_create(
        Notification(
            recipient=user_a,
            kind="x",
            message=f"Quý {i}/2025",
            message_msg=["Quý %(quarter)s/%(year)s", {"quarter": str(i), "year": "2025"}],
        )
        for i in range(25)
    )
    with CaptureQueriesContext(connection) as large:
        c.get("/reporting/notifications/")
    assert len(large) == len(small)


def test_email_preference_page(client_as, user_a):
    c = client_as(user_a)
    assert c.get("/reporting/notifications/settings/").status_code == 200
    res = c.post("/reporting/notifications/settings/", {})
    assert res.status_code == 302
    user_a.refresh_from_db()
    assert user_a.email_notifications is False
    c.post("/reporting/notifications/settings/", {"email_notifications": "on"})
    user_a.refresh_from_db()
    assert user_a.email_notifications is True


def test_notification_selectors_scope_to_the_recipient(user_a, user_b):
    """The one place notifications are scoped: a user's own list; anyone else's is a 404."""
    from django.http import Http404

    from evidence.selectors import notification_get, notification_list, notification_unread_count

    mine = Notification.objects.create(recipient=user_a, kind="x", message="của A")
    theirs = Notification.objects.create(recipient=user_b, kind="x", message="của B")
    assert list(notification_list(user=user_a)) == [mine]
    assert notification_get(user=user_a, pk=mine.pk) == mine
    for pk in (theirs.pk, "x", None):
        with pytest.raises(Http404):
            notification_get(user=user_a, pk=pk)
    notification_mark_read(user=user_a)
    assert notification_unread_count(user=user_a) == 0
    assert list(notification_list(user=user_a, unread_only=True)) == []


def test_multiline_return_reason_is_emailed_with_a_one_line_subject(
    item, user_a, user_b, reviewer, django_capture_on_commit_callbacks
):
    """A return reason typed on several lines (the form's textarea) is part of the
    notification's text, and the subject is cut from that text: a line break in a mail header
    made Django refuse the message (BadHeaderError), so no staff member of the agency got the
    email. The subject is one line; the body keeps the reason as typed; no header injected."""
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    mail.outbox.clear()
    reason = "Thiếu quyết định\r\nBcc: attacker@example.com\nxem lại"
    with django_capture_on_commit_callbacks(execute=True):
        submission_return(
            submission=cons, actor=reviewer, version=None, reason_code="khac", reason=reason
        )
    assert [m.to for m in mail.outbox] == [[user_a.email]]
    message = mail.outbox[0]
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.bcc == [] and "Bcc" not in message.message().as_string().split("\n\n")[0]
    assert "Thiếu quyết định\r\nBcc: attacker@example.com\nxem lại" in message.body
    assert Notification.objects.get(recipient=user_a).emailed_at is not None


def test_a_moved_user_no_longer_reads_the_old_agencys_item_notifications(
    item, user_a, user_b, agency_b, client_as
):
    """B's staff member is told of things about B's contribution and A's consolidated item is not
    theirs; once moved to another agency, the notifications about B's item (a return reason,
    say) leave their list, count and detail, while one about no item stays."""
    from django.http import Http404

    from evidence.selectors import notification_get, notification_list, notification_unread_count

    about_b = Notification.objects.create(
        recipient=user_b,
        kind="returned",
        message="Lý do trả lại của B",
        submission=item.contribution,
    )
    general = Notification.objects.create(recipient=user_b, kind="reminder", message="Nhắc hạn")
    assert set(notification_list(user=user_b)) == {about_b, general}
    other = UserFactory(username="khac").agency  # an agency of its own
    User.objects.filter(pk=user_b.pk).update(agency=other)
    user_b.refresh_from_db()
    assert list(notification_list(user=user_b)) == [general]
    assert notification_unread_count(user=user_b) == 1
    with pytest.raises(Http404):
        notification_get(user=user_b, pk=about_b.pk)
    page = client_as(user_b).get(reverse("evidence:notifications")).content.decode()
    assert "Lý do trả lại của B" not in page and "Nhắc hạn" in page


def test_two_workers_on_the_same_notification_send_one_email(item, user_a, user_b, monkeypatch):
    """A second worker (a redelivered or duplicated task) running while the first is sending
    finds the notification taken: one email, not two."""
    from evidence.services import notifications as module

    submission_submit(submission=item.contribution, actor=user_b, version=1)  # no commit: no task
    note = Notification.objects.get()
    real_send = module.send_mail
    nested: list[int] = []
    started: list[bool] = []

    def send_while_another_worker_runs(*args, **kwargs):
        if not started:
            started.append(True)
            nested.append(module.notification_email_send(notification_ids=[note.pk]))
        return real_send(*args, **kwargs)

    monkeypatch.setattr(module, "send_mail", send_while_another_worker_runs)
    assert module.notification_email_send(notification_ids=[note.pk]) == 1
    assert nested == [0] and len(mail.outbox) == 1


def test_a_failed_email_is_sent_again_by_the_retry(item, user_a, user_b, monkeypatch):
    from evidence.services import notifications as module

    submission_submit(submission=item.contribution, actor=user_b, version=1)
    note = Notification.objects.get()

    def smtp_down(*args, **kwargs):
        raise OSError("SMTP down")

    with monkeypatch.context() as m:
        m.setattr(module, "send_mail", smtp_down)
        with pytest.raises(OSError):
            module.notification_email_send(notification_ids=[note.pk])
    assert Notification.objects.get(pk=note.pk).emailed_at is None
    assert module.notification_email_send(notification_ids=[note.pk]) == 1
    assert len(mail.outbox) == 1
