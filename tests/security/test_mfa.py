"""MFA (TOTP) for reviewers and administrators; sessions end when agency/role change (AU7, AC10)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import User

PASSWORD = "pass12345"  # noqa: S105 - the factories' password


@pytest.fixture
def mfa_on(settings):
    settings.DTI_MFA_REQUIRED = True
    return settings


def _code(device: TOTPDevice, drift: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):0{device.digits}d}"


def _login(user) -> Client:
    c = Client()
    r = c.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 302, r.content[:500]
    return c


@pytest.mark.django_db
def test_reviewer_must_enrol_then_reaches_pages(mfa_on, reviewer):
    c = _login(reviewer)
    r = c.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/agencies/mfa/setup/")
    r = c.get("/agencies/mfa/setup/")
    assert r.status_code == 200
    device = TOTPDevice.objects.get(user=reviewer, confirmed=False)
    assert "otpauth://totp/" in r.content.decode()
    r = c.post(
        "/agencies/mfa/setup/", {"token": "000000" if _code(device) != "000000" else "111111"}
    )
    assert r.status_code == 200 and not TOTPDevice.objects.filter(confirmed=True).exists()
    # OTP brute force: right after a failure the device is throttled, even for the right code.
    r = c.post("/agencies/mfa/setup/", {"token": _code(device)})
    assert r.status_code == 200
    device.refresh_from_db()
    device.throttle_reset()
    r = c.post("/agencies/mfa/setup/", {"token": _code(device), "next": "/accounts/profile/"})
    # The answer shows the new backup codes once, then goes on to ``next``.
    assert r.status_code == 200 and 'href="/accounts/profile/"' in r.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    assert c.get("/accounts/profile/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", [User.Role.REVIEWER, User.Role.ADMIN])
def test_enrolled_user_must_verify_after_password(mfa_on, role, admin_user, reviewer):
    user = reviewer if role == User.Role.REVIEWER else admin_user
    device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    c = _login(user)
    for path in ("/", "/accounts/profile/", "/admin/"):
        r = c.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/agencies/mfa/verify/"), path
    # Session-authenticated API calls are refused too (no bypass through the API).
    assert c.get("/api/v1/frameworks/").status_code in (403, 404)
    r = c.post("/agencies/mfa/verify/", {"token": "12345x"})
    assert r.status_code == 200
    r = c.post("/agencies/mfa/verify/", {"token": "000000" if _code(device) != "000000" else "1"})
    assert r.status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    device.throttle_reset()
    r = c.post("/agencies/mfa/verify/", {"token": _code(device), "next": "/accounts/profile/"})
    assert r.status_code == 302 and r["Location"] == "/accounts/profile/"
    assert c.get("/accounts/profile/").status_code == 200


@pytest.mark.django_db
def test_verify_rejects_open_redirect(mfa_on, reviewer):
    device = TOTPDevice.objects.create(user=reviewer, name="TOTP", confirmed=True)
    c = _login(reviewer)
    r = c.post("/agencies/mfa/verify/", {"token": _code(device), "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/"


@pytest.mark.django_db
def test_agency_staff_and_leader_need_no_mfa(mfa_on, user_a, leader):
    for user in (user_a, leader):
        c = _login(user)
        assert c.get("/accounts/profile/").status_code == 200


@pytest.mark.django_db
def test_mfa_off_by_default_in_tests(reviewer):
    c = _login(reviewer)
    assert c.get("/accounts/profile/").status_code == 200


@pytest.mark.django_db
def test_api_token_requires_otp_for_reviewer(mfa_on, reviewer, user_a):
    c = Client()
    url = "/api/v1/auth/token/"
    # Not enrolled: no token at all.
    r = c.post(url, {"username": "reviewer", "password": PASSWORD}, content_type="application/json")
    assert r.status_code == 403 and "token" not in r.json()
    device = TOTPDevice.objects.create(user=reviewer, name="TOTP", confirmed=True)
    r = c.post(url, {"username": "reviewer", "password": PASSWORD}, content_type="application/json")
    assert r.status_code == 403
    r = c.post(
        url,
        {"username": "reviewer", "password": PASSWORD, "otp": "000001"},
        content_type="application/json",
    )
    assert r.status_code == 403
    device.refresh_from_db()
    device.throttle_reset()
    r = c.post(
        url,
        {"username": "reviewer", "password": PASSWORD, "otp": _code(device)},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["token"]
    # Agency staff get a token with the password alone.
    r = c.post(url, {"username": "staff_a", "password": PASSWORD}, content_type="application/json")
    assert r.status_code == 200


@pytest.mark.django_db
def test_moving_user_to_other_agency_ends_sessions_and_tokens(user_a, agency_b):
    c = _login(user_a)
    assert c.get("/accounts/profile/").status_code == 200
    tok = Client().post(
        "/api/v1/auth/token/",
        {"username": "staff_a", "password": PASSWORD},
        content_type="application/json",
    )
    token = tok.json()["token"]
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/auth/logout/").status_code == 405  # authenticated, wrong method
    user_a.agency = agency_b
    user_a.save()
    r = c.get("/accounts/profile/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert c.get("/accounts/profile/").status_code == 302  # the session is gone for good
    assert api.post("/api/v1/auth/logout/").status_code == 401


@pytest.mark.django_db
def test_role_change_ends_session(user_a):
    c = _login(user_a)
    assert c.get("/accounts/profile/").status_code == 200
    user_a.role = User.Role.LEADER
    user_a.save()
    assert c.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_deactivated_user_loses_session_and_token(user_a):
    c = _login(user_a)
    token = (
        Client()
        .post(
            "/api/v1/auth/token/",
            {"username": "staff_a", "password": PASSWORD},
            content_type="application/json",
        )
        .json()["token"]
    )
    user_a.is_active = False
    user_a.save()
    assert c.get("/accounts/profile/").status_code == 302
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post("/api/v1/auth/logout/").status_code == 401


@pytest.mark.django_db
def test_enrolment_key_is_never_shown_to_another_session(mfa_on, reviewer):
    """The key being enrolled belongs to the session that asked for it. Someone holding only
    the password of a reviewer who has not enrolled yet used to open the setup page first and
    get the very key the reviewer was then shown and confirmed (the latest unconfirmed device
    of the user, whoever created it): password + that key is the second factor too."""
    attacker, owner = _login(reviewer), _login(reviewer)
    assert attacker.get("/agencies/mfa/setup/").status_code == 200
    seen_by_attacker = TOTPDevice.objects.get(user=reviewer, confirmed=False)
    assert owner.get("/agencies/mfa/setup/").status_code == 200
    owners = TOTPDevice.objects.filter(user=reviewer, confirmed=False).exclude(
        pk=seen_by_attacker.pk
    )
    assert owners.count() == 1, "the owner's page showed the attacker's key"
    device = owners.get()
    assert device.key != seen_by_attacker.key
    # Reloading the page keeps the session's key (the QR code already scanned stays valid).
    assert owner.get("/agencies/mfa/setup/").status_code == 200
    assert TOTPDevice.objects.filter(user=reviewer, confirmed=False).count() == 2
    r = owner.post("/agencies/mfa/setup/", {"token": _code(device)})
    assert r.status_code == 200
    assert list(TOTPDevice.objects.filter(user=reviewer).values_list("pk", "confirmed")) == [
        (device.pk, True)
    ]
    # The attacker's pending key is gone: its code enrols nothing, its session is not verified.
    r = attacker.post("/agencies/mfa/setup/", {"token": _code(seen_by_attacker)})
    assert r.status_code == 302 and r["Location"].startswith("/agencies/mfa/verify/")
    assert attacker.get("/").status_code == 302
