"""Review API: the full lifecycle, stale versions, and the persona matrix over every route."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from evidence.models import Notification, Submission, SubmissionTransition
from evidence.services import submission_approve, submission_submit
from tests.evidence.review_setup import make_item

S = Submission.State
pytestmark = pytest.mark.django_db


def url(sub, action):
    return f"/api/v1/submissions/{sub.pk}/{action}/"


@pytest.fixture
def item(agency_a, agency_b):
    return make_item(agency_a, agency_b)


def test_full_lifecycle_api(
    item, user_a, user_b, reviewer, api_as, django_capture_on_commit_callbacks
):
    a, b, r = api_as(user_a), api_as(user_b), api_as(reviewer)
    cons, contrib = item.consolidation, item.contribution

    with django_capture_on_commit_callbacks(execute=True):
        res = b.post(url(contrib, "submit"), {"version": 1})
    assert res.status_code == 200, res.json()
    assert res.json()["state"] == S.SUBMITTED_TO_LEAD and res.json()["version"] == 2
    assert mail.outbox and mail.outbox[0].to == [user_a.email]

    res = a.post(url(cons, "submit"), {"version": 1})
    assert res.status_code == 200 and res.json()["state"] == S.SUBMITTED

    # return needs a reason
    res = r.post(url(cons, "return"), {"version": 2})
    assert res.status_code == 400 and "reason" in res.json()
    res = r.post(
        url(cons, "return"),
        {"version": 2, "reason_code": "so_lieu_khong_khop", "reason": "Số liệu lệch với thống kê"},
    )
    assert res.status_code == 200 and res.json()["state"] == S.RETURNED

    # the lead corrects (PATCH with the version it saw) and resubmits
    res = a.patch(f"/api/v1/submissions/{cons.pk}/", {"version": 3, "note": "Đã đối chiếu lại"})
    assert res.status_code == 200, res.json()
    version = res.json()["version"]
    res = a.post(url(cons, "submit"), {"version": version})
    assert res.status_code == 200 and res.json()["state"] == S.SUBMITTED
    version = res.json()["version"]

    # approve with different points: a reason is required
    res = r.post(url(cons, "approve"), {"version": version, "appraised_points": "6.5"})
    assert res.status_code == 400 and "reason" in res.json()
    res = r.post(
        url(cons, "approve"),
        {"version": version, "appraised_points": "6.5", "reason": "Thiếu văn bản của 2 xã"},
    )
    assert res.status_code == 200, res.json()
    body = res.json()
    assert body["state"] == S.APPROVED and Decimal(body["appraised_points"]) == Decimal("6.5")

    res = a.get(url(cons, "history"))
    assert res.status_code == 200
    entries = [e for e in res.json()["results"] if e["kind"] == "transition"]
    assert [(e["action"], e["actor"], e["from_state"], e["to_state"]) for e in entries] == [
        ("submit", str(user_a), "draft", "submitted"),
        ("return", str(reviewer), "submitted", "returned"),
        ("resubmit", str(user_a), "returned", "submitted"),
        ("approve", str(reviewer), "submitted", "approved"),
    ]
    assert entries[1]["reason_code"] == "so_lieu_khong_khop"
    assert entries[1]["reason"] == "Số liệu lệch với thống kê"
    assert entries[3]["reason"] == "Thiếu văn bản của 2 xã"
    assert entries[3]["data"]["appraised_points"] == "6.5000"
    assert all(e["at"] for e in entries)
    changes = [e for e in res.json()["results"] if e["kind"] == "change"]
    assert any(c["field"] == "note" for e in changes for c in e["changes"])


def test_stale_version_is_409_and_changes_nothing(item, user_a, reviewer, api_as):
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    res = api_as(reviewer).post(url(cons, "approve"), {"version": 1})
    assert res.status_code == 409 and res.json()["code"] == "stale_version"
    cons.refresh_from_db()
    assert cons.state == S.SUBMITTED
    assert SubmissionTransition.objects.filter(action="approve").count() == 0
    # without a version the current state decides
    assert api_as(reviewer).post(url(cons, "approve"), {}).status_code == 200
    assert api_as(reviewer).post(url(cons, "approve"), {}).status_code == 409


def test_reopen_and_final_api(item, user_a, reviewer, api_as):
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    cons = submission_approve(submission=cons, actor=reviewer, version=None)
    r = api_as(reviewer)
    res = r.post(url(cons, "final"), {"final_points": "9", "reason": "Hội đồng điều chỉnh"})
    assert res.status_code == 200 and Decimal(res.json()["final_points"]) == Decimal("9")
    assert r.post(url(cons, "reopen"), {}).status_code == 400
    res = r.post(url(cons, "reopen"), {"reason": "Sai số liệu mẫu số"})
    assert res.status_code == 200 and res.json()["state"] == S.RETURNED
    assert Notification.objects.filter(recipient=user_a, kind="reopened").exists()


# --- persona matrix ---------------------------------------------------------------------------

SUBMITTED = "submitted"
APPROVED = "approved"
DRAFT = "draft"


def _prepare(item, state, user_a, reviewer):
    cons = item.consolidation
    if state in (SUBMITTED, APPROVED):
        cons = submission_submit(submission=cons, actor=user_a, version=1)
    if state == APPROVED:
        cons = submission_approve(submission=cons, actor=reviewer, version=None)
    return cons


# (method, route, body, state before, {persona: expected status})
MATRIX = [
    (
        "post",
        "submit",
        {},
        DRAFT,
        # a draft is the agency's own: the province roles do not see it (AC11)
        {"a": 200, "b": 404, "reviewer": 404, "leader": 404, "admin": 404, "anon": 401},
    ),
    (
        "post",
        "start-review",
        {},
        SUBMITTED,
        {"a": 403, "b": 404, "reviewer": 200, "leader": 403, "admin": 200, "anon": 401},
    ),
    (
        "post",
        "approve",
        {},
        SUBMITTED,
        {"a": 403, "b": 404, "reviewer": 200, "leader": 403, "admin": 200, "anon": 401},
    ),
    (
        "post",
        "return",
        {"reason_code": "khac", "reason": "x"},
        SUBMITTED,
        {"a": 403, "b": 404, "reviewer": 200, "leader": 403, "admin": 200, "anon": 401},
    ),
    (
        "post",
        "reopen",
        {"reason": "x"},
        APPROVED,
        {"a": 403, "b": 404, "reviewer": 200, "leader": 403, "admin": 200, "anon": 401},
    ),
    (
        "post",
        "final",
        {"final_points": "10"},
        APPROVED,
        {"a": 403, "b": 404, "reviewer": 200, "leader": 403, "admin": 200, "anon": 401},
    ),
    (
        "get",
        "history",
        None,
        SUBMITTED,
        {"a": 200, "b": 404, "reviewer": 200, "leader": 200, "admin": 200, "anon": 401},
    ),
]


@pytest.mark.parametrize(
    "method,route,body,state,persona,expected",
    [
        (m, r, body, st, p, code)
        for m, r, body, st, expected in MATRIX
        for p, code in expected.items()
    ],
)
def test_persona_matrix_api(
    method, route, body, state, persona, expected, item, personas, api_as, user_a, reviewer
):
    cons = _prepare(item, state, user_a, reviewer)
    before = (cons.state, cons.version, SubmissionTransition.objects.count())
    client = api_as(None if persona == "anon" else personas[persona])
    res = getattr(client, method)(url(cons, route), body)
    assert res.status_code == expected, (route, persona, res.content)
    if expected != 200 or method == "get":
        cons.refresh_from_db()
        assert (cons.state, cons.version, SubmissionTransition.objects.count()) == before


@pytest.mark.parametrize(
    "persona,sent,expected",
    [
        ("reviewer", False, 404),  # a draft is hidden from the province roles (AC11)
        ("leader", False, 404),
        ("reviewer", True, 403),  # once sent: seen, never edited by them
        ("leader", True, 403),
        ("b", False, 404),
        ("b", True, 404),
    ],
)
def test_reviewer_and_leader_cannot_edit_agency_values(
    persona, sent, expected, item, personas, api_as, user_a
):
    cons = item.consolidation
    if sent:
        cons = submission_submit(submission=cons, actor=user_a, version=1)
    res = api_as(personas[persona]).patch(
        f"/api/v1/submissions/{cons.pk}/", {"version": cons.version, "values": {"done": "0"}}
    )
    assert res.status_code == expected
    before = cons.version
    cons.refresh_from_db()
    assert cons.values == {"done": "1"} and cons.version == before


def test_lead_returns_contribution_api(item, user_a, user_b, api_as):
    contrib = submission_submit(submission=item.contribution, actor=user_b, version=1)
    res = api_as(user_a).post(
        url(contrib, "return"), {"reason_code": "thieu_minh_chung", "reason": "Thiếu quyết định"}
    )
    assert res.status_code == 200 and res.json()["state"] == S.RETURNED
    # the coordinator cannot approve its own contribution, nor can the lead
    assert api_as(user_a).post(url(contrib, "approve"), {}).status_code == 403


def test_no_write_routes_for_history(item, api_as, admin_user):
    client = api_as(admin_user)
    for method in ("put", "patch", "delete", "post"):
        res = getattr(client, method)(url(item.consolidation, "history"), {})
        assert res.status_code == 405


def test_schema_documents_review_routes(api_as, admin_user):
    res = api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert res.status_code == 200
    paths = res.json()["paths"]
    for action in ("submit", "approve", "return", "reopen", "history"):
        assert f"/api/v1/submissions/{{id}}/{action}/" in paths or any(
            p.endswith(f"/{action}/") and "submissions" in p for p in paths
        )
