"""UI review of the dashboards: agency staff see their own figures (no province DTI) with one set
of overdue/returned counters, the target gap reads as a sentence, an empty period is a gap in the
trend (not 0), and the pages work on a phone and with a keyboard."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from agencies.models import User
from evidence.models import ReportingPeriod, Submission
from scoring.dashboards import selectors as sel
from scoring.services import score_recompute
from tests.factories import AgencyFactory, UserFactory

from .dash_helpers import add_transition, put_state, q, recompute

pytestmark = pytest.mark.django_db
D = Decimal


def test_agency_dashboard_shows_own_share_and_items_by_state_not_the_dti(world, client_as):
    staff_b = world.staff["b"]
    dash = sel.dashboard(user=staff_b, framework=world.framework, period=world.period)
    assert dash["dti"] is None and set(dash["dtis"].values()) == {None}
    # B: 1.2 (100) + 2.2 (300) led, 2.1 (400) coordinated → 100 of 800 appraised.
    assert dash["max_total"] == D("800") and dash["totals"]["appraised"] == D("100")
    assert dash["assigned_percent"] == D("12.5")
    # Its items: 1.2 approved, 2.2 returned (returned, not overdue: the Sở returned it after the
    # deadline), 2.1 its contribution not started (past the deadline: overdue).
    assert dash["item_counts"] == {
        "draft": 1,
        "sent": 0,
        "approved": 1,
        "returned": 1,
        "overdue": 1,
        "total": 3,
    }
    listed = {(x["code"], x["returned"], x["overdue"]) for x in dash["overdue_returned"]}
    assert listed == {("2.2", True, False), ("2.1", False, True)}
    html = client_as(staff_b).get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert 'id="fig-dti"' not in html and "tổng điểm ÷ 1000" not in html
    assert 'id="fig-assigned-share">12,50%<' in html
    assert 'id="count-overdue-returned">2<' in html
    assert 'data-count="returned">bị trả lại: 1<' in html
    assert 'data-count="overdue">quá hạn: 1<' in html
    assert 'id="at-risk-reasons"' not in html  # the province's per-indicator reasons


def test_overdue_and_returned_counters_agree_for_a_coordinator(world, client_as):
    """The review's case: a coordinating agency (VNPT) saw "quá hạn/trả lại 0" next to
    "bị trả lại: 1" (the lead's returned item counted by the engine's reason)."""
    vnpt = AgencyFactory(code="vnpt", name="VNPT Khánh Hòa", short_name="VNPT")
    world.subs["2.2"].coordinating_agencies.add(vnpt)
    staff = UserFactory(username="canbo_vnpt", agency=vnpt, role=User.Role.AGENCY_STAFF)
    s = Submission.objects.create(
        indicator=world.subs["2.2"], agency=vnpt, period=world.period, values={"done": "1"}
    )
    put_state(s, "submitted_to_lead")
    add_transition(s, "submitted_to_lead", actor=staff, from_state="draft")
    recompute(world)
    dash = sel.dashboard(user=staff, framework=world.framework, period=world.period)
    assert dash["item_counts"]["sent"] == 1
    assert dash["item_counts"]["returned"] == dash["overdue_returned_counts"]["returned"] == 0
    assert dash["item_counts"]["overdue"] == dash["overdue_returned_counts"]["overdue"] == 0
    assert dash["overdue_returned"] == []
    html = client_as(staff).get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert 'id="count-overdue-returned">0<' in html
    assert "bị trả lại: 1" not in html


def test_province_counters_come_from_the_listed_items(world, client_as, leader):
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period)
    items = dash["overdue_returned"]
    counts = dash["overdue_returned_counts"]
    assert counts["total"] == len(items)
    assert counts["returned"] == sum(1 for x in items if x["returned"]) == 1  # B's 2.2
    assert counts["overdue"] == sum(1 for x in items if x["overdue"])
    # 3.1 (0 points, informational, not reported past the deadline) is no scoring risk: not
    # overdue, not listed (see test_informational_item_is_not_overdue_anywhere).
    # Changed deliberately: this line asserted ("3.1", "missing", overdue=True), the defect.
    assert "3.1" not in {x["code"] for x in items}
    html = client_as(leader).get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert f'id="count-overdue-returned">{counts["total"]}<' in html
    assert f'data-count="returned">bị trả lại: {counts["returned"]}<' in html


def test_target_gap_reads_as_a_sentence(world, client_as, leader, settings):
    c = client_as(leader)
    html = c.get(reverse("scoring:dashboard") + q(world)).content.decode()
    gap = re.search(r'id="fig-target-gap">([^<]*)<', html).group(1)
    assert gap == "còn thiếu 550,00 điểm để đạt mục tiêu 800"
    assert "−" not in gap
    settings.DTI_TARGET_POINTS = 200
    html = c.get(reverse("scoring:dashboard") + q(world)).content.decode()
    gap = re.search(r'id="fig-target-gap">([^<]*)<', html).group(1)
    assert gap == "đã vượt mục tiêu 50,00 điểm (mục tiêu 200)"
    settings.DTI_TARGET_POINTS = 250
    html = c.get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert 'id="fig-target-gap">đã đạt mục tiêu 250 điểm<' in html


def test_an_empty_annual_round_is_a_gap_in_the_trend_not_zero(world, client_as, leader):
    annual = ReportingPeriod.objects.create(
        framework=world.framework, year=2025, quarter=None, deadline=world.period.deadline
    )
    score_recompute(framework_id=world.framework.pk, period_id=annual.pk, force=True)
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period)
    by = {t["period_id"]: t for t in dash["trend"]}
    assert by[annual.pk]["annual"] is True
    assert by[annual.pk]["appraised"] is None and by[annual.pk]["self_assessed"] is None
    assert by[world.period.pk]["appraised"] == D("250")
    chart = sel.chart_data(dash)
    assert chart["trend"]["labels"][-1] == "Cả năm 2025"
    assert chart["trend"]["appraised"][-1] is None  # JSON null: Chart.js leaves a gap
    html = client_as(leader).get(reverse("scoring:dashboard") + q(world)).content.decode()
    data = json.loads(re.search(r'id="dashboard-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert data["trend"]["appraised"][-1] is None
    # The agency's own trend follows the same rule.
    staff = sel.dashboard(user=world.staff["b"], framework=world.framework, period=world.period)
    assert {t["period_id"]: t for t in staff["trend"]}[annual.pk]["appraised"] is None


def test_trend_chart_does_not_bridge_gaps():
    from django.contrib.staticfiles import finders

    with open(finders.find("js/dashboard.js"), encoding="utf-8") as fh:
        js = fh.read()
    assert "spanGaps: false" in js and "spanGaps: true" not in js


EMPTY_TH = re.compile(r"<th\b[^>]*>\s*</th>")


@pytest.mark.parametrize("page", ["dashboard", "league", "exports", "national", "whatif"])
def test_pages_work_on_a_phone_and_with_a_keyboard(world, client_as, leader, page):
    html = client_as(leader).get(reverse(f"scoring:{page}") + q(world)).content.decode()
    # The tabs wrap instead of scrolling out of view.
    tabs = re.search(r'<ul class="nav nav-tabs[^"]*"', html).group(0)
    assert "flex-wrap" in tabs and "flex-nowrap" not in tabs and "overflow-auto" not in tabs
    assert "Xếp hạng cơ quan" in html and "Xuất dữ liệu" in html
    # Scrollable tables can be focused (and so scrolled) with the keyboard, and are named.
    wrappers = re.findall(r'<div class="table-responsive[^"]*"[^>]*>', html)
    for w in wrappers:
        assert 'tabindex="0"' in w and re.search(r'aria-label="[^"]+"', w), w
    assert not EMPTY_TH.search(html), EMPTY_TH.search(html)


def test_dashboard_footer_and_exports_headers_have_text(world, client_as, leader):
    c = client_as(leader)
    html = c.get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert '<th scope="row" colspan="2">Tổng cộng</th>' in html
    html = c.get(reverse("scoring:exports") + q(world)).content.decode()
    assert '<span class="visually-hidden">Thao tác</span></th>' in html


def test_province_list_never_names_a_draft(world, leader):
    """A lead agency's draft is its own (AC11): the province sees the item as not sent yet
    ("missing", no submission to open), never the draft itself."""
    draft = Submission.objects.filter(period=world.period).exclude(state="returned").first()
    Submission.objects.filter(pk=draft.pk).update(state=Submission.State.DRAFT)
    recompute(world)
    items = sel.dashboard(user=leader, framework=world.framework, period=world.period)[
        "overdue_returned"
    ]
    assert draft.pk not in {x["submission_id"] for x in items}
    assert all(x["state"] != Submission.State.DRAFT for x in items)


def test_informational_item_is_not_overdue_anywhere(world, client_as, api_as, leader):
    """3.1 has 0 points (informational) and C has not reported it, past the deadline. It must
    still be reported (C's own dashboard lists it as not sent), but it is no scoring risk, as
    the engine counts it: not overdue on the province's or C's dashboard, its API and the PDF
    summary, and the counters agree with the engine's at-risk reasons."""
    from scoring.exports.pdf import summary_context

    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period)
    assert "3.1" not in {x["code"] for x in dash["overdue_returned"]}
    assert dash["overdue_returned_counts"]["overdue"] == sum(
        1 for x in dash["overdue_returned"] if x["overdue"]
    )
    body = (
        api_as(leader)
        .get(
            "/api/v1/scores/dashboard/",
            {"framework": world.framework.code, "period": world.period.pk},
        )
        .json()
    )
    assert "3.1" not in {x["code"] for x in body["overdue_returned"]}
    html = client_as(leader).get(reverse("scoring:dashboard") + q(world)).content.decode()
    card = html.split('id="h-overdue"', 1)[1].split("</section>", 1)[0]
    assert ">3.1</a>" not in card
    ctx = summary_context(dash, {})
    assert "3.1" not in {x["code"] for x in ctx["overdue_returned"]}

    staff_c = UserFactory(username="canbo_xd", agency=world.agencies["c"], role="agency_staff")
    mine = sel.dashboard(user=staff_c, framework=world.framework, period=world.period)
    from scoring.dashboards.selectors.dashboard import scope_items

    (item,) = scope_items(user=staff_c, period=world.period, table=mine["table"])
    assert (item["code"], item["state"], item["overdue"], item["informational"]) == (
        "3.1",
        "missing",
        False,
        True,
    )
    assert mine["item_counts"]["draft"] == 1 and mine["item_counts"]["overdue"] == 0
    html = client_as(staff_c).get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert 'data-count="overdue">quá hạn: 0<' in html


