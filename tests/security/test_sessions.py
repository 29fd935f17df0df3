"""Session and authentication hardening: CSRF (AU5), session fixation (AU3), idle timeout and
absolute lifetime (AU4), brute-force lockout with django-axes (AU1), logout kills the session
server-side."""

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
def test_session_authenticated_api_write_needs_csrf(user_a, agency_a, agency_b):
    """DRF SessionAuthentication enforces CSRF: a cross-site form cannot drive the API. The
    same write with the page's token goes through, so the refusal is the CSRF check's."""
    from evidence.models import Submission
    from tests.evidence.reporting_factories import make_world

    world = make_world(agency_a, agency_b)
    payload = {
        "indicator": world.ratio.pk,
        "period": world.period.pk,
        "values": {"numerator": "3", "denominator": "4"},
    }
    c = Client(enforce_csrf_checks=True)
    c.force_login(user_a)
    r = c.post("/api/v1/submissions/", payload, content_type="application/json")
    assert r.status_code == 403, r.status_code
    assert "CSRF" in r.json()["detail"]
    assert not Submission.objects.exists()

    c.get("/accounts/profile/")  # a page sets the CSRF cookie, as in the browser
    token = c.cookies[settings.CSRF_COOKIE_NAME].value
    r = c.post(
        "/api/v1/submissions/", payload, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert r.status_code == 201, r.content
    assert Submission.objects.count() == 1


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
        # Ended on the server: the old session row is gone, and its cookie replayed elsewhere
        # (a copy taken before the timeout) is not logged in.
        assert not Session.objects.filter(session_key=key).exists()
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = key
        assert replay.get("/accounts/profile/").status_code == 302
        assert "_auth_user_id" not in c.session
        assert c.get("/accounts/profile/").status_code == 302


# --- Absolute lifetime ---------------------------------------------------------------------------


def _click_every(traveller, c: Client, minutes: int, until_seconds: int) -> list[int]:
    """Opens the profile page every ``minutes`` (never idle) until ``until_seconds`` passed."""
    codes = []
    for _ in range(until_seconds // (minutes * 60)):
        traveller.shift(datetime.timedelta(minutes=minutes))
        codes.append(c.get("/accounts/profile/").status_code)
    return codes


@pytest.mark.django_db
def test_active_session_ends_after_the_absolute_lifetime(user_a):
    """A click every 10 minutes keeps the session from going idle, yet it ends
    SESSION_ABSOLUTE_SECONDS after the login, with the idle timeout's message and redirect."""
    start = datetime.datetime.now(tz=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        c = _login(user_a)
        key = c.cookies[settings.SESSION_COOKIE_NAME].value
        codes = _click_every(traveller, c, 10, settings.SESSION_ABSOLUTE_SECONDS - 60)
        assert set(codes) == {200}  # alive until the very end of the lifetime
        traveller.shift(datetime.timedelta(minutes=11))
        r = c.get("/accounts/profile/")
        assert r.status_code == 302
        assert r["Location"] == "/accounts/login/?next=/accounts/profile/"
        page = c.get(r["Location"]).content.decode()
        assert "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại." in page
        assert not Session.objects.filter(session_key=key).exists()
        assert c.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_absolute_lifetime_counts_from_the_latest_login(user_a, settings):
    """Logging in again (same user, same session: Django keeps the session's data, as the admin
    login page does) starts a new lifetime; the setting is read at each request."""
    settings.SESSION_ABSOLUTE_SECONDS = 3600
    start = datetime.datetime.now(tz=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        c = _login(user_a)
        assert set(_click_every(traveller, c, 10, 3000)) == {200}  # 50 min
        c.force_login(user_a)
        assert set(_click_every(traveller, c, 10, 3000)) == {200}  # 100 min since the first
        traveller.shift(datetime.timedelta(minutes=15))
        assert c.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_absolute_lifetime_also_ends_session_api_access(user_a, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 1800
    start = datetime.datetime.now(tz=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        c = _login(user_a)
        assert c.get("/api/v1/submissions/").status_code == 200
        _click_every(traveller, c, 10, 1800)
        traveller.shift(datetime.timedelta(minutes=1))
        assert c.get("/api/v1/submissions/").status_code == 401
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
