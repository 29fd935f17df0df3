"""The agency work inbox (and home panel): due items as lead or coordinator, countdown, states,
returned items with the reason; a returned item can be answered after the deadline."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from agencies.models import Agency
from evidence import selectors, services
from tests.evidence.reporting_factories import make_ratio_indicator, make_world
from tests.factories import AgencyFactory, AgencyGroupFactory, SubmissionFactory

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
        assert f"Người trả lại: {reviewer.full_name}" in banner and "15/12/2025" in banner
        assert "()" not in banner
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


def _lead_world_with_groups(world, agency_a, n_communes: int):
    """The lead's ratio item: agency A directly, B through an explicit group, and a kind group
    of communes (active ones count; an inactive one and the lead itself do not)."""
    communes = AgencyGroupFactory(name=f"Các địa phương {n_communes}", kinds=["commune"])
    for i in range(n_communes):
        AgencyFactory(code=f"xa-{n_communes}-{i}", kind=Agency.Kind.COMMUNE)
    AgencyFactory(code=f"xa-{n_communes}-closed", kind=Agency.Kind.COMMUNE, is_active=False)
    departments = AgencyGroupFactory(name=f"Các sở {n_communes}", kinds=["department"])
    departments.members.add(world.lead)
    world.ratio.coordinating_groups.add(communes)
    for agency in (agency_a, world.lead):  # the lead's own part is not a contribution
        SubmissionFactory(
            indicator=world.ratio, period=world.period, agency=agency, state="submitted_to_lead"
        )
    return departments


@pytest.mark.django_db
def test_lead_sees_contributions_sent_out_of_expected(world, agency_a, client_as):
    """Coordinators assigned through groups count once each, groups expanded: the lead sees
    "1/N đóng góp", N being every coordinating agency (A, B, the departments, the communes)."""
    departments = _lead_world_with_groups(world, agency_a, n_communes=3)
    world.ratio.coordinating_groups.add(departments)  # A and B again, and the lead: not counted
    expected = {a.pk for a in selectors.coordinators_of(world.ratio)}
    active_departments = Agency.objects.filter(kind="department", is_active=True)
    assert world.lead.pk not in expected
    assert len(expected) == 3 + active_departments.exclude(pk=world.lead.pk).count()
    box = selectors.agency_inbox(user=world.lead_user, period=world.period)
    item = next(i for i in box.items if i.indicator == world.ratio)
    assert (item.contributions_sent, item.contributions_expected) == (1, len(expected))
    html = client_as(world.lead_user).get(reverse("evidence:inbox")).content.decode()
    assert f"(1/{len(expected)} đóng góp)" in html


@pytest.mark.django_db
def test_inbox_contributions_expected_in_fixed_queries(
    world, agency_a, client_as, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client_as(world.lead_user)
    _lead_world_with_groups(world, agency_a, n_communes=1)
    with CaptureQueriesContext(connection) as small:
        c.get(reverse("evidence:inbox"))
    # more led items, each with its own groups and members
    for i in range(2, 8):
        ind = make_ratio_indicator(world.framework, f"1.{i + 10}", world.lead)
        ind.coordinating_agencies.add(agency_a)
        group = AgencyGroupFactory(name=f"Nhóm {i}", kinds=["commune", "police"])
        group.members.add(AgencyFactory(code=f"extra-{i}"))
        ind.coordinating_groups.add(group)
    with django_assert_max_num_queries(len(small)):
        html = c.get(reverse("evidence:inbox")).content.decode()
    assert html.count("đóng góp)") == 7


def _sent_and_returned(indicator, period, user, reviewer, reason):
    """``user``'s item of ``indicator`` (a yes/no "done" measure), sent and returned."""
    sub = services.submission_create(
        actor=user, indicator=indicator, period=period, values={"done": "1"}
    )
    sub = services.submission_submit(submission=sub, actor=user, version=sub.version)
    return services.submission_return(
        submission=sub,
        actor=reviewer,
        version=sub.version,
        reason_code="thieu_minh_chung",
        reason=reason,
    )


