"""MFA backup codes (django-otp static tokens): created at enrolment and shown once, single use on
the verification page and the API token login, regenerated from the account page; the
administrator's MFA reset; every change audited, never with the codes."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from agencies.models import AuditEvent
from agencies.services import (
    BACKUP_CODE_COUNT,
    user_backup_codes_regenerate,
    user_mfa_enrol,
    user_mfa_reset,
)
from dti_portal.errors import NotAllowed
from tests.security.test_crawl import Crawl, check_page, parse
from tests.security.test_mfa import PASSWORD, _code, _login

CODE_RE = re.compile(r"<code>([a-z2-7]{8})</code>")


@pytest.fixture
def mfa_on(settings):
    settings.DTI_MFA_REQUIRED = True
    return settings


def _codes_of(user) -> set[str]:
    return set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))


def _enrolled(user) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    return device, user_mfa_enrol(user=user, device=device)


def _assert_no_codes_in_audit(codes) -> None:
    rows = json.dumps(list(AuditEvent.objects.values()), default=str)
    for code in codes:
        assert code not in rows


def _check_page(client: Client, url: str, response) -> None:
    crawl = Crawl("reviewer", home_title="")
    check_page(crawl, url, parse(response.content.decode()), "vi")
    assert not crawl.problems, "\n".join(crawl.problems)


@pytest.mark.django_db
def test_enrolment_creates_ten_codes_shown_once(mfa_on, reviewer):
    c = _login(reviewer)
    c.get("/agencies/mfa/setup/")
    device = TOTPDevice.objects.get(user=reviewer, confirmed=False)
    r = c.post("/agencies/mfa/setup/", {"token": _code(device), "next": "/accounts/profile/"})
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"]
    html = r.content.decode()
    shown = CODE_RE.findall(html)
    assert len(shown) == BACKUP_CODE_COUNT == len(set(shown))
    assert set(shown) == _codes_of(reviewer)
    assert "chỉ dùng được một lần" in html and "chỉ hiển thị một lần" in html
    _check_page(c, "/agencies/mfa/setup/", r)
    static = StaticDevice.objects.get(user=reviewer)
    assert static.confirmed
    # Shown once: no page shows them again (the account and backup codes pages give the count).
    for url in ("/accounts/profile/", "/agencies/mfa/backup-codes/"):
        page = c.get(url)
        assert page.status_code == 200
        assert not set(CODE_RE.findall(page.content.decode())) & set(shown)
        assert str(BACKUP_CODE_COUNT) in page.content.decode()
    event = AuditEvent.objects.get(action="user.mfa_enrol")
    assert event.actor == reviewer and event.object_id == str(reviewer.pk)
    assert event.data == {"backup_codes": BACKUP_CODE_COUNT}
    _assert_no_codes_in_audit(shown)


@pytest.mark.django_db
def test_verify_with_backup_code_consumes_it(mfa_on, reviewer):
    _device, codes = _enrolled(reviewer)
    c = _login(reviewer)
    r = c.get("/agencies/mfa/verify/")
    assert "mã dự phòng" in r.content.decode()
    # Typed in capitals with a space: still the code.
    typed = f"{codes[0][:4].upper()} {codes[0][4:]}"
    r = c.post("/agencies/mfa/verify/", {"token": typed, "next": "/accounts/profile/"})
    assert r.status_code == 302 and r["Location"] == "/accounts/profile/"
    assert c.get("/accounts/profile/").status_code == 200
    assert codes[0] not in _codes_of(reviewer)
    assert len(_codes_of(reviewer)) == BACKUP_CODE_COUNT - 1
    event = AuditEvent.objects.get(action="user.backup_code_used")
    assert event.data == {"left": BACKUP_CODE_COUNT - 1}
    _assert_no_codes_in_audit(codes)
    # Single use: the same code does not verify a new session.
    StaticDevice.objects.get(user=reviewer).throttle_reset()
    c2 = _login(reviewer)
    r = c2.post("/agencies/mfa/verify/", {"token": codes[0]})
    assert r.status_code == 200
    assert c2.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_api_token_login_with_backup_code(mfa_on, reviewer):
    _device, codes = _enrolled(reviewer)
    url = "/api/v1/auth/token/"
    body = {"username": "reviewer", "password": PASSWORD, "otp": codes[1]}
    r = Client().post(url, body, content_type="application/json")
    assert r.status_code == 200 and r.json()["token"]
    assert codes[1] not in _codes_of(reviewer)
    StaticDevice.objects.get(user=reviewer).throttle_reset()
    TOTPDevice.objects.get(user=reviewer).throttle_reset()
    r = Client().post(url, body, content_type="application/json")
    assert r.status_code == 403 and r.json()["code"] == "mfa_required"
    assert AuditEvent.objects.filter(action="user.backup_code_used").count() == 1
    _assert_no_codes_in_audit(codes)


@pytest.mark.django_db
def test_regenerate_replaces_codes_and_needs_verified_session(mfa_on, reviewer):
    device, old = _enrolled(reviewer)
    c = _login(reviewer)
    # Not verified yet: the page says so, and a POST generates nothing.
    r = c.get("/agencies/mfa/backup-codes/")
    assert r.status_code == 200 and "Tạo bộ mã dự phòng mới" not in r.content.decode()
    r = c.post("/agencies/mfa/backup-codes/")
    assert r.status_code == 302 and r["Location"].startswith("/agencies/mfa/verify/")
    assert _codes_of(reviewer) == set(old)
    c.post("/agencies/mfa/verify/", {"token": _code(device)})
    r = c.get("/agencies/mfa/backup-codes/")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    _check_page(c, "/agencies/mfa/backup-codes/", r)
    r = c.post("/agencies/mfa/backup-codes/")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    _check_page(c, "/agencies/mfa/backup-codes/", r)
    new = CODE_RE.findall(r.content.decode())
    assert len(new) == BACKUP_CODE_COUNT
    assert _codes_of(reviewer) == set(new) and not set(new) & set(old)
    assert StaticDevice.objects.filter(user=reviewer).count() == 1
    event = AuditEvent.objects.get(action="user.backup_codes_regenerate")
    assert event.actor == reviewer and event.data == {"backup_codes": BACKUP_CODE_COUNT}
    _assert_no_codes_in_audit(old + new)
    # An old code no longer verifies.
    c2 = _login(reviewer)
    assert c2.post("/agencies/mfa/verify/", {"token": old[0]}).status_code == 200
    assert c2.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_account_page_links_backup_codes(reviewer, user_a, client_as):
    r = client_as(reviewer).get("/accounts/profile/")
    assert "/agencies/mfa/backup-codes/" in r.content.decode()
    assert "/agencies/mfa/setup/" in r.content.decode()  # not enrolled yet
    # Agency staff do not use MFA: no section.
    assert "/agencies/mfa/" not in client_as(user_a).get("/accounts/profile/").content.decode()


@pytest.mark.django_db
def test_regenerate_refused_without_totp_device(reviewer):
    with pytest.raises(NotAllowed):
        user_backup_codes_regenerate(user=reviewer)
    assert not StaticDevice.objects.exists()


@pytest.mark.django_db
def test_admin_reset_is_audited_and_ends_sessions(mfa_on, reviewer, admin_user):
    device, codes = _enrolled(reviewer)
    c = _login(reviewer)
    c.post("/agencies/mfa/verify/", {"token": _code(device)})
    assert c.get("/accounts/profile/").status_code == 200
    admin = Client()
    admin.force_login(admin_user)
    # The admin session must be MFA-verified too: a test device for the administrator.
    admin_device = TOTPDevice.objects.create(user=admin_user, name="TOTP", confirmed=True)
    admin.post("/agencies/mfa/verify/", {"token": _code(admin_device)})
    r = admin.post(
        "/admin/agencies/user/",
        {"action": "reset_mfa", "_selected_action": [reviewer.pk]},
    )
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    assert not StaticDevice.objects.filter(user=reviewer).exists()
    assert not StaticToken.objects.filter(device__user=reviewer).exists()
    event = AuditEvent.objects.get(action="user.mfa_reset")
    assert event.actor == admin_user and event.object_id == str(reviewer.pk)
    assert event.data == {"totp_devices": 1, "backup_code_sets": 1}
    assert AuditEvent.objects.filter(
        action="user.sessions_ended", object_id=str(reviewer.pk), data__reason="mfa_reset"
    ).exists()
    _assert_no_codes_in_audit(codes)
    # The reviewer's session is gone; at the next login they enrol again.
    r = c.get("/accounts/profile/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    c = _login(reviewer)
    r = c.get("/accounts/profile/")
    assert r.status_code == 302 and r["Location"].startswith("/agencies/mfa/setup/")


@pytest.mark.django_db
def test_only_administrators_reset_mfa(reviewer, leader):
    _enrolled(reviewer)
    with pytest.raises(NotAllowed):
        user_mfa_reset(actor=reviewer, user=leader)
    with pytest.raises(NotAllowed):
        user_mfa_reset(actor=leader, user=reviewer)
    assert TOTPDevice.objects.filter(user=reviewer).exists()
    assert not AuditEvent.objects.filter(action="user.mfa_reset").exists()


@pytest.mark.django_db
def test_reset_keeps_other_users_devices(reviewer, admin_user):
    _enrolled(reviewer)
    _enrolled(admin_user)
    assert user_mfa_reset(actor=admin_user, user=reviewer) == 2
    assert TOTPDevice.objects.filter(user=admin_user).exists()
    assert StaticToken.objects.filter(device__user=admin_user).count() == BACKUP_CODE_COUNT
    assert not AuthToken.objects.filter(user=reviewer).exists()


def test_device_admin_pages_are_not_registered():
    """Devices change only through the audited services (no silent delete or add in the admin)."""
    from django.contrib import admin

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["vi", "en"])
def test_mfa_pages_linked_from_account_pass_the_crawl_checks(reviewer, client_as, language):
    """What the link crawl reaches from the account page of a reviewer who has not enrolled."""
    c = client_as(reviewer)
    if language == "en":
        c.post("/i18n/setlang/", {"language": "en"})
    for url in ("/accounts/profile/", "/agencies/mfa/backup-codes/", "/agencies/mfa/setup/"):
        r = c.get(url)
        assert r.status_code == 200, url
        crawl = Crawl("reviewer", home_title="")
        check_page(crawl, url, parse(r.content.decode()), language)
        assert not crawl.problems, "\n".join(crawl.problems)


@pytest.mark.django_db
def test_regenerating_in_a_session_verified_by_a_backup_code_keeps_it_verified(mfa_on, reviewer):
    """The lost-phone case: signed in with a backup code, the user makes new codes; the session
    stays verified (the regeneration must not remove the device it was verified with, which
    would send the user back to the verification page to spend one of the new codes)."""
    _device, old = _enrolled(reviewer)
    c = _login(reviewer)
    r = c.post("/agencies/mfa/verify/", {"token": old[0], "next": "/accounts/profile/"})
    assert r.status_code == 302 and c.get("/accounts/profile/").status_code == 200
    r = c.post("/agencies/mfa/backup-codes/")
    assert r.status_code == 200
    new = CODE_RE.findall(r.content.decode())
    assert len(new) == BACKUP_CODE_COUNT and not set(new) & set(old)
    assert _codes_of(reviewer) == set(new)
    assert c.get("/accounts/profile/").status_code == 200
    assert c.get("/reporting/review/").status_code == 200


@pytest.mark.django_db
def test_api_backup_code_use_is_audited_with_the_request_id(mfa_on, reviewer):
    """The audit row of a backup code used for an API token carries the request's id, like the
    web verification's, so it can be matched with the server's log line."""
    _device, codes = _enrolled(reviewer)
    body = {"username": "reviewer", "password": PASSWORD, "otp": codes[0]}
    r = Client().post(
        "/api/v1/auth/token/", body, content_type="application/json", HTTP_X_REQUEST_ID="rq-bk-1"
    )
    assert r.status_code == 200
    event = AuditEvent.objects.get(action="user.backup_code_used")
    assert event.request_id == r["X-Request-ID"] != ""
