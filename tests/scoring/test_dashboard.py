"""Province dashboard: figures equal the scoring summary, scope, drill-down, fixed query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agencies.models import User
from scoring.dashboards import selectors as sel
from scoring.models import NationalResult
from tests.factories import UserFactory

from .dash_helpers import add_previous_period, build_world, q, recompute

pytestmark = pytest.mark.django_db
D = Decimal


def test_dashboard_figures_equal_scoring_summary(world, leader, api_as):
    summary = api_as(leader).get(
        "/api/v1/scores/summary/", {"framework": world.framework.code, "period": world.period.pk}
    )
    assert summary.status_code == 200
    s = summary.json()
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period)
    # Engine semantics: self-assessed counts submitted items, appraised only approved ones.
    assert dash["totals"]["self_assessed"] == D(s["self_assessed"]["total_points"]) == D("460")
    assert dash["totals"]["appraised"] == D(s["appraised"]["total_points"]) == D("250")
    assert dash["kind"] == "appraised"
    assert dash["dti"] == D(s["appraised"]["dti"])
    for m in dash["table"].mains:
        api_m = next(x for x in s["appraised"]["main_indices"] if x["code"] == m.code)
        assert m.points["appraised"] == D(api_m["points"])
    assert dash["points_at_risk"] == D(s["appraised"]["points_at_risk"]) == D("700")
    assert dash["max_reachable"] == D(s["appraised"]["max_reachable"]) == D("950")
    assert dash["target_points"] == D("800")
    assert dash["target_gap"] == D("550")


def test_losing_and_overdue_lists(world, reviewer):
    dash = sel.dashboard(user=reviewer, framework=world.framework, period=world.period)
    losing = [(x["code"], x["lead_agency"], x["lost"]) for x in dash["losing"]]
    assert losing[0] == ("2.1", "Sở TT&TT", D("400"))
    assert ("2.2", "Sở Nội vụ", D("300")) in losing
    assert ("1.1", "Sở TT&TT", D("50")) in losing
    assert "1.2" not in [x[0] for x in losing]  # full points, nothing lost
    items = {(x["code"], x["returned"], x["overdue"]) for x in dash["overdue_returned"]}
    assert ("2.2", True, False) in items  # returned (after the deadline), not overdue


def _official_result(world, *, year: int) -> NationalResult:
    """Khánh Hòa first in a published national table of ``year``."""
    return NationalResult.objects.create(
        framework=world.framework,
        year=year,
        province="Khánh Hòa",
        main_values={"1": "0.9", "2": "0.5"},
        dti=D("0.62"),
        rank=1,
    )


def test_trend_has_every_period(world, leader):
    prev = add_previous_period(world)
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period)
    assert [t["period_id"] for t in dash["trend"]] == [prev.pk, world.period.pk]
    assert dash["trend"][0]["appraised"] == D("200")  # 1.1 at 50 % of 200 = 100, 1.2 = 100


def test_pdf_summary_trend_stops_at_its_period(world, leader):
    """A half-year (sơ kết) summary made in December shows the quarters up to Q2, not later ones;
    the dashboard itself keeps every period."""
    from scoring.exports.pdf import summary_context

    prev = add_previous_period(world)  # Q2; the world's period is Q3
    dash = sel.dashboard(user=leader, framework=world.framework, period=prev)
    assert [t["period_id"] for t in dash["trend"]] == [prev.pk, world.period.pk]
    ctx = summary_context(dash, {})
    assert [t["period_id"] for t in ctx["trend"]] == [prev.pk]
    assert str(world.period) not in ctx["trend_svg"]
    full = summary_context(sel.dashboard(user=leader, framework=world.framework, period=None), {})
    assert [t["period_id"] for t in full["trend"]] == [prev.pk, world.period.pk]


def test_years_are_written_without_a_thousands_separator(world, leader, client_as):
    """The year reads "năm 2025", never "năm 2.025" (Vietnamese number format)."""
    _official_result(world, year=2025)
    c = client_as(leader)
    for name in ("dashboard", "national", "whatif"):
        html = c.get(reverse(f"scoring:{name}") + q(world)).content.decode()
        assert "2.025" not in html, name
        assert "2025" in html, name


def test_official_value_and_national_comparison(world, leader, settings):
    settings.PROVINCE_NAME = "Khánh Hòa"
    mains = {"1": "0.9", "2": "0.5"}
    for i, (prov, vals) in enumerate(
        [
            ("Đà Nẵng", {"1": "1", "2": "0.9"}),
            ("Khánh Hoà", mains),
            ("Huế", {"1": "0.2", "2": "0.1"}),
        ]
    ):
        NationalResult.objects.create(
            framework=world.framework,
            year=2024,
            province=prov,
            main_values=vals,
            dti=D("0.8") - D(i) / 10,
            rank=i + 1,
        )
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period)
    # "Khánh Hoà" (other accent placement) is our province.
    assert dash["official"].province == "Khánh Hoà"
    assert dash["official_points"] == D("700")
    nat = dash["national"]
    assert nat["rank"] == 2 and nat["provinces"] == 3
    assert {m["code"]: m["rank"] for m in nat["main_indices"]} == {"1": 2, "2": 2}
    assert nat["top10"] == 2 and nat["top10_target"] == 4


def test_agency_staff_see_their_own_part_only(world, client_as):
    staff_b = world.staff["b"]
    dash = sel.dashboard(user=staff_b, framework=world.framework, period=world.period)
    codes = {s.code for s in dash["table"].subs}
    # B leads 1.2 and 2.2 and coordinates 2.1; not 1.1 nor 3.1.
    assert codes == {"1.2", "2.1", "2.2"}
    assert not dash["province_scope"]
    assert dash["totals"]["appraised"] == D("100")
    assert dash["target_points"] is None and dash["official"] is None
    resp = client_as(staff_b).get(reverse("scoring:dashboard") + q(world))
    assert resp.status_code == 200
    assert "1.1" not in [r.code for r in resp.context["table"].subs]
    # Drill-down outside the scope is simply not found.
    assert (
        client_as(staff_b)
        .get(reverse("scoring:sub_indicator", args=["1.1"]) + q(world))
        .status_code
        == 404
    )


def test_dashboard_page_renders_vietnamese_numbers(world, client_as, leader):
    resp = client_as(leader).get(reverse("scoring:dashboard") + q(world))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'id="fig-total" data-kind="appraised">250,00<' in html
    assert 'id="fig-dti">0,2500<' in html
    assert "460,00" in html  # self-assessed total in the table
    assert 'id="dashboard-data"' in html and "chart.umd.min.js" in html
    assert "<script>" not in html  # CSP: no inline script


def test_drill_down_main_to_sub_to_evidence(world, client_as, reviewer):
    c = client_as(reviewer)
    resp = c.get(reverse("scoring:main_index", args=["1"]) + q(world))
    assert resp.status_code == 200
    assert reverse("scoring:sub_indicator", args=["1.1"]) in resp.content.decode()
    resp = c.get(reverse("scoring:sub_indicator", args=["1.1"]) + q(world))
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Sở Thông tin và Truyền thông" in html
    assert "Báo cáo tổ công nghệ số.pdf" in html
    ev = world.evidence[0]
    assert reverse("evidence:evidence_download", args=[ev.pk]) in html
    assert "Thiếu minh chứng" not in html  # 1.1 was never returned
    html = c.get(reverse("scoring:sub_indicator", args=["1.2"]) + q(world)).content.decode()
    assert "Thiếu minh chứng" in html  # the return reason in the history


def test_drill_down_never_shows_a_draft_to_the_province(world, client_as, reviewer, leader):
    """The drill-down reads submissions through evidence's scoped selector: a draft (and its
    evidence) is the agency's own, not on a reviewer's or a leader's page."""
    from evidence.models import Submission

    ev = world.evidence[0]
    sub = ev.submission
    url = reverse("scoring:sub_indicator", args=[sub.indicator.code]) + q(world)
    link = reverse("evidence:evidence_download", args=[ev.pk])
    assert link in client_as(reviewer).get(url).content.decode()
    Submission.objects.filter(pk=sub.pk).update(state=Submission.State.DRAFT)
    for user in (reviewer, leader):
        html = client_as(user).get(url).content.decode()
        assert link not in html and ev.original_name not in html


