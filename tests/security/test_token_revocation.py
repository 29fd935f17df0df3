"""A new password ends the user's API tokens, whichever path set it (page, admin, import,
``manage.py changepassword``); a transparent hash upgrade at login is no password change."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from knox.models import AuthToken

from agencies import services as agency_services

PASSWORD = "pass12345"  # noqa: S105 - the factories' password
NEW = "Khanh-Hoa-2026-moi!"

pytestmark = pytest.mark.django_db


def _token(user, password: str = PASSWORD) -> str:
    r = Client().post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": password},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    return r.json()["token"]


def _api_status(token: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/submissions/").status_code


def test_password_change_page_revokes_tokens_keeps_this_session(user_a, user_b):
    token = _token(user_a)
    other = _token(user_b)
    c = Client()
    c.post("/accounts/login/", {"username": user_a.username, "password": PASSWORD})
    r = c.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert r.status_code == 302
    assert _api_status(token) == 401
    assert not AuthToken.objects.filter(user=user_a).exists()
    assert _api_status(other) == 200  # only that user's tokens
    assert c.get("/accounts/profile/").status_code == 200  # the session that changed it stays
    assert _api_status(_token(user_a, NEW)) == 200  # a token with the new password works


def test_refused_password_change_keeps_tokens(user_a):
    token = _token(user_a)
    c = Client()
    c.force_login(user_a)
    r = c.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    assert r.status_code == 200  # the form again, with its error
    assert _api_status(token) == 200


def test_admin_set_password_revokes_tokens(user_a, admin_user, client_as):
    token = _token(user_a)
    r = client_as(admin_user).post(
        f"/admin/agencies/user/{user_a.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    user_a.refresh_from_db()
    assert user_a.check_password(NEW)
    assert _api_status(token) == 401


def test_account_import_with_a_password_revokes_tokens(user_a, user_b, agency_a):
    token = _token(user_a)
    untouched = _token(user_b)
    row = {
        "username": user_a.username,
        "full_name": user_a.full_name,
        "email": "",
        "role": user_a.role,
        "agency": agency_a.code,
        "password": NEW,
    }
    result = agency_services.accounts_import(actor=None, rows=[row])
    assert not result.errors, result.errors
    assert _api_status(token) == 401
    assert _api_status(untouched) == 200


def test_changepassword_command_revokes_tokens(user_a, monkeypatch):
    token = _token(user_a)
    monkeypatch.setattr("getpass.getpass", lambda *a, **kw: NEW)
    call_command("changepassword", user_a.username, stdout=io.StringIO())
    assert _api_status(token) == 401


def test_other_saves_keep_tokens(user_a):
    token = _token(user_a)
    user_a.full_name = "Tên mới"
    user_a.save()
    _token(user_a)  # a later login saves last_login
    assert _api_status(token) == 200


def test_hash_upgrade_at_login_keeps_tokens(user_a, settings):
    """Django re-hashes with the preferred hasher at login: the password is the same."""
    token = _token(user_a)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    before = type(user_a).objects.get(pk=user_a.pk).password
    _token(user_a)
    user_a.refresh_from_db()
    assert user_a.password != before and user_a.password.startswith("pbkdf2_")
    assert _api_status(token) == 200
