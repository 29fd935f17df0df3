"""Browser test: on the item page, typing new values and then clicking the send button does not
send the old stored values; it says to save the draft first (static/js/portal.js)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UNSAVED = "Bạn có thay đổi chưa lưu: hãy lưu bản nháp trước khi gửi."


def test_send_with_unsaved_changes_is_stopped(page, live_server, agency_a, agency_b):
    from django.urls import reverse

    from evidence import services
    from evidence.models import Submission
    from tests.evidence.reporting_factories import make_world
    from tests.factories import UserFactory

    user = UserFactory(username="staff_a", agency=agency_a)
    world = make_world(agency_a, agency_b)
    sub = services.submission_create(
        actor=user,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "3", "denominator": "4"},
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("staff_a")
    page.get_by_label("Mật khẩu").fill("pass12345")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(
        live_server.url
        + reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    )

    asked: list[tuple[str, str]] = []

    def answer(dialog, accept: bool) -> None:
        asked.append((dialog.type, dialog.message))
        dialog.accept() if accept else dialog.dismiss()

    page.get_by_label("Số CCVC chuyên trách").fill("4")
    page.once("dialog", lambda d: answer(d, accept=True))
    page.get_by_role("button", name="Gửi cơ quan chủ trì").click()
    assert asked == [("alert", UNSAVED)]
    assert page.get_by_role("button", name="Lưu bản nháp").evaluate(
        "b => b === document.activeElement"
    )
    assert Submission.objects.get(pk=sub.pk).state == Submission.State.DRAFT

    # Back to the stored value: the usual confirmation, then the stored values are sent.
    page.get_by_label("Số CCVC chuyên trách").fill("3")
    page.once("dialog", lambda d: answer(d, accept=True))
    page.get_by_role("button", name="Gửi cơ quan chủ trì").click()
    page.get_by_text("Đã gửi báo cáo cho cơ quan chủ trì.").wait_for()
    assert asked[-1][0] == "confirm" and "Vẫn gửi?" in asked[-1][1]  # no evidence attached
    assert Submission.objects.get(pk=sub.pk).state == Submission.State.SUBMITTED_TO_LEAD
