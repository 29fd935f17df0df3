"""Reporting API routes as API.md writes them: periods, submissions, evidence; pagination,
filters, the schema, and query counts that do not grow with the data."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from agencies.models import AuditEvent
from evidence import services
from evidence.models import ReportingPeriod, Submission
from indicators.models import Framework
from tests.evidence.reporting_factories import make_ratio_indicator, pdf_bytes
from tests.factories import AgencyFactory, UserFactory

# Stored evidence goes to a fresh directory (tests/evidence/conftest.py, with ``world``).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.mark.django_db
class TestPeriods:
    def test_reviewer_creates_period_with_default_or_given_deadline(self, world, reviewer, api_as):
        Framework.objects.filter(pk=world.framework.pk).update(status=Framework.Status.PUBLISHED)
        api = api_as(reviewer)
        url = reverse("api:period-list")
        resp = api.post(url, {"framework": world.framework.pk, "year": 2026, "quarter": 1})
        assert resp.status_code == 201, resp.content
        assert resp.json()["deadline"] == "2026-03-25"
        resp = api.post(
            url,
            {
                "framework": world.framework.pk,
                "year": 2026,
                "quarter": None,
                "deadline": "2027-01-08",
            },
        )
        assert resp.status_code == 201
        assert resp.json()["quarter"] is None and resp.json()["deadline"] == "2027-01-08"
        again = api.post(url, {"framework": world.framework.pk, "year": 2026, "quarter": None})
        assert again.status_code == 400
        assert (
            api.post(url, {"framework": world.framework.pk, "year": 2026, "quarter": 7}).status_code
            == 400
        )
        assert AuditEvent.objects.filter(action="period.create").count() == 2

    def test_agency_and_leader_cannot_create_but_can_list(self, world, user_a, leader, api_as):
        for user in (user_a, leader):
            api = api_as(user)
            resp = api.post(
                reverse("api:period-list"),
                {"framework": world.framework.pk, "year": 2027, "quarter": 1},
            )
            assert resp.status_code == 403
            listing = api.get(reverse("api:period-list")).json()
            assert listing["count"] == 1 and "next" in listing
            assert listing["results"][0]["is_locked"] is False
        detail = api_as(user_a).get(reverse("api:period-detail", args=[world.period.pk]))
        assert detail.json()["label"] == "Quý 4/2025"


@pytest.mark.django_db
class TestSubmissions:
    def test_create_then_patch_and_filter(self, world, user_a, api_as):
        api = api_as(user_a)
        resp = api.post(
            reverse("api:submission-list"),
            {
                "indicator": world.ratio.pk,
                "period": world.period.pk,
                "values": {"numerator": 3, "denominator": "4"},
                "note": "Giải trình",
            },
        )
        assert resp.status_code == 201, resp.content
        body = resp.json()
        assert body["values"] == {"numerator": "3", "denominator": "4"}
        assert body["self_points"] == "7.5000" and body["version"] == 1
        dup = api.post(
            reverse("api:submission-list"),
            {
                "indicator": world.ratio.pk,
                "period": world.period.pk,
                "values": {"numerator": 1, "denominator": 1},
            },
        )
        assert dup.status_code == 409
        bad = api.patch(
            reverse("api:submission-detail", args=[body["id"]]),
            {"version": 1, "values": {"numerator": "5", "denominator": "4"}},
        )
        assert bad.status_code == 400
        assert "numerator" in bad.json()["values"]
        missing_version = api.patch(
            reverse("api:submission-detail", args=[body["id"]]), {"values": {}}
        )
        assert missing_version.status_code == 400
        assert api.put(reverse("api:submission-detail", args=[body["id"]]), {}).status_code == 405
        listing = api.get(
            reverse("api:submission-list"), {"period": world.period.pk, "state": "draft"}
        )
        assert listing.json()["count"] == 1
        assert (
            api.get(reverse("api:submission-list"), {"indicator": world.yes_no.pk}).json()["count"]
            == 0
        )

    def test_evidence_list_and_upload(self, world, user_a, api_as):
        sub = services.submission_create(
            actor=user_a,
            indicator=world.ratio,
            period=world.period,
            values={"numerator": "1", "denominator": "2"},
        )
        api = api_as(user_a)
        url = reverse("api:submission-evidence", args=[sub.pk])
        resp = api.post(
            url,
            {
                "file": SimpleUploadedFile("Biên bản.pdf", pdf_bytes()),
                "doc_number": "15/BB-STTTT",
                "doc_date": "2025-10-01",
                "issuer": "Sở Thông tin và Truyền thông",
                "summary": "Biên bản kiểm tra",
            },
            format="multipart",
        )
        assert resp.status_code == 201, resp.content
        listing = api.get(url).json()
        assert listing["count"] == 1
        row = listing["results"][0]
        assert row["doc_date"] == "2025-10-01" and row["original_name"] == "Biên bản.pdf"
        assert row["download_url"] == reverse("api:evidence-download", args=[row["id"]])
        assert api.post(url, {}, format="multipart").status_code == 400


def populate(world, n_agencies: int):
    """n coordinating agencies each with a sent contribution carrying two evidence files."""
    subs = []
    for i in range(n_agencies):
        agency = AgencyFactory(code=f"xa-{world.period.pk}-{i}", name=f"UBND xã thử {i}")
        world.ratio.coordinating_agencies.add(agency)
        user = UserFactory(username=f"xa{world.period.pk}_{i}", agency=agency)
        ind = make_ratio_indicator(world.framework, f"2.{i + 1}", agency)
        for indicator in (world.ratio, ind):
            sub = services.submission_create(
                actor=user,
                indicator=indicator,
                period=world.period,
                values={"numerator": "1", "denominator": "2"},
            )
            services.evidence_add_file(
                submission=sub, actor=user, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
            )
            services.evidence_add_link(submission=sub, actor=user, url="https://example.gov.vn/a")
            subs.append(sub)
    return subs


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 8])
def test_query_counts_do_not_grow(world, reviewer, n, api_as, django_assert_max_num_queries):
    subs = populate(world, n)
    # sent to the Sở: the reviewer sees them (drafts are the agencies' own)
    Submission.objects.update(state=Submission.State.SUBMITTED, submitted_at=timezone.now())
    api = api_as(reviewer)
    with django_assert_max_num_queries(6):
        data = api.get(reverse("api:submission-list")).json()
    assert data["count"] == 2 * n
    with django_assert_max_num_queries(6):
        data = api.get(reverse("api:period-list")).json()
    with django_assert_max_num_queries(8):
        data = api.get(reverse("api:submission-evidence", args=[subs[0].pk])).json()
    assert data["count"] == 2


@pytest.mark.django_db
def test_submission_list_counts_evidence_per_row_without_grouping(world, reviewer, api_as):
    """``evidence_count`` comes from a subquery evaluated for the page's rows: no GROUP BY over
    every visible submission (the province, for a reviewer) before the page is cut."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    subs = populate(world, 3)
    Submission.objects.update(state=Submission.State.SUBMITTED, submitted_at=timezone.now())
    bare = subs[-1].evidence.all()
    for ev in bare:
        ev.delete()
    with CaptureQueriesContext(connection) as ctx:
        data = api_as(reviewer).get(reverse("api:submission-list")).json()
    counts = {row["id"]: row["evidence_count"] for row in data["results"]}
    assert counts[subs[-1].pk] == 0
    assert all(counts[s.pk] == 2 for s in subs[:-1])
    listing = [q["sql"] for q in ctx.captured_queries if "evidence_submission" in q["sql"]]
    assert listing and not any("GROUP BY" in sql for sql in listing)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 8])
