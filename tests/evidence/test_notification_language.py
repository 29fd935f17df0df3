"""Notifications are stored structured and shown in the reader's language, whoever acted."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from evidence.models import Notification
from evidence.services import (
    submission_approve,
    submission_return,
    submission_set_final,
    submission_submit,
)
from evidence.tasks import send_deadline_reminders
from tests.evidence.review_setup import make_item
from tests.evidence.test_reminders import DEADLINE, at
from tests.factories import FrameworkFactory, ReportingPeriodFactory

pytestmark = pytest.mark.django_db


def text_in(note: Notification, language: str) -> str:
    with translation.override(language):
        return note.text


@pytest.fixture
def item(agency_a, agency_b):
    # 2000 points at most: thousands show each language's separators; the period is Q4/2025
    return make_item(agency_a, agency_b, max_points="2000")


def test_return_by_an_english_reviewer_reads_in_each_readers_language(item, user_a, reviewer):
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    with translation.override("en"):
        submission_return(
            submission=cons,
            actor=reviewer,
            version=None,
            reason_code="so_lieu_khong_khop",
            reason="Cột 3 chưa khớp",
        )
    note = Notification.objects.get(recipient=user_a, kind="returned")
    vietnamese = "Sở KH&CN trả lại chỉ số 1.1 (Quý 4/2025): Số liệu không khớp — Cột 3 chưa khớp"
    assert note.message == vietnamese  # stored in Vietnamese, not in the actor's language
    assert text_in(note, "vi") == vietnamese
    assert text_in(note, "en") == (
        "Department of Science and Technology returned indicator 1.1 (Q4/2025): "
        "Values do not match — Cột 3 chưa khớp"  # the reviewer's comment is data: as typed
    )


def test_return_by_the_lead_agency_names_it(item, user_a, user_b):
    contrib = submission_submit(submission=item.contribution, actor=user_b, version=1)
    with translation.override("en"):
        submission_return(
            submission=contrib, actor=user_a, version=None, reason_code="khac", reason="Làm rõ"
        )
    note = Notification.objects.get(recipient=user_b, kind="returned")
    assert text_in(note, "vi") == "Sở A trả lại chỉ số 1.1 (Quý 4/2025): Khác — Làm rõ"
    assert text_in(note, "en") == "Sở A returned indicator 1.1 (Q4/2025): Other — Làm rõ"


def test_points_in_each_readers_number_format(item, user_a, reviewer):
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    with translation.override("en"):
        cons = submission_approve(
            submission=cons,
            actor=reviewer,
            version=None,
            appraised_points="1234.5",
            reason="Một phần",
        )
        submission_set_final(
            submission=cons, actor=reviewer, final_points="1234.567", reason="Hội đồng"
        )
    approved = Notification.objects.get(recipient=user_a, kind="approved")
    assert approved.message == (
        "Chỉ số 1.1 (Quý 4/2025) đã được Sở KH&CN duyệt, điểm thẩm định 1.234,5/2.000."
    )
    assert text_in(approved, "en") == (
        "Indicator 1.1 (Q4/2025) has been approved by the Department of Science and Technology; "
        "appraised points 1,234.5/2,000."
    )
    final = Notification.objects.get(recipient=user_a, kind="final")  # two decimals at most
    assert text_in(final, "vi").endswith("chỉ số 1.1 (Quý 4/2025): 1.234,57.")
    assert text_in(final, "en").endswith("indicator 1.1 (Q4/2025): 1,234.57.")


def test_annual_period_label(agency_a, agency_b, user_a, reviewer):
    period = ReportingPeriodFactory(framework=FrameworkFactory(), quarter=None)
    item = make_item(agency_a, agency_b, period=period)
    submission_submit(submission=item.consolidation, actor=user_a, version=1)
    note = Notification.objects.get(recipient=reviewer, kind="submitted")
    assert "1.1 (Cả năm 2025)" in text_in(note, "vi")
    assert "1.1 (Full year 2025)" in text_in(note, "en")


def test_rows_without_a_structured_message_show_their_text(user_a):
    note = Notification.objects.create(recipient=user_a, kind="x", message="Thông báo cũ")
    assert note.message_msg is None
    assert text_in(note, "en") == "Thông báo cũ" and text_in(note, "vi") == "Thông báo cũ"


def test_notifications_page_follows_the_readers_language(client_as, item, user_a, reviewer):
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    submission_return(
        submission=cons, actor=reviewer, version=None, reason_code="thieu_minh_chung", reason="Ok"
    )
    Notification.objects.create(recipient=user_a, kind="x", message="Thông báo cũ")
    c = client_as(user_a)
    html = c.get("/reporting/notifications/").content.decode()
    assert "trả lại chỉ số 1.1 (Quý 4/2025): Thiếu minh chứng — Ok" in html
    assert "Thông báo cũ" in html
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = c.get("/reporting/notifications/").content.decode()
    assert "returned indicator 1.1 (Q4/2025): Missing evidence — Ok" in html
    assert "trả lại" not in html and "Thông báo cũ" in html


def test_emails_are_in_vietnamese_whatever_the_actors_language(
    item, user_a, user_b, django_capture_on_commit_callbacks
):
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        submission_submit(submission=item.contribution, actor=user_b, version=1)
    (email,) = mail.outbox
    expected = "Sở B đã gửi phần phối hợp chỉ số 1.1 (Quý 4/2025) cho cơ quan chủ trì."
    assert email.subject == f"[Cổng DTI] {expected}"
    assert email.body.startswith(expected)


def test_reminder_and_overdue_notices_in_each_readers_language(agency_a, agency_b, user_a):
    period = ReportingPeriodFactory(framework=FrameworkFactory(), deadline=DEADLINE)
    make_item(agency_a, agency_b, period=period)
    three_days_before = at(DEADLINE - datetime.timedelta(days=3))
    with time_machine.travel(three_days_before, tick=False), translation.override("en"):
        send_deadline_reminders.delay().get()
    note = Notification.objects.get(recipient=user_a, kind="reminder")
    assert note.message == "Còn 3 ngày đến hạn báo cáo Quý 4/2025: 1 chỉ số chưa gửi."
    assert text_in(note, "en") == (
        "3 days left until the Q4/2025 reporting deadline: 1 indicators not submitted."
    )
    with time_machine.travel(at(DEADLINE + datetime.timedelta(days=1)), tick=False):
        send_deadline_reminders.delay().get()
    note = Notification.objects.get(recipient=user_a, kind="overdue")
    assert text_in(note, "vi") == "Quá hạn báo cáo Quý 4/2025 1 ngày: 1 chỉ số chưa gửi."
    assert text_in(note, "en") == (
        "1 days overdue for the Q4/2025 report: 1 indicators not submitted."
    )
