"""The API answers its errors in JSON: a lockout (429) on the token route and an unhandled
error (500, with an incident id that is logged with the exception); pages show the id too."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

PASSWORD = "pass12345"  # noqa: S105 - the factories' password

pytestmark = pytest.mark.django_db


def _token_login(username: str, password: str):
    return Client().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )


def test_lockout_on_the_token_route_is_json(user_a):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token_login(user_a.username, "wrong-password")
    r = _token_login(user_a.username, PASSWORD)
    assert r.status_code == 429
    assert r["Content-Type"] == "application/json"
    body = r.json()
    assert body["code"] == "locked" and "sai mật khẩu quá số lần" in body["detail"]
    assert "token" not in body
    assert int(r["Retry-After"]) == int(settings.AXES_COOLOFF_TIME * 3600)


def test_lockout_on_the_login_page_is_still_the_page(user_a):
    c = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        c.post("/accounts/login/", {"username": user_a.username, "password": "wrong"})
    r = c.post("/accounts/login/", {"username": user_a.username, "password": PASSWORD})
    assert r.status_code == 429 and r["Content-Type"].startswith("text/html")
    assert "tạm thời bị khóa" in r.content.decode()


def test_throttled_token_route_is_json():
    """DRF's own throttle answer (AUTH_THROTTLE_RATE, 20/min) is JSON already."""
    codes = [_token_login(f"u{i}", "x").status_code for i in range(21)]
    assert codes == [400] * 20 + [429]
    r = _token_login("u99", "x")
    assert r.status_code == 429 and r["Content-Type"] == "application/json"
    assert r.json()["detail"] and int(r["Retry-After"]) > 0


@pytest.fixture
def broken_api(monkeypatch):
    """The submissions list fails with an error no handler knows."""
    from evidence import selectors

    def boom(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(selectors, "submission_list", boom)


def _incident_logged(caplog, incident: str) -> logging.LogRecord:
    records = [r for r in caplog.records if incident in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info and "database exploded" in str(records[0].exc_info[1])
    return records[0]


def test_unhandled_api_error_is_json_with_an_incident(user_a, broken_api, caplog):
    token = _token_login(user_a.username, PASSWORD).json()["token"]
    api = Client(HTTP_AUTHORIZATION=f"Token {token}", raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        r = api.get(reverse("api:submission-list"))
    assert r.status_code == 500
    assert r["Content-Type"] == "application/json"
    body = r.json()
    assert body["detail"] == "Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau."
    assert set(body) == {"detail", "incident"}
    assert "database exploded" not in r.content.decode()
    _incident_logged(caplog, body["incident"])


def test_unhandled_page_error_shows_the_incident(user_a, caplog, monkeypatch):
    from evidence import selectors

    def boom(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(selectors, "home_context", boom)
    c = Client(raise_request_exception=False)
    c.force_login(user_a)
    with caplog.at_level(logging.ERROR):
        r = c.get("/")
    assert r.status_code == 500 and r["Content-Type"].startswith("text/html")
    page = r.content.decode()
    assert "Đã xảy ra lỗi hệ thống" in page and "database exploded" not in page
    records = [rec for rec in caplog.records if "incident" in rec.getMessage()]
    assert len(records) == 1
    incident = records[0].getMessage().split("incident ", 1)[1].split()[0]
    assert f"<code>{incident}</code>" in page
    _incident_logged(caplog, incident)


def test_incidents_differ(user_a, broken_api):
    token = _token_login(user_a.username, PASSWORD).json()["token"]
    api = Client(HTTP_AUTHORIZATION=f"Token {token}", raise_request_exception=False)
    ids = {api.get(reverse("api:submission-list")).json()["incident"] for _ in range(3)}
    assert len(ids) == 3
