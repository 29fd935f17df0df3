"""Agency league table: normalised scores, ties share a rank, no assignment → unranked, bands,
timeliness, returns, movement, fixed query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scoring.dashboards import league
from scoring.dashboards import selectors as sel
from tests.factories import UserFactory

from .dash_helpers import add_previous_period, build_world, recompute

D = Decimal


def fig(agency_id, name, lead_max="0", lead_pts="0", **kw):
    return league.AgencyFigures(
        agency_id=agency_id, name=name, lead_max_points=D(lead_max), lead_points=D(lead_pts), **kw
    )


def test_competition_ranks_share_and_skip():
    assert league.competition_ranks([D(90), D(80), D(80), D(70), None]) == [1, 2, 2, 4, None]
    assert league.competition_ranks([]) == []


def test_build_league_ties_unranked_and_bands():
    rows = league.build_league(
        [
            fig(1, "Sở A", "100", "95"),
            fig(2, "Sở B", "200", "160"),
            fig(3, "Sở C", "50", "40"),
            fig(4, "Sở D"),  # no assignment at all
            # Coordinator only: contributed to 3 of 4 items, which achieved 100 %, 80 %, 20 %.
            fig(5, "Xã E", coord_items=4, coord_contributed=3, coord_credit=D("2")),
            fig(6, "Sở F", "100", "10"),
        ],
        thresholds=[90, 80, 65, 50],
        previous={1: 3, 2: 1},
    )
    by = {r.figures.name: r for r in rows}
    assert by["Sở A"].rank == 1 and by["Sở A"].band == "Xuất sắc"
    assert by["Sở B"].rank == by["Sở C"].rank == 2  # 80 % = 80 %: same rank
    assert by["Sở B"].band == "Tốt"
    assert by["Xã E"].rank == 4 and by["Xã E"].band == "Trung bình"  # next rank skipped
    assert by["Sở F"].band == "Yếu"
    assert by["Sở D"].rank is None and by["Sở D"].band == "" and by["Sở D"].score is None
    assert [r.figures.name for r in rows][-1] == "Sở D"  # unranked last
    assert by["Sở A"].movement == 2 and by["Sở B"].movement == -1
    assert by["Sở C"].movement is None


def test_league_of_one_unit_type_keeps_the_province_rank():
    figures = [fig(1, "Sở A", "100", "90"), fig(2, "Xã B", "100", "80"), fig(3, "Xã C", "10", "7")]
    everyone = league.build_league(figures, thresholds=[90, 80, 65, 50])
    assert [(r.rank, r.overall_rank) for r in everyone] == [(1, 1), (2, 2), (3, 3)]
    communes = league.build_league(
        figures[1:], thresholds=[90, 80, 65, 50], overall=league.ranks_by_agency(everyone)
    )
    assert [(r.figures.name, r.rank, r.overall_rank) for r in communes] == [
        ("Xã B", 1, 2),
        ("Xã C", 2, 3),
    ]


def test_bands_follow_configured_thresholds():
    assert league.band_for(D("70"), [90, 80, 65, 50])[0] == "Khá"
    assert league.band_for(D("70"), [95, 90, 85, 75])[0] == "Yếu"
    assert league.band_for(None, [90, 80, 65, 50]) == ("", "")


@pytest.mark.django_db
def test_league_from_data(leader):
    w = build_world()
    recompute(w)
    data = sel.league_table(user=leader, framework=w.framework, period=w.period)
    by = {r.figures.agency_id: r for r in data["rows"]}
    a, b, c, d = (w.agencies[k] for k in "abcd")
    # A: 150 (appraised 1.1) + 0 (2.1 not approved) of 600; B: 100 (1.2) + 0 (2.2 returned)
    # of 400: both 25 % → same rank.
    assert by[a.pk].figures.lead_points == D("150") and by[a.pk].figures.lead_max_points == 600
    assert by[a.pk].score == by[b.pk].score == D("25.00")
    assert by[a.pk].rank == by[b.pk].rank == 1
    # Changed deliberately (UI review): C leads only a 0-point item it has not reported yet; it
    # was ranked 3rd at 0 %, now it is unranked like D, which has no assignment.
    assert by[c.pk].rank is None and by[c.pk].score is None
    assert by[c.pk].unranked_reason == "not_reported"
    assert by[d.pk].rank is None and by[d.pk].unranked_reason == "unassigned"
    assert [r.figures.agency_id for r in data["rows"]][-2:] == [d.pk, c.pk]  # unranked last
    # Timeliness from the transition log against the deadline; returns counted.
    assert (by[a.pk].figures.on_time, by[a.pk].figures.due_items) == (2, 2)
    assert (by[b.pk].figures.on_time, by[b.pk].figures.due_items) == (1, 3)
    assert by[b.pk].figures.returns == 2 and by[a.pk].figures.returns == 0
    assert by[a.pk].band == "Yếu"


@pytest.mark.django_db
def test_league_movement_since_previous_quarter(leader):
    w = build_world()
    add_previous_period(w)
    recompute(w)
    data = sel.league_table(user=leader, framework=w.framework, period=w.period)
    by = {r.figures.agency_id: r for r in data["rows"]}
    a, b = w.agencies["a"], w.agencies["b"]
    # Previous quarter: A 100/600 (16.67 %), B 100/400 (25 %) → B 1st, A 2nd; now both 1st.
    assert data["previous"].quarter == 2
    assert by[a.pk].previous_rank == 2 and by[a.pk].movement == 1
    assert by[b.pk].previous_rank == 1 and by[b.pk].movement == 0


@pytest.mark.django_db
def test_league_scope_page_and_api(client_as, api_as, leader):
    w = build_world()
    recompute(w)
    staff_b = w.staff["b"]
    data = sel.league_table(user=staff_b, framework=w.framework, period=w.period)
    assert [r.figures.agency_id for r in data["rows"]] == [w.agencies["b"].pk]
    q = f"?framework={w.framework.code}&period={w.period.pk}"
    html = client_as(leader).get(reverse("scoring:league") + q).content.decode()
    # Changed deliberately: the unranked label is now "Chưa xếp hạng" (was "Không xếp hạng").
    assert "Sở TT&amp;TT" in html and "Chưa xếp hạng" in html
    r = api_as(leader).get("/api/v1/scores/league/", {"framework": w.framework.code})
    assert r.status_code == 200
    ranks = {x["name"]: x["rank"] for x in r.json()["results"]}
    assert ranks["Sở TT&TT"] == ranks["Sở Nội vụ"] == 1 and ranks["Sở Du lịch"] is None
    r = api_as(staff_b).get("/api/v1/scores/league/", {"framework": w.framework.code})
    assert [x["name"] for x in r.json()["results"]] == ["Sở Nội vụ"]


@pytest.mark.django_db
def test_league_query_count_does_not_grow(client_as):
    counts = []
    for n, tag in ((1, "s"), (15, "l")):
        w = build_world(extra_agencies=n, tag=tag)
        add_previous_period(w)
        recompute(w)
        leader = UserFactory(username=f"lanhdao-{tag}", agency=None, role="leader")
        c = client_as(leader)
        url = reverse("scoring:league") + f"?framework={w.framework.code}&period={w.period.pk}"
        assert c.get(url).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            c.get(url)
        api = f"/api/v1/scores/league/?framework={w.framework.code}&period={w.period.pk}"
        with CaptureQueriesContext(connection) as ctx_api:
            c.get(api)
        counts.append((len(ctx.captured_queries), len(ctx_api.captured_queries)))
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
def test_coordinators_scored_on_the_points_of_what_they_contributed_to(leader):
    w = build_world(extra_agencies=2)
    recompute(w)
    data = sel.league_table(user=leader, framework=w.framework, period=w.period)
    by = {r.figures.agency_id: r for r in data["rows"]}
    for ag in w.extra_agencies:
        row = by[ag.pk]
        # Contributed to 1.1, which achieved 150 of 200 appraised points → 75 %.
        assert (row.figures.coord_items, row.figures.coord_contributed) == (1, 1)
        assert row.score == D("75.00") and row.band == "Khá"
    # Changed deliberately (UI review): a commune of the group that has sent nothing yet used to
    # score 0 and share the last rank with every idle agency; it is now unranked.
    from tests.factories import AgencyFactory

    idle = AgencyFactory(code="xa-idle", name="UBND xã Không gửi", kind="commune")
    data = sel.league_table(user=leader, framework=w.framework, period=w.period)
    row = next(r for r in data["rows"] if r.figures.agency_id == idle.pk)
    assert row.figures.coord_items == 1  # it is assigned: a coordinator of 1.1
    assert row.score is None and row.rank is None and row.movement is None
    assert row.unranked_reason == "not_reported"


def test_idle_agencies_are_unranked_not_tied_and_have_no_movement():
    """UI review: agencies that were assigned items but sent nothing used to tie at the last rank
    (0 %) and show "↑ 2" against the previous period."""
    figures = [
        fig(1, "Sở A", "100", "90", lead_items=1, due_items=1, submitted=1),
        fig(2, "Sở B", "100", "0", lead_items=1, due_items=1),  # assigned, nothing sent
        fig(3, "Xã C", coord_items=2, due_items=2),  # coordinator, nothing sent
        fig(4, "Sở D", "100", "0", lead_items=1, due_items=1, submitted=1),  # sent, 0 points
        fig(5, "Sở E"),  # nothing assigned
    ]
    rows = league.build_league(
        figures, thresholds=[90, 80, 65, 50], previous={1: 1, 2: 4, 3: 4, 4: 2, 5: 5}
    )
    by = {r.figures.name: r for r in rows}
    assert [r.figures.name for r in rows] == ["Sở A", "Sở D", "Sở B", "Sở E", "Xã C"]
    assert (by["Sở A"].rank, by["Sở D"].rank) == (1, 2)  # sent and got 0: still ranked
    for name, reason in (
        ("Sở B", "not_reported"),
        ("Xã C", "not_reported"),
        ("Sở E", "unassigned"),
    ):
        row = by[name]
        assert row.rank is None and row.score is None and row.band == ""
        assert row.movement is None and row.unranked_reason == reason
    assert by["Sở A"].unranked_reason == ""
    # Ranked now but unranked before: no movement either.
    again = league.build_league(figures, thresholds=[90, 80, 65, 50], previous={1: None, 4: 3})
    assert {r.figures.name: r.movement for r in again}["Sở A"] is None
    assert {r.figures.name: r.movement for r in again}["Sở D"] == 1


@pytest.mark.django_db
def test_league_page_lists_unranked_agencies_apart_without_arrow(client_as, leader):
    w = build_world()
    add_previous_period(w)
    recompute(w)
    q = f"?framework={w.framework.code}&period={w.period.pk}"
    html = client_as(leader).get(reverse("scoring:league") + q).content.decode()
    ranked, _sep, unranked = html.partition('class="league-unranked"')
    assert "Sở Du lịch" in unranked and "Sở Xây dựng" in unranked  # D unassigned, C idle
    assert "Sở Du lịch" not in ranked and "Sở Xây dựng" not in ranked
    assert "bi-arrow" not in unranked
    assert "không được giao chỉ số trong kỳ" in unranked and "chưa gửi báo cáo" in unranked
    assert 'tabindex="0"' in html and 'aria-label="Bảng xếp hạng các cơ quan' in html


@pytest.mark.django_db
def test_pdf_league_part_shows_unranked_agencies_the_same_way(leader):
    from django.template.loader import render_to_string

    from scoring.exports.pdf import summary_context

    w = build_world(extra_agencies=1)
    recompute(w)
    from tests.factories import AgencyFactory

    AgencyFactory(code="xa-idle", name="UBND xã Không gửi", kind="commune")
    dash = sel.dashboard(user=leader, framework=w.framework, period=w.period)
    data = sel.league_table(user=leader, framework=w.framework, period=w.period)
    html = render_to_string("scoring/exports/summary_pdf.html", summary_context(dash, data))
    league_part = html[html.index("thi đua - khen thưởng") :]
    ranked, _sep, unranked = league_part.partition('class="unranked-head"')
    assert "UBND xã Không gửi" in unranked and "Sở Du lịch" in unranked
    assert "UBND xã Không gửi" not in ranked
    assert "0,00 / 0,00" not in league_part  # coordinators have no lead points to show
    assert "Chưa xếp hạng: chưa gửi báo cáo" in unranked
    assert "Chưa xếp hạng: không được giao chỉ số trong kỳ" in unranked