@pytest.mark.django_db
def test_returned_item_after_the_deadline_says_overdue_not_negative_days_left(
    world, user_a, reviewer, client_as
):
    """A returned item stays open after the deadline: its row says how many days late it is,
    never "còn -3 ngày"."""
    with at(datetime.date(2025, 12, 15)):
        _sent_and_returned(world.yes_no, world.period, user_a, reviewer, "Thiếu quyết định")
    with at(DEADLINE + datetime.timedelta(days=3)):
        html = client_as(user_a).get(reverse("evidence:inbox")).content.decode()
    row = html.split("1.2. Ban hành")[1].split("</tr>")[0]
    assert "còn -3 ngày" not in row
    assert "quá hạn 3 ngày" in row


@pytest.mark.django_db
def test_a_contribution_the_lead_returned_is_not_counted_as_sent(world, agency_a, user_a):
    """The lead sent a contribution back for correction: like the combined proposal, the
    inbox's "sent/expected" count leaves it out until it is sent again."""
    with at(datetime.date(2025, 12, 15)):
        sub = services.submission_create(
            actor=user_a,
            indicator=world.ratio,
            period=world.period,
            values={"numerator": "1", "denominator": "2"},
        )
        sub = services.submission_submit(submission=sub, actor=user_a, version=sub.version)

        def counted() -> tuple[int, int]:
            box = selectors.agency_inbox(user=world.lead_user, period=world.period)
            item = next(i for i in box.items if i.indicator == world.ratio)
            return item.contributions_sent, item.contributions_expected

        assert counted() == (1, 2)
        services.submission_return(
            submission=sub,
            actor=world.lead_user,
            version=sub.version,
            reason_code="khac",
            reason="Mẫu số chưa đúng",
        )
        assert counted() == (0, 2)


@pytest.mark.django_db
def test_informational_item_is_reported_but_never_overdue(world, user_a, reviewer, client_as):
    """A 0-point (informational) item is in the inbox with its deadline like any other (it must
    be reported), but it is no scoring risk: answered after the deadline (returned), it is
    marked informational, not "quá hạn"; a scored item in the same case is."""
    from decimal import Decimal

    from indicators.models import Measure
    from tests.factories import IndicatorFactory, MeasureFactory

    info = IndicatorFactory(
        framework=world.framework,
        parent=world.ratio.parent,
        code="3.1",
        name="Theo dõi đô thị thông minh",
        max_points=Decimal("0"),
        scoring_rule={"type": "informational"},
        lead_agency=world.yes_no.lead_agency,
    )
    MeasureFactory(indicator=info, code="done", label="Đã thực hiện", kind=Measure.Kind.BOOLEAN)
    with at(datetime.date(2025, 12, 15)):
        for ind in (world.yes_no, info):
            _sent_and_returned(ind, world.period, user_a, reviewer, "Bổ sung")
    with at(DEADLINE + datetime.timedelta(days=3)):
        items = {i.indicator.code: i for i in selectors.agency_inbox(user=user_a).items}
        assert items["1.2"].days_overdue == 3 and not items["1.2"].informational
        assert items["3.1"].days_overdue == 0 and items["3.1"].informational
        assert items["3.1"].deadline == DEADLINE and items["3.1"].is_open
        html = client_as(user_a).get(reverse("evidence:inbox")).content.decode()
    rows = {code: html.split(f">{code}. ", 1)[1].split("</tr>", 1)[0] for code in ("1.2", "3.1")}
    assert "quá hạn 3 ngày" in rows["1.2"]
    assert "quá hạn" not in rows["3.1"] and "còn" not in rows["3.1"]
    assert "Chỉ theo dõi, không tính điểm" in rows["3.1"]
    assert "25/12/2025" in rows["3.1"]