def test_dashboard_api(world, api_as, leader, user_a):
    r = api_as(leader).get(
        "/api/v1/scores/dashboard/", {"framework": world.framework.code, "period": world.period.pk}
    )
    assert r.status_code == 200
    body = r.json()
    assert D(body["total_points"]) == D("250") and body["scope"] == "province"
    assert [m["code"] for m in body["main_indices"]] == ["1", "2", "3"]
    r = api_as(user_a).get("/api/v1/scores/dashboard/", {"framework": world.framework.code})
    assert r.status_code == 200 and r.json()["scope"] == "agency"
    assert r.json()["main_indices"] == []  # agency A of the fixtures has no assignment here
    assert api_as(leader).get("/api/v1/scores/dashboard/", {"framework": "nope"}).status_code == 404


def _count(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["leader", "staff"])
def test_dashboard_query_count_does_not_grow(role, client_as):
    counts = []
    for n, code in ((1, "s"), (12, "l")):
        w = build_world(extra_agencies=n, tag=code)
        add_previous_period(w)
        recompute(w)
        user = (
            UserFactory(username=f"lead-{code}", agency=None, role=User.Role.LEADER)
            if role == "leader"
            else w.staff["a"]
        )
        c = client_as(user)
        for page in (
            reverse("scoring:dashboard"),
            reverse("scoring:main_index", args=["1"]),
            reverse("scoring:sub_indicator", args=["1.1"]),
        ):
            assert c.get(page + q(w)).status_code == 200  # warm up (session, caches)
        counts.append(
            [
                _count(lambda page=page, w=w: c.get(page + q(w)))
                for page in (
                    reverse("scoring:dashboard"),
                    reverse("scoring:main_index", args=["1"]),
                    reverse("scoring:sub_indicator", args=["1.1"]),
                )
            ]
        )
    assert counts[0] == counts[1], counts
    assert all(n < 40 for n in counts[0]), counts


