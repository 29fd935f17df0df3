"""``scores/summary/``: the API.md shape, scoping, errors, and the lineage of every number."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from django.urls import reverse

from indicators.scoring_rules import evaluate_rule
from scoring import services
from scoring.models import ScoreSnapshot
from tests.factories import AgencyFactory, UserFactory

from .helpers import make_framework, submit

D = Decimal
pytestmark = pytest.mark.django_db
URL = "/api/v1/scores/summary/"


@pytest.fixture
def scored():
    fw, period, lead, subs = make_framework()
    a, b = AgencyFactory(), AgencyFactory()
    submit(subs["1.1"], period, a, {"numerator": "2", "denominator": "3"})
    submit(subs["1.1"], period, b, {"numerator": "5", "denominator": "7"}, state="submitted")
    submit(
        subs["1.2"], period, lead, {"done": "1"}, appraised_points=D("150"), final_points=D("180")
    )
    submit(subs["2.1"], period, lead, {"level": "half"}, state="returned")
    submit(subs["3.1"], period, lead, {})
    services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    return fw, period, lead, subs, a, b


def test_route_name():
    assert reverse("api:scores-summary") == URL


def test_summary_shape_for_reviewer(api_as, reviewer, scored):
    fw, period, *_ = scored
    resp = api_as(reviewer).get(URL, {"framework": fw.code, "period": period.pk})
    assert resp.status_code == 200
    data = resp.json()
    for kind in ("self_assessed", "appraised", "final"):
        body = data[kind]
        assert {"total_points", "dti", "main_indices", "computed_at", "stale"} <= set(body)
        assert body["stale"] is False
        for main in body["main_indices"]:
            assert {"code", "points", "max_points", "value"} <= set(main)
    assert D(data["appraised"]["total_points"]) == D(350)
    assert D(data["final"]["total_points"]) == D(380)


def test_every_number_in_the_summary_is_traced_to_values_and_rules(api_as, leader, scored):
    """Lineage: rule(values) gives each sub-indicator's points (or a recorded override), the
    sub-indicators add up to each main index, the main indices to the total, the total ÷ 1000
    to the DTI."""
    fw, period, *_ = scored
    data = api_as(leader).get(URL, {"framework": fw.code, "period": period.pk}).json()
    eps = D("1e-11")
    for kind in ("self_assessed", "appraised", "final"):
        snap = ScoreSnapshot.objects.get(framework=fw, period=period, kind=kind)
        body = data[kind]
        per_main: dict[str, Decimal] = {}
        with localcontext() as ctx:
            ctx.prec = 60
            for code, entry in snap.lineage.items():
                rule_points = evaluate_rule(
                    entry["rule"], entry["values"], D(entry["max_points"])
                ).points
                assert D(entry["rule_points"]) == rule_points, (kind, code)
                if entry["basis"] == "values":
                    assert D(entry["points"]) == rule_points
                else:  # an appraisal/council decision, recorded on the submission it came from
                    from evidence.models import Submission

                    src = Submission.objects.get(pk=entry["submission_ids"][0])
                    recorded = (
                        src.final_points if entry["basis"] == "final" else src.appraised_points
                    )
                    assert D(entry["points"]) == recorded
                per_main[entry["main_code"]] = per_main.get(entry["main_code"], D(0)) + D(
                    entry["points"]
                )
            total = D(0)
            for main in body["main_indices"]:
                assert abs(D(main["points"]) - per_main[main["code"]]) < eps
                mx = D(main["max_points"])
                expected_value = per_main[main["code"]] / mx if mx else D(0)
                assert abs(D(main["value"]) - expected_value) < eps
                if mx:
                    total += per_main[main["code"]]
            assert abs(D(body["total_points"]) - total) < eps
            assert abs(D(body["dti"]) - total / D(1000)) < eps
    # the appraised 1.1 comes from the approved contribution only, self-assessed from both
    snap = ScoreSnapshot.objects.get(framework=fw, period=period, kind="appraised")
    assert snap.lineage["1.1"]["values"] == {"numerator": "2", "denominator": "3"}
    self_snap = ScoreSnapshot.objects.get(framework=fw, period=period, kind="self_assessed")
    assert self_snap.lineage["1.1"]["values"] == {"numerator": "7", "denominator": "10"}
    assert snap.lineage["2.1"]["risk_reason"] == "returned"


def test_agency_staff_see_only_their_part(api_as, scored):
    fw, period, lead, subs, a, b = scored
    staff = UserFactory(role="agency_staff", agency=a)
    data = api_as(staff).get(URL, {"framework": fw.code, "period": period.pk}).json()
    assert data["scope"] == "agency"
    body = data["appraised"]
    assert body["dti"] is None
    assert [m["code"] for m in body["main_indices"]] == ["1"]
    assert D(body["main_indices"][0]["max_points"]) == D(300)
    lead_staff = UserFactory(role="agency_staff", agency=lead)
    data = api_as(lead_staff).get(URL, {"framework": fw.code, "period": period.pk}).json()
    assert [m["code"] for m in data["appraised"]["main_indices"]] == ["1", "2", "3"]
    # a coordinating agency whose part went into the lead's consolidation (not itself a
    # contributor in the lineage) still sees the sub-indicator it is assigned
    coordinator = AgencyFactory()
    subs["1.2"].coordinating_agencies.add(coordinator)
    staff_c = UserFactory(role="agency_staff", agency=coordinator)
    data = api_as(staff_c).get(URL, {"framework": fw.code, "period": period.pk}).json()
    assert [m["code"] for m in data["appraised"]["main_indices"]] == ["1"]
    outsider = UserFactory(role="agency_staff", agency=AgencyFactory())
    data = api_as(outsider).get(URL, {"framework": fw.code, "period": period.pk}).json()
    assert data["appraised"]["main_indices"] == [] and data["appraised"]["total_points"] == "0"


def test_errors(api_as, api_client, reviewer, scored):
    fw, period, *_ = scored
    assert api_client.get(URL, {"framework": fw.code, "period": period.pk}).status_code in (
        401,
        403,
    )
    assert api_as(reviewer).get(URL, {"framework": fw.code}).status_code == 400
    assert api_as(reviewer).get(URL, {"framework": "nope", "period": period.pk}).status_code == 404
    other_fw, other_period, *_ = make_framework()
    resp = api_as(reviewer).get(URL, {"framework": fw.code, "period": other_period.pk})
    assert resp.status_code == 404


def test_no_snapshot_yet_is_stale(api_as, reviewer):
    fw, period, *_ = make_framework()
    data = api_as(reviewer).get(URL, {"framework": fw.code, "period": period.pk}).json()
    assert data["appraised"]["stale"] is True and data["appraised"]["total_points"] is None


def test_schema_documents_the_route(api_as, admin_user):
    resp = api_as(admin_user).get("/api/schema/")
    assert resp.status_code == 200
    assert b"/api/v1/scores/summary/" in resp.content


def test_trend_one_row_per_period(reviewer, leader, django_assert_num_queries):
    from scoring.selectors import score_trend
    from tests.factories import ReportingPeriodFactory

    fw, period, lead, subs = make_framework()
    q3 = ReportingPeriodFactory(framework=fw, quarter=3)
    submit(subs["1.2"], period, lead, {"done": "1"})
    services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    services.score_recompute(framework_id=fw.pk, period_id=q3.pk)
    with django_assert_num_queries(1):
        trend = score_trend(user=leader, framework=fw)
    assert [r["period_id"] for r in trend] == [q3.pk, period.pk]
    assert D(trend[1]["appraised"]["total_points"]) == D(200)
    assert D(trend[0]["appraised"]["total_points"]) == D(0)
    staff = UserFactory(role="agency_staff", agency=lead)
    assert score_trend(user=staff, framework=fw) == []


def test_trend_puts_the_annual_round_after_q4(leader):
    """PostgreSQL and SQLite disagree on where NULL sorts; the annual round (quarter NULL) comes
    after the year's quarters on both."""
    from scoring.selectors import score_trend
    from tests.factories import ReportingPeriodFactory

    fw, q4, _lead, _subs = make_framework()
    annual = ReportingPeriodFactory(framework=fw, quarter=None)
    q1 = ReportingPeriodFactory(framework=fw, quarter=1)
    for p in (annual, q1, q4):
        services.score_recompute(framework_id=fw.pk, period_id=p.pk)
    assert [r["period_id"] for r in score_trend(user=leader, framework=fw)] == [
        q1.pk,
        q4.pk,
        annual.pk,
    ]
