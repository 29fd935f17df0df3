"""An export file holds what its requester could see when it was made (the province for the
Sở's roles, one agency for its staff). Sessions and API tokens end when a user's agency or role
changes (AC10); an export made before the change must not stay downloadable after it: a
reviewer moved to an agency, or staff moved to another agency, would keep the province's or
the former agency's figures and evidence for the whole retention time."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agencies.models import User
from scoring.exports import services
from scoring.exports.models import ExportJob

pytestmark = pytest.mark.django_db


def _done_job(user, world, kind="excel"):
    job = services.export_job_create(
        user=user, kind=kind, framework=world.framework, period=world.period, enqueue=False
    )
    services.export_job_run(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE, job.error
    return job


def _reachable(client, api, job) -> dict[str, int]:
    return {
        "page": client.get(reverse("scoring:export_job", args=[job.pk])).status_code,
        "download": client.get(reverse("scoring:export_download", args=[job.pk])).status_code,
        "api": api.get(f"/api/v1/exports/{job.pk}/").status_code,
        "api_download": api.get(f"/api/v1/exports/{job.pk}/download/").status_code,
        "api_list": api.get("/api/v1/exports/").json()["count"],
    }


def test_export_of_a_reviewer_moved_to_an_agency_is_gone(world, reviewer, client_as, api_as):
    job = _done_job(reviewer, world)
    before = _reachable(client_as(reviewer), api_as(reviewer), job)
    assert before == {"page": 200, "download": 200, "api": 200, "api_download": 200, "api_list": 1}
    reviewer.role = User.Role.AGENCY_STAFF
    reviewer.agency = world.agencies["a"]
    reviewer.save()
    after = _reachable(client_as(reviewer), api_as(reviewer), job)
    assert after == {"page": 404, "download": 404, "api": 404, "api_download": 404, "api_list": 0}


def test_export_of_staff_moved_to_another_agency_is_gone(world, client_as, api_as):
    staff = world.staff["b"]
    job = _done_job(staff, world, kind="evidence")
    assert _reachable(client_as(staff), api_as(staff), job)["download"] == 200
    staff.agency = world.agencies["a"]
    staff.save()
    after = _reachable(client_as(staff), api_as(staff), job)
    assert after == {"page": 404, "download": 404, "api": 404, "api_download": 404, "api_list": 0}


def test_administrator_still_opens_any_job(world, reviewer, admin_user, client_as):
    job = _done_job(reviewer, world)
    reviewer.role = User.Role.LEADER
    reviewer.save()
    assert (
        client_as(admin_user).get(reverse("scoring:export_download", args=[job.pk])).status_code
        == 200
    )