def test_drill_down_shows_readable_values_and_history(world, client_as, leader):
    c = client_as(leader)
    html = c.get(reverse("scoring:sub_indicator", args=["2.1"]) + q(world)).content.decode()
    assert "Một phần" in html  # the level's label, not its key
    html = c.get(reverse("scoring:sub_indicator", args=["1.2"]) + q(world)).content.decode()
    assert "<dd>Có" in html
    assert "Bị trả lại, cần giải trình" in html and "Đã duyệt" in html  # transitions with labels


def test_pages_by_role(world, client_as, leader, user_a):
    _official_result(world, year=2024)
    c = client_as(leader)
    for name in ("whatif", "national", "league", "exports"):
        resp = c.get(reverse(f"scoring:{name}") + q(world))
        assert resp.status_code == 200, name
    html = c.get(reverse("scoring:national") + q(world)).content.decode()
    assert 'id="nat-rank">1<' in html and 'id="nat-projected"' in html
    staff = client_as(user_a)
    assert staff.get(reverse("scoring:whatif") + q(world)).status_code == 403
    assert staff.get(reverse("scoring:national") + q(world)).status_code == 403
    assert staff.get(reverse("scoring:league") + q(world)).status_code == 200
    assert client_as(None).get(reverse("scoring:dashboard")).status_code == 302  # login
    assert c.get(reverse("scoring:dashboard") + "?framework=nope").status_code == 404
    assert c.get(reverse("scoring:main_index", args=["9"]) + q(world)).status_code == 404


def test_dashboard_without_any_framework(client_as, leader):
    resp = client_as(leader).get(reverse("scoring:dashboard"))
    assert resp.status_code == 200
    assert "Chưa có bộ chỉ số" in resp.content.decode()


def test_dashboard_api_query_count_does_not_grow(api_as):
    counts = []
    for n, tag in ((1, "s"), (12, "l")):
        w = build_world(extra_agencies=n, tag=tag)
        recompute(w)
        api = api_as(UserFactory(username=f"ld-{tag}", agency=None, role=User.Role.LEADER))
        url = f"/api/v1/scores/dashboard/?framework={w.framework.code}&period={w.period.pk}"
        assert api.get(url).status_code == 200
        counts.append(_count(lambda api=api, url=url: api.get(url)))
    assert counts[0] == counts[1], counts


def test_headline_kind_can_be_chosen(world, client_as, leader):
    html = client_as(leader).get(reverse("scoring:dashboard") + q(world) + "&kind=self_assessed")
    assert 'id="fig-total" data-kind="self_assessed">460,00<' in html.content.decode()
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period, kind="bad")
    assert dash["kind"] == "appraised"