def test_inbox_and_lead_page_queries_do_not_grow(
    world, n, client_as, django_assert_max_num_queries
):
    populate(world, n)
    c = client_as(world.lead_user)
    # measured: inbox 18, home 17, lead page 19 at both sizes
    with django_assert_max_num_queries(20):
        assert c.get(reverse("evidence:inbox")).status_code == 200
    with django_assert_max_num_queries(20):
        assert c.get("/").status_code == 200
    with django_assert_max_num_queries(21):
        resp = c.get(reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk]))
    assert resp.status_code == 200


@pytest.mark.django_db
def test_schema_documents_reporting_routes(tmp_path):
    out = tmp_path / "schema.yml"
    # --fail-on-warn is the foundation schema test's job (it covers every app's warnings)
    call_command("spectacular", "--validate", "--file", str(out))
    text = out.read_text()
    for route in (
        "/api/v1/periods/:",
        "/api/v1/periods/{id}/:",
        "/api/v1/submissions/:",
        "/api/v1/submissions/{id}/:",
        "/api/v1/submissions/{id}/evidence/:",
        "/api/v1/evidence/{id}/download/:",
    ):
        assert route in text, route


@pytest.mark.django_db
def test_period_annual_round_label_and_lock(world, reviewer):
    Framework.objects.filter(pk=world.framework.pk).update(status=Framework.Status.PUBLISHED)
    annual = services.period_create(
        actor=reviewer,
        framework=Framework.objects.get(pk=world.framework.pk),
        year=2025,
        quarter=None,
    )
    assert annual.deadline == datetime.date(2026, 1, 12)  # 10/01/2026 is a Saturday
    assert ReportingPeriod.objects.filter(quarter__isnull=True).count() == 1
