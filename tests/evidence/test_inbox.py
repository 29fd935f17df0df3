"""The agency work inbox (and home panel): due items as lead or coordinator, countdown, states,
returned items with the reason; a returned item can be answered after the deadline."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from evidence import selectors, services
from tests.evidence.reporting_factories import make_world

VN = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE = datetime.date(2025, 12, 25)


def at(day, hour=9):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), VN), tick=False)


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b, deadline=DEADLINE)


@pytest.mark.django_db
def test_inbox_items_roles_countdown_and_returned_reason(world, user_a, reviewer, client_as):
    with at(datetime.date(2025, 12, 15)):
        lead_item = services.submission_create(
            actor=user_a, indicator=world.yes_no, period=world.period, values={"done": "1"}
        )
        lead_item = services.submission_submit(
            submission=lead_item, actor=user_a, version=lead_item.version
        )
        lead_item = services.submission_return(
            submission=lead_item,
            actor=reviewer,
            version=lead_item.version,
            reason_code="thieu_minh_chung",
            reason="Thiếu quyết định ban hành kế hoạch",
        )
        box = selectors.agency_inbox(user=user_a)
        assert box.period == world.period
        items = {i.indicator.code: i for i in box.items}
        assert items["1.1"].role == "coordinator" and items["1.1"].state == "missing"
        assert items["1.2"].role == "lead" and items["1.2"].state == "returned"
        assert items["1.2"].return_reason == "Thiếu quyết định ban hành kế hoạch"
        assert items["1.1"].days_left == 10
        assert [i.indicator.code for i in box.returned] == ["1.2"]
        html = client_as(user_a).get(reverse("evidence:inbox")).content.decode()
        assert "còn 10 ngày" in html
        assert "Lý do trả lại: Thiếu quyết định ban hành kế hoạch" in html
        assert "Chủ trì" in html and "Phối hợp" in html
        assert "25/12/2025" in html
        home = client_as(user_a).get("/").content.decode()
        assert "Việc cần làm" in home and "2 chỉ số cần báo cáo" in home
        assert "1 chỉ số bị trả lại" in home
        # the item's own page says why, by whom and when
        page = client_as(user_a).get(
            reverse("evidence:submission_edit", args=[world.period.pk, world.yes_no.pk])
        )
        banner = page.content.decode().split('id="returned-reason"')[1].split("</div>")[0]
        assert "Thiếu minh chứng" in banner
        assert "Thiếu quyết định ban hành kế hoạch" in banner
        assert reviewer.full_name in banner and "15/12/2025" in banner
    # after the deadline the returned item can still be answered; the missing one cannot
    with at(DEADLINE + datetime.timedelta(days=3)):
        sub = services.submission_update(
            submission=lead_item,
            actor=user_a,
            version=lead_item.version,
            values={"done": "1"},
            note="Đã bổ sung quyết định số 12/QĐ-UBND",
        )
        assert sub.note.startswith("Đã bổ sung")
        items = {i.indicator.code: i for i in selectors.agency_inbox(user=user_a).items}
        assert items["1.2"].is_open and not items["1.1"].is_open


@pytest.mark.django_db
def test_home_for_other_roles_has_no_agency_panel(world, reviewer, leader, client_as):
    assert selectors.home_context(user=reviewer) == {}
    assert selectors.home_context(user=leader) == {}
    # their work starts on their own pages
    resp = client_as(leader).get("/")
    assert resp.status_code == 302 and resp["Location"] == reverse("scoring:dashboard")
    resp = client_as(reviewer).get("/")
    assert resp.status_code == 302 and resp["Location"] == reverse("evidence:review_queue")
