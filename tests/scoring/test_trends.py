"""Trends across framework versions: earlier versions' periods mapped through the crosswalk."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.models import ReportingPeriod, Submission
from indicators.models import Crosswalk, Framework, Indicator
from scoring.dashboards import selectors as sel
from scoring.dashboards.selectors.trends import earlier_versions
from scoring.services import score_recompute
from tests.factories import FrameworkFactory, IndicatorFactory

from .dash_helpers import YES_NO, World, measures_for, put_state, q

pytestmark = pytest.mark.django_db
D = Decimal


def _published(fw: Framework) -> Framework:
    Framework.objects.filter(pk=fw.pk).update(status=Framework.Status.PUBLISHED)
    return Framework.objects.get(pk=fw.pk)


def old_version(
    w: World, *, code: str = "dti-2022", total: str = "500", year: int = 2022, walk=True
) -> Framework:
    """An earlier published version (total ``total``): main "A" with 4.3 (yes/no 300, mapped to
    1.1), 4.4 (yes/no 100, mapped to 2.1) and 9.9 (yes/no 100, mapped to nothing)."""
    fw = _published(
        FrameworkFactory(code=code, name=f"Bộ chỉ số {year}", year=year, total_points=D(total))
    )
    main = IndicatorFactory(
        framework=fw, level=Indicator.Level.MAIN, code="A", name="Chính", max_points=D(total)
    )
    for code_, pts in (("4.3", "300"), ("4.4", "100"), ("9.9", "100")):
        sub = IndicatorFactory(
            framework=fw,
            parent=main,
            level=Indicator.Level.SUB,
            code=code_,
            name=f"Chỉ số cũ {code_}",
            max_points=D(pts),
            scoring_rule=YES_NO,
            lead_agency=w.agencies["a"],
        )
        measures_for(sub, YES_NO)
    if walk:
        for s, t in (("4.3", "1.1"), ("4.4", "2.1")):
            Crosswalk.objects.create(source=fw, target=w.framework, source_code=s, target_code=t)
    return fw


def old_period(fw: Framework, w: World, *, year: int, quarter: int, done=("4.3", "9.9")):
    """A period of ``fw`` where the given sub-indicators are approved "yes", scores computed."""
    period = ReportingPeriod.objects.create(
        framework=fw, year=year, quarter=quarter, deadline=datetime.date(year, quarter * 3, 25)
    )
    for code in done:
        ind = Indicator.objects.get(framework=fw, code=code)
        s = Submission.objects.create(
            indicator=ind,
            agency=w.agencies["a"],
            period=period,
            values={"done": "1"},
            is_consolidation=True,
        )
        put_state(s, "approved")
    score_recompute(framework_id=fw.pk, period_id=period.pk, force=True)
    return period


def test_province_trend_reaches_back_through_the_crosswalk(world, leader):
    old = old_version(world)
    before = old_period(old, world, year=2024, quarter=4)
    # The same quarter as the framework's own period, and a later one: never shown from the
    # earlier version (the framework's own periods are not replaced).
    old_period(old, world, year=2025, quarter=3)
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period)
    rows = dash["trend"]
    assert [t["period_id"] for t in rows] == [before.pk, world.period.pk]
    first = rows[0]
    assert first["earlier"] == old and first["framework_code"] == "dti-2022"
    # 4.3 (300) + 9.9 (100) of 500, scaled to the framework's 1000: the DTI is comparable.
    assert first["appraised"] == D("800")
    assert rows[1]["earlier"] is None and rows[1]["framework_code"] == world.framework.code
    assert dash["trend_versions"] == ["Bộ chỉ số 2022 (dti-2022)"]


def test_agency_scope_sums_only_the_old_codes_mapped_into_its_own(world):
    old = old_version(world)
    before = old_period(old, world, year=2024, quarter=4, done=("4.3", "4.4", "9.9"))
    staff_b = world.staff["b"]  # B leads 1.2 and 2.2, coordinates 2.1 (← 4.4)
    dash = sel.dashboard(user=staff_b, framework=world.framework, period=world.period)
    first = dash["trend"][0]
    assert first["period_id"] == before.pk
    assert first["appraised"] == D("100")  # 4.4 only, unscaled: not 4.3 (→ 1.1), not 9.9
    staff_a = world.staff["a"]  # A leads 1.1 (← 4.3) and 2.1 (← 4.4)
    dash = sel.dashboard(user=staff_a, framework=world.framework, period=world.period)
    assert dash["trend"][0]["appraised"] == D("400")


def test_sub_indicator_history_names_the_old_codes(world, leader):
    old = old_version(world)
    before = old_period(old, world, year=2024, quarter=4)
    detail = sel.sub_indicator_detail(
        user=leader, framework=world.framework, period=world.period, code="1.1"
    )
    history = detail["history"]
    assert [h["period"].pk for h in history] == [before.pk, world.period.pk]
    assert history[0]["earlier"] == old and history[0]["old_codes"] == "4.3"
    assert history[0]["appraised"] == D("300")
    assert "earlier" not in history[1]
    # 1.2 has no old counterpart: its history is its own periods only.
    detail = sel.sub_indicator_detail(
        user=leader, framework=world.framework, period=world.period, code="1.2"
    )
    assert [h["period"].pk for h in detail["history"]] == [world.period.pk]


def test_codes_chain_through_intermediate_versions_and_only_through_rows():
    fw2020 = _published(FrameworkFactory(code="v2020", year=2020))
    fw2022 = _published(FrameworkFactory(code="v2022", year=2022))
    fw2025 = _published(FrameworkFactory(code="v2025", year=2025, previous_version=fw2022))
    # 2020 → 2022 written in the other direction (rows read either way); 2022 → 2025 splits 5.1.
    Crosswalk.objects.create(source=fw2022, target=fw2020, source_code="5.1", target_code="7")
    Crosswalk.objects.create(source=fw2022, target=fw2025, source_code="5.1", target_code="3.1")
    Crosswalk.objects.create(source=fw2022, target=fw2025, source_code="5.1", target_code="3.2")
    Crosswalk.objects.create(source=fw2022, target=fw2025, source_code="6.0", target_code="3.3")
    # Not versions of this set: a draft, and a department framework with a crosswalk.
    FrameworkFactory(code="draft", previous_version=fw2025)
    dept = _published(FrameworkFactory(code="dept", unit_type=Framework.UnitType.DEPARTMENT))
    Crosswalk.objects.create(source=dept, target=fw2025, source_code="1", target_code="3.1")
    versions = earlier_versions(framework=fw2025)
    assert [(v.framework.code, v.links) for v in versions] == [("v2022", 1), ("v2020", 2)]
    assert versions[0].codes == {"5.1": {"3.1", "3.2"}, "6.0": {"3.3"}}
    assert versions[1].codes == {"7": {"3.1", "3.2"}}
    assert versions[1].codes_into(["3.2"]) == {"7"}
    # Linked by previous_version only (no rows): the province total is comparable, no code is.
    fw2026 = _published(FrameworkFactory(code="v2026", year=2026, previous_version=fw2025))
    nearest = earlier_versions(framework=fw2026)[0]
    assert nearest.framework == fw2025 and nearest.codes == {}


def test_unmapped_earlier_periods_leave_an_agency_trend_alone(world):
    old = old_version(world, walk=False)
    Framework.objects.filter(pk=world.framework.pk).update(previous_version=old)
    world.framework = Framework.objects.get(pk=world.framework.pk)
    old_period(old, world, year=2024, quarter=4)
    dash = sel.dashboard(user=world.staff["b"], framework=world.framework, period=world.period)
    assert [t["period_id"] for t in dash["trend"]] == [world.period.pk]
    assert dash["trend_versions"] == []


def test_dashboard_queries_do_not_grow_with_earlier_periods(world, leader):
    old = old_version(world)
    old_period(old, world, year=2024, quarter=3)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            sel.dashboard(user=leader, framework=world.framework, period=world.period)
            sel.sub_indicator_detail(
                user=leader, framework=world.framework, period=world.period, code="1.1"
            )
        return len(ctx.captured_queries)

    one = count()
    old_period(old, world, year=2024, quarter=4)
    newer = old_version(world, code="dti-2023", year=2023)
    old_period(newer, world, year=2025, quarter=1)
    assert (
        len(sel.dashboard(user=leader, framework=world.framework, period=world.period)["trend"])
        == 4
    )
    assert count() == one


def test_pages_and_api_mark_the_earlier_periods(world, leader, client, api_as):
    old = old_version(world)
    before = old_period(old, world, year=2024, quarter=4)
    client.force_login(leader)
    html = client.get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert f"?framework=dti-2022&amp;period={before.pk}" in html
    assert 'id="trend-versions"' in html and "Bộ chỉ số 2022 (dti-2022)" in html
    assert "Tổng điểm của tỉnh được quy về thang điểm của bộ chỉ số này." in html
    html = client.get(reverse("scoring:sub_indicator", args=["1.1"]) + q(world)).content.decode()
    assert "mã 4.3 của Bộ chỉ số 2022 (dti-2022)" in html
    api = api_as(leader).get(
        "/api/v1/scores/dashboard/", {"framework": world.framework.code, "period": world.period.pk}
    )
    assert api.status_code == 200
    trend = api.json()["trend"]
    assert trend[0]["framework"] == "dti-2022" and trend[0]["earlier_version"] is True
    assert D(trend[0]["appraised"]) == D("800")
    assert trend[1]["earlier_version"] is False


def test_history_shows_a_gap_where_nothing_counted(world, leader):
    """2.2 is returned: nothing counts for any kind, "—" rather than 0 points; 1.1 approved."""
    detail = sel.sub_indicator_detail(
        user=leader, framework=world.framework, period=world.period, code="2.2"
    )
    assert [h["self_assessed"] for h in detail["history"]] == [None]
    detail = sel.sub_indicator_detail(
        user=leader, framework=world.framework, period=world.period, code="1.1"
    )
    assert detail["history"][0]["appraised"] == D("150")


def test_a_newer_version_never_passes_for_an_earlier_one(world, leader):
    """The 2022 set (no periods of its own, imported to compare) does not show the 2025 quarters
    as its "earlier version"."""
    world.framework = _published(world.framework)  # reachable from 2022 through the crosswalk
    old = old_version(world)
    assert [v.framework for v in sel.earlier_versions(framework=old)] == [world.framework]
    dash = sel.dashboard(user=leader, framework=old, period=None)
    assert dash["trend"] == [] and dash["trend_versions"] == []
    detail_periods = sel.trends.earlier_periods(
        framework=old, versions=sel.earlier_versions(framework=old), own=[]
    )
    assert detail_periods == {}
