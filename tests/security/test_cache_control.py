"""What a logged-in user receives is never stored by a browser or proxy cache: pages, the API
and downloads get ``Cache-Control: private, no-store`` unless the view chose its own."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from dti_portal.middleware import PrivateCacheMiddleware
from evidence import services
from evidence.models import EvidenceFile
from tests.evidence.reporting_factories import make_world, pdf_bytes
from tests.factories import SubmissionFactory


@pytest.fixture
def world(agency_a, agency_b):
    """A framework, a reporting period and agency A's indicator (files go to the test media)."""
    return make_world(agency_a, agency_b)


def _no_store(response) -> bool:
    parts = {p.strip() for p in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= parts


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/reporting/", "/accounts/profile/"])
def test_pages_of_a_logged_in_user_are_not_stored(user_a, client_as, path, world):
    r = client_as(user_a).get(path)
    assert r.status_code == 200 and _no_store(r)


@pytest.mark.django_db
def test_api_answers_are_not_stored_for_token_and_session(user_a, client_as, world):
    from django.test import Client

    token = Client().post(
        "/api/v1/auth/token/",
        {"username": user_a.username, "password": "pass12345"},
        content_type="application/json",
    )
    assert _no_store(token)  # the token itself
    api = Client(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    r = api.get("/api/v1/submissions/")
    assert r.status_code == 200 and _no_store(r)
    r = client_as(user_a).get(reverse("api:period-detail", args=[world.period.pk]))
    assert r.status_code == 200 and _no_store(r)


@pytest.mark.django_db
def test_downloads_are_not_stored(user_a, client_as, api_as, world):
    draft = SubmissionFactory(indicator=world.ratio, agency=user_a.agency, period=world.period)
    services.evidence_add_file(
        submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
    )
    ev = EvidenceFile.objects.get()
    c = client_as(user_a)
    for url in (
        reverse("evidence:evidence_download", args=[ev.pk]),
        reverse("evidence:workbook_download", args=[world.period.pk]),
    ):
        r = c.get(url)
        assert r.status_code == 200 and _no_store(r), url
    assert _no_store(api_as(user_a).get(reverse("api:evidence-download", args=[ev.pk])))


@pytest.mark.django_db
def test_anonymous_pages_keep_their_caching(client):
    """Only logged-in answers are marked; the login page keeps Django's own never_cache."""
    r = client.get("/accounts/login/")
    assert "no-store" in r["Cache-Control"] and "private" in r["Cache-Control"]
    assert "Cache-Control" not in client.get("/i18n/setlang/")


class _User:
    is_authenticated = True


@pytest.mark.parametrize(
    "path,own,expected",
    [
        ("/reporting/", None, "private, no-store"),
        ("/reporting/", "max-age=60", "max-age=60"),  # the view's choice wins
        ("/static/css/portal.css", None, None),  # public static files untouched
    ],
)
def test_middleware_respects_the_views_choice_and_static_files(path, own, expected):
    def view(request):
        response = HttpResponse("ok")
        if own:
            response["Cache-Control"] = own
        return response

    request = RequestFactory().get(path)
    request.user = _User()  # type: ignore[assignment]
    response = PrivateCacheMiddleware(view)(request)
    assert response.get("Cache-Control") == expected
