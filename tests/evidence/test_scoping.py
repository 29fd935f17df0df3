"""Persona tests (agency A, agency B, the lead, reviewer, leader, anonymous) over the reporting
pages, the API and the downloads: outside scope is 404, lists never leak another agency's
drafts, the agency comes from the user, and agencies cannot write state or points."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from evidence import services
from evidence.models import EvidenceFile, Submission
from tests.evidence.reporting_factories import pdf_bytes

# Stored evidence goes to a fresh directory (tests/evidence/conftest.py, with ``world``).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def a_draft(world, user_a):
    sub = services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "3", "denominator": "4"},
        note="Nháp của A",
    )
    ev = services.evidence_add_file(
        submission=sub, actor=user_a, upload=SimpleUploadedFile("A.pdf", pdf_bytes())
    )
    return sub, ev


@pytest.fixture
def b_draft(world, user_b):
    return services.submission_create(
        actor=user_b,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "1", "denominator": "9"},
        note="Nháp của B",
    )


def urls(sub, ev):
    return {
        "api_detail": reverse("api:submission-detail", args=[sub.pk]),
        "api_evidence": reverse("api:submission-evidence", args=[sub.pk]),
        "api_download": reverse("api:evidence-download", args=[ev.pk]),
        "page_detail": reverse("evidence:submission_detail", args=[sub.pk]),
        "page_download": reverse("evidence:evidence_download", args=[ev.pk]),
    }


@pytest.mark.django_db
def test_agency_b_gets_404_everywhere_on_a(a_draft, b_draft, user_b, api_as, client_as):
    sub, ev = a_draft
    u = urls(sub, ev)
    api, page = api_as(user_b), client_as(user_b)
    for key in ("api_detail", "api_evidence", "api_download"):
        assert api.get(u[key]).status_code == 404, key
    for key in ("page_detail", "page_download"):
        assert page.get(u[key]).status_code == 404, key
    # writes into A's submission: 404 and nothing changes
    assert api.patch(u["api_detail"], {"version": 1, "values": {}}).status_code == 404
    resp = api.post(
        u["api_evidence"],
        {"file": SimpleUploadedFile("x.pdf", pdf_bytes())},
        format="multipart",
    )
    assert resp.status_code == 404
    assert page.post(reverse("evidence:evidence_upload", args=[sub.pk]), {}).status_code == 404
    assert page.post(reverse("evidence:evidence_remove", args=[ev.pk])).status_code == 404
    assert page.post(reverse("evidence:submission_send", args=[sub.pk])).status_code == 404
    assert EvidenceFile.objects.filter(submission=sub).count() == 1
    assert Submission.objects.get(pk=sub.pk).values == {"numerator": "3", "denominator": "4"}


@pytest.mark.django_db
def test_lists_never_include_other_agencies_drafts(
    world, a_draft, b_draft, user_a, api_as, client_as
):
    data = api_as(user_a).get(reverse("api:submission-list")).json()
    assert data["count"] == 1
    assert [r["agency"] for r in data["results"]] == [user_a.agency_id]
    page = client_as(user_a).get(reverse("evidence:inbox") + f"?period={world.period.pk}")
    html = page.content.decode()
    assert "Nháp của B" not in html
    # the lead does not see drafts either
    lead = api_as(world.lead_user).get(reverse("api:submission-list")).json()
    assert lead["count"] == 0
    sub, ev = a_draft
    assert api_as(world.lead_user).get(urls(sub, ev)["api_detail"]).status_code == 404


@pytest.mark.django_db
def test_lead_sees_contribution_once_sent_but_coordinators_never_see_each_other(
    world, a_draft, b_draft, user_a, user_b, api_as, client_as
):
    sub, ev = a_draft
    sent = services.submission_submit(submission=sub, actor=user_a, version=sub.version)
    u = urls(sent, ev)
    lead_api, lead_page = api_as(world.lead_user), client_as(world.lead_user)
    assert lead_api.get(u["api_detail"]).status_code == 200
    assert lead_api.get(u["api_download"]).status_code == 200
    assert lead_page.get(u["page_detail"]).status_code == 200
    ids = [r["id"] for r in lead_api.get(reverse("api:submission-list")).json()["results"]]
    assert ids == [sent.pk]
    # B (coordinator) still cannot see A's sent contribution
    assert api_as(user_b).get(u["api_detail"]).status_code == 404
    assert client_as(user_b).get(u["page_download"]).status_code == 404
    # the lead's consolidation page lists A as reported and B as not reported
    html = lead_page.get(
        reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    ).content.decode()
    assert "Sở Thử nghiệm A" in html and "Sở Thử nghiệm B" in html
    assert "Chưa báo cáo" in html and "Nháp của B" not in html


@pytest.mark.django_db
def test_reviewer_and_leader_see_province_leader_read_only(
    world, a_draft, b_draft, reviewer, leader, admin_user, api_as
):
    sub, ev = a_draft
    for user in (reviewer, leader, admin_user):  # drafts: the agencies' own (AC11)
        api = api_as(user)
        assert api.get(reverse("api:submission-list")).json()["count"] == 0
        for key in ("api_detail", "api_evidence", "api_download"):
            assert api.get(urls(sub, ev)[key]).status_code == 404
    Submission.objects.update(state=Submission.State.SUBMITTED, submitted_at=timezone.now())
    for user in (reviewer, leader, admin_user):
        api = api_as(user)
        assert api.get(reverse("api:submission-list")).json()["count"] == 2
        assert api.get(urls(sub, ev)["api_download"]).status_code == 200
        resp = api.post(
            reverse("api:submission-list"),
            {"indicator": world.ratio.pk, "period": world.period.pk, "values": {}},
        )
        assert resp.status_code == 403
        resp = api.patch(urls(sub, ev)["api_detail"], {"version": 1, "values": {"numerator": "0"}})
        assert resp.status_code == 403
    assert Submission.objects.get(pk=sub.pk).values["numerator"] == "3"


@pytest.mark.django_db
def test_anonymous_refused(a_draft, api_client, client):
    sub, ev = a_draft
    u = urls(sub, ev)
    for key in ("api_detail", "api_evidence", "api_download"):
        assert api_client.get(u[key]).status_code in (401, 403)
    for key in ("page_detail", "page_download"):
        resp = client.get(u[key])
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
    assert client.get(reverse("evidence:inbox")).status_code == 302


@pytest.mark.django_db
def test_agency_comes_from_user_never_from_input(world, user_a, agency_b, api_as):
    resp = api_as(user_a).post(
        reverse("api:submission-list"),
        {
            "indicator": world.ratio.pk,
            "period": world.period.pk,
            "agency": agency_b.pk,
            "values": {"numerator": "1", "denominator": "2"},
        },
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["agency"] == user_a.agency_id
    assert Submission.objects.get().agency_id == user_a.agency_id


@pytest.mark.django_db
def test_agency_cannot_write_state_or_points(world, a_draft, user_a, agency_b, api_as):
    sub, _ev = a_draft
    api = api_as(user_a)
    resp = api.post(
        reverse("api:submission-list"),
        {
            "indicator": world.yes_no.pk,
            "period": world.period.pk,
            "values": {"done": "0"},
            "state": "approved",
            "self_points": "5",
            "appraised_points": "5",
            "final_points": "5",
            "is_consolidation": False,
        },
    )
    assert resp.status_code == 201
    body = resp.json()
    assert body["state"] == "draft" and body["self_points"] == "0.0000"
    assert body["appraised_points"] is None and body["final_points"] is None
    resp = api.patch(
        reverse("api:submission-detail", args=[sub.pk]),
        {
            "version": sub.version,
            "state": "approved",
            "self_points": "10",
            "appraised_points": "10",
            "final_points": "10",
            "agency": agency_b.pk,
            "is_consolidation": True,
        },
    )
    assert resp.status_code == 200
    fresh = Submission.objects.get(pk=sub.pk)
    assert fresh.state == "draft"
    assert fresh.appraised_points is None and fresh.final_points is None
    assert fresh.self_points == sub.self_points
    assert fresh.agency_id == user_a.agency_id and fresh.is_consolidation is False


@pytest.mark.django_db
def test_unassigned_item_page_is_404(world, user_a, user_b, client_as):
    # yes_no is led by A only: B has no page for it
    url = reverse("evidence:submission_edit", args=[world.period.pk, world.yes_no.pk])
    assert client_as(user_a).get(url).status_code == 200
    assert client_as(user_b).get(url).status_code == 404