def test_framework_without_periods_or_scores(client_as, leader):
    from tests.factories import IndicatorFactory

    from .helpers import published_framework

    fw = published_framework(code="fw-empty")
    main = IndicatorFactory(framework=fw, level="main", code="1", max_points=D("1000"))
    IndicatorFactory(framework=fw, parent=main, level="sub", code="1.1", max_points=D("1000"))
    c = client_as(leader)
    for name in ("dashboard", "league", "exports", "whatif", "national"):
        resp = c.get(reverse(f"scoring:{name}") + "?framework=fw-empty")
        assert resp.status_code == 200, name
    assert (
        c.get(reverse("scoring:main_index", args=["1"]) + "?framework=fw-empty").status_code == 200
    )
    assert (
        c.get(reverse("scoring:sub_indicator", args=["1.1"]) + "?framework=fw-empty").status_code
        == 200
    )
    resp = c.post(reverse("scoring:exports") + "?framework=fw-empty", {"kind": "excel"})
    assert resp.status_code == 400 and "Chọn kỳ báo cáo" in resp.content.decode()


def test_out_of_range_period_is_not_found(world, api_as, client_as, leader):
    for period in ("99999999999999999999999", "-1", "0", "1e308", "abc"):
        r = api_as(leader).get(
            "/api/v1/scores/dashboard/", {"framework": world.framework.code, "period": period}
        )
        assert r.status_code == 404, period
        assert (
            client_as(leader).get(reverse("scoring:league") + f"?period={period}").status_code
            == 404
        )
    r = api_as(leader).post(
        "/api/v1/scores/what-if/", {"period": 10**30, "overrides": {}}, format="json"
    )
    assert r.status_code == 400


def test_score_explanations_follow_the_reader_language(world, client_as, leader):
    """The engine stores its explanation structured (msgid and numbers) beside the Vietnamese
    text: the drill-down shows it in the reader's language with their number format."""
    c = client_as(leader)
    url = reverse("scoring:sub_indicator", args=["1.1"]) + q(world)
    vi = c.get(url).content.decode()
    assert (
        "Điểm thẩm định do Sở KH&amp;CN quyết định: 150 "
        "(theo số liệu: Tỷ lệ 80/100 = 80% × 200 = 160 điểm.)"
    ) in vi
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    en = c.get(url).content.decode()
    assert (
        "Appraised points decided by the Department of Science and Technology: 150 "
        "(from the data: Ratio 80/100 = 80% × 200 = 160 points.)"
    ) in en
    assert "theo số liệu" not in en


def test_agency_points_at_risk_count_like_the_province(world):
    """An at-risk item puts all its max points at risk for agency staff too (the engine's
    definition), whatever it scores now: A's 2.1 (max 400, self-assessed 200, not approved)."""
    dash = sel.dashboard(
        user=world.staff["a"], framework=world.framework, period=world.period, kind="self_assessed"
    )
    assert dash["points_at_risk"] == D("400")
    # kept: 1.1 at 160 (self-assessed); reachable: 160 + 400
    assert dash["max_reachable"] == D("560")


def test_reported_values_are_shown_as_entered(db):
    """A reported figure is never cut nor rounded on the drill-down and in the exports."""
    from indicators.models import Measure

    pct = Measure(code="p", label="Tỷ lệ", kind="percent")
    num = Measure(code="n", label="Số", kind="number")
    assert sel.display_value(pct, "99.99995") == "99,99995%"
    assert sel.display_value(num, "0.12345") == "0,12345"
    assert sel.display_value(num, "1234.5") == "1.234,5"
    assert sel.display_value(num, "") == ""


def test_dti_card_names_the_frameworks_total(world, leader, client_as):
    from .dash_helpers import q

    html = client_as(leader).get(reverse("scoring:dashboard") + q(world)).content.decode()
    assert "tổng điểm ÷ 1.000" in html


def test_value_column_says_which_kind_it_is(world, leader, client_as):
    """The main-index table has the points of all three kinds but the values (and DTI) of the
    appraised ones only: with the final kind chosen, its DTI card and an unlabelled "Giá trị"
    total gave two different DTIs. The column says it is the appraised value, on the page and in
    the PDF."""
    from django.template.loader import render_to_string

    from scoring.exports.pdf import summary_context

    html = client_as(leader).get(reverse("scoring:dashboard") + q(world) + "&kind=final")
    header = html.content.decode().split('id="table-mains"')[1].split("</thead>")[0]
    assert "Giá trị (thẩm định)" in header
    dash = sel.dashboard(user=leader, framework=world.framework, period=world.period, kind="final")
    pdf_html = render_to_string("scoring/exports/summary_pdf.html", summary_context(dash, {}))
    assert "Giá trị (thẩm định)" in pdf_html
