"""A draft framework's scores are not found for roles that may not see drafts (leaders, agency
staff): 404 on the score pages, the score APIs and the exports, as on the frameworks API.
Reviewers and administrators still see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from indicators.models import Framework
from scoring.exports.models import ExportJob

from .dash_helpers import q

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft_world(world):
    Framework.objects.filter(pk=world.framework.pk).update(status=Framework.Status.DRAFT)
    return world


def _hidden_from(user, w, client_as, api_as):
    c = client_as(user)
    for name in ("dashboard", "league", "exports"):
        assert c.get(reverse(f"scoring:{name}") + q(w)).status_code == 404, name
    assert c.get(reverse("scoring:main_index", args=["1"]) + q(w)).status_code == 404
    assert c.get(reverse("scoring:sub_indicator", args=["1.1"]) + q(w)).status_code == 404
    api = api_as(user)
    params = {"framework": w.framework.code, "period": w.period.pk}
    assert api.get("/api/v1/scores/summary/", params).status_code == 404
    for route in ("dashboard", "league"):
        assert api.get(f"/api/v1/scores/{route}/", params).status_code == 404, route
    # No export, neither through the page nor through the API.
    assert c.post(reverse("scoring:exports") + q(w), {"kind": "excel"}).status_code == 404
    r = api.post("/api/v1/exports/", {"kind": "excel", **params}, format="json")
    assert r.status_code == 404
    assert not ExportJob.objects.filter(requested_by=user).exists()


def test_leader_does_not_see_a_draft_frameworks_scores(draft_world, client_as, api_as, leader):
    _hidden_from(leader, draft_world, client_as, api_as)
    # The what-if and national pages and APIs (province roles only; agency staff get 403 before
    # any lookup).
    for name in ("whatif", "national"):
        assert client_as(leader).get(reverse(f"scoring:{name}") + q(draft_world)).status_code == 404
    params = {"framework": draft_world.framework.code, "period": draft_world.period.pk}
    assert api_as(leader).get("/api/v1/scores/national/", params).status_code == 404
    r = api_as(leader).post(
        "/api/v1/scores/what-if/",
        {"framework": draft_world.framework.code, "period": draft_world.period.pk, "overrides": {}},
        format="json",
    )
    assert r.status_code == 404, r.content


def test_agency_staff_do_not_see_a_draft_frameworks_scores(draft_world, client_as, api_as):
    _hidden_from(draft_world.staff["a"], draft_world, client_as, api_as)


@pytest.mark.parametrize("role", ["reviewer", "admin_user"])
def test_reviewers_and_admins_still_see_a_draft_frameworks_scores(
    role, draft_world, client_as, api_as, request
):
    user = request.getfixturevalue(role)
    w = draft_world
    c = client_as(user)
    for name in ("dashboard", "league", "exports"):
        assert c.get(reverse(f"scoring:{name}") + q(w)).status_code == 200, name
    params = {"framework": w.framework.code, "period": w.period.pk}
    api = api_as(user)
    resp = api.get("/api/v1/scores/summary/", params)
    assert resp.status_code == 200 and resp.json()["framework"] == w.framework.code
    assert api.get("/api/v1/scores/dashboard/", params).status_code == 200
    r = api.post("/api/v1/exports/", {"kind": "excel", **params}, format="json")
    assert r.status_code == 202, r.content


def test_the_default_framework_skips_a_draft_for_a_leader(draft_world, client_as, leader):
    """Without ``?framework=``, a leader is not shown a draft either (nothing else: no data)."""
    resp = client_as(leader).get(reverse("scoring:dashboard"))
    assert resp.status_code == 200
    assert draft_world.framework.name not in resp.content.decode()
