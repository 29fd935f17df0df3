"""Session and authentication hardening: CSRF (AU5), session fixation (AU3), idle timeout (AU4),
brute-force lockout with django-axes (AU1), logout kills the session server-side."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

PASSWORD = "pass12345"  # noqa: S105 - the factories' password


def _login(user, client: Client | None = None) -> Client:
    c = client or Client()
    r = c.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    return c


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_form_requires_csrf_token(user_a):
    c = Client(enforce_csrf_checks=True)
    r = c.post("/accounts/login/", {"username": "staff_a", "password": PASSWORD})
    assert r.status_code == 403
    assert "_auth_user_id" not in c.session


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path,data",
    [
        ("/accounts/logout/", {}),
        (
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "Xx-9!long-enough",
                "new_password2": "Xx-9!long-enough",
            },
        ),
        ("/i18n/setlang/", {"language": "en"}),
    ],
)
def test_state_changing_posts_without_token_are_refused(user_a, path, data):
    c = Client(enforce_csrf_checks=True)
    c.force_login(user_a)
    r = c.post(path, data)
    assert r.status_code == 403
    user_a.refresh_from_db()
    assert user_a.check_password(PASSWORD)
    assert c.get("/accounts/profile/").status_code == 200  # still logged in: logout refused


@pytest.mark.django_db
def test_session_authenticated_api_write_needs_csrf(user_a):
    """DRF SessionAuthentication enforces CSRF: a cross-site form cannot drive the API."""
    c = Client(enforce_csrf_checks=True)
    c.force_login(user_a)
    r = c.post("/api/v1/submissions/", {"note": "x"}, content_type="application/json")
    assert r.status_code in (403, 404), r.status_code  # 404 until the route exists
    if r.status_code == 403:
        assert "CSRF" in r.content.decode()


@pytest.mark.django_db
def test_logout_is_post_only(user_a):
    c = _login(user_a)
    assert c.get("/accounts/logout/").status_code == 405
    assert c.get("/accounts/profile/").status_code == 200


# --- Session fixation, logout --------------------------------------------------------------------


@pytest.mark.django_db
def test_session_key_rotates_on_login(user_a):
    c = Client()
    c.get("/accounts/login/")
    s = c.session
    s["planted"] = "attacker"
    s.save()
    planted_key = s.session_key
    c.cookies[settings.SESSION_COOKIE_NAME] = planted_key
    _login(user_a, c)
    new_key = c.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != planted_key
    assert not Session.objects.filter(session_key=planted_key).exists()
    # The attacker's copy of the old cookie is not logged in.
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted_key
    assert attacker.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_logout_deletes_session_server_side(user_a):
    c = _login(user_a)
    key = c.cookies[settings.SESSION_COOKIE_NAME].value
    assert c.post("/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert replay.get("/accounts/profile/").status_code == 302


# --- Idle timeout --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_idle_session_expires_server_side(user_a):
    start = datetime.datetime.now(tz=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        c = _login(user_a)
        assert c.get("/accounts/profile/").status_code == 200
        traveller.shift(datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT - 30))
        assert c.get("/accounts/profile/").status_code == 200  # activity refreshes the clock
        traveller.shift(datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT - 30))
        assert c.get("/accounts/profile/").status_code == 200
        key = c.cookies[settings.SESSION_COOKIE_NAME].value
        traveller.shift(datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 1))
        r = c.get("/accounts/profile/")
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
        assert (
            not Session.objects.filter(session_key=key, expire_date__gt=start)
            .exclude(session_data__contains="_auth_user_id")
            .exists()
            or "_auth_user_id" not in c.session
        )
        assert c.get("/accounts/profile/").status_code == 302


# --- Brute force lockout (django-axes) -----------------------------------------------------------


@pytest.mark.django_db
def test_lockout_after_failures_refuses_even_correct_password(user_a):
    c = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        r = c.post("/accounts/login/", {"username": "staff_a", "password": "wrong-password"})
        assert "_auth_user_id" not in c.session
    r = c.post("/accounts/login/", {"username": "staff_a", "password": PASSWORD})
    assert r.status_code in (403, 429)
    assert "_auth_user_id" not in c.session
    # The API token endpoint is covered by the same lock.
    r = Client().post(
        "/api/v1/auth/token/",
        {"username": "staff_a", "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code in (400, 403, 429)
    assert b'"token"' not in r.content
    # Another account is not locked (lockout is per username: a shared office IP keeps working).
    from axes.utils import reset

    reset(username="staff_a")
    _login(user_a)


@pytest.mark.django_db
def test_lockout_expires_after_cooloff(user_a):
    start = datetime.datetime.now(tz=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        c = Client()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            c.post("/accounts/login/", {"username": "staff_a", "password": "wrong-password"})
        assert (
            c.post("/accounts/login/", {"username": "staff_a", "password": PASSWORD}).status_code
            != 302
        )
        traveller.shift(datetime.timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1))
        _login(user_a, Client())


@pytest.mark.django_db
def test_unknown_user_and_wrong_password_look_the_same(user_a):
    c = Client()
    r1 = c.post("/accounts/login/", {"username": "staff_a", "password": "nope-nope"})
    r2 = c.post("/accounts/login/", {"username": "no_such_user", "password": "nope-nope"})
    assert r1.status_code == r2.status_code == 200
    t = Client().post(
        "/api/v1/auth/token/",
        {"username": "no_such_user", "password": "x"},
        content_type="application/json",
    )
    u = Client().post(
        "/api/v1/auth/token/",
        {"username": "staff_a", "password": "x"},
        content_type="application/json",
    )
    assert t.status_code == u.status_code and t.json() == u.json()