def test_chart_numbers_follow_the_page_language(world, client_as, leader, settings):
    """Chart ticks and tooltips read 1.000,5 in Vietnamese and 1,000.5 in English, like the
    tables next to them (the script used to format every number as vi-VN)."""
    from django.contrib.staticfiles import finders

    def chart_locale(language: str) -> str:
        c = client_as(leader)
        c.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        html = c.get(reverse("scoring:dashboard") + q(world)).content.decode()
        m = re.search(r'id="dashboard-data"[^>]*>(.*?)</script>', html, re.S)
        return json.loads(m.group(1))["locale"]

    assert chart_locale("vi") == "vi"
    assert chart_locale("en") == "en"
    with open(finders.find("js/dashboard.js"), encoding="utf-8") as fh:
        js = fh.read()
    assert '"vi-VN"' not in js and "data.locale" in js


def test_appraised_points_are_not_called_review_in_english(world, client_as, leader, settings):
    """The word "Thẩm định" is two things: the Sở's review (menu, review page) and the appraised
    points (a column and a chart series next to self-assessed and final): English says each."""
    c = client_as(leader)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = c.get(reverse("scoring:dashboard") + q(world)).content.decode()
    m = re.search(r'id="dashboard-data"[^>]*>(.*?)</script>', html, re.S)
    assert json.loads(m.group(1))["series_labels"]["appraised"] == "Appraised"
    assert '<th scope="col" class="num">Appraised</th>' in html
    assert ">Review<" not in html.split('id="table-mains"')[1]
