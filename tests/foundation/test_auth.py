"""Login required everywhere, API 401/403, lockout after wrong passwords, idle timeout, i18n."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from agencies.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/accounts/profile/", "/accounts/password/", "/admin/"])
def test_pages_redirect_anonymous_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_api_answers_401_or_403_to_anonymous(client):
    for path in ["/api/v1/auth/logout/"]:
        assert client.post(path).status_code in (401, 403)


def test_login_page_is_vietnamese_by_default(client):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'lang="vi"' in body
    assert "Đăng nhập" in body


def test_language_switch_to_english(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    body = client.get(reverse("login")).content.decode()
    assert 'lang="en"' in body


def test_login_and_home_page(client, user_a):
    response = client.post(reverse("login"), {"username": "staff_a", "password": "pass12345"})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Sở Thử nghiệm A" in home.content.decode()


def test_wrong_password_says_so_plainly(client, user_a):
    response = client.post(reverse("login"), {"username": "staff_a", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in html
    assert "phân biệt chữ hoa" not in html  # Django's stock wording


def test_five_wrong_passwords_lock_the_account(client, user_a, caplog):
    for _ in range(5):
        client.post(reverse("login"), {"username": "staff_a", "password": "wrong"})
    assert AccessAttempt.objects.filter(username="staff_a").exists()
    response = client.post(reverse("login"), {"username": "staff_a", "password": "pass12345"})
    # django-axes answers 429 with the lockout template; the right password does not help.
    assert response.status_code == 429
    assert "tạm thời bị khóa" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_api_token_login_and_logout(user_a):
    c = Client()
    r = c.post(
        "/api/v1/auth/token/",
        {"username": "staff_a", "password": "pass12345"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    token = r.json()["token"]
    assert r.json()["expiry"]
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert c.post("/api/v1/auth/logout/", **auth).status_code == 204
    assert c.post("/api/v1/auth/logout/", **auth).status_code == 401


def test_api_token_wrong_password_is_400(user_a):
    r = Client().post(
        "/api/v1/auth/token/",
        {"username": "staff_a", "password": "nope"},
        content_type="application/json",
    )
    assert r.status_code == 400


def test_idle_session_times_out(client, user_a, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.force_login(user_a)
    assert client.get("/").status_code == 200
    session = client.session
    session["_last_activity"] = int(time.time()) - 120
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_generated_password_must_be_changed_first(client, agency_a):
    user = User.objects.create_user(
        "newbie", password="Init-pass-2025!", agency=agency_a, must_change_password=True
    )
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change")
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "Init-pass-2025!",
            "new_password1": "Khanh-Hoa-2025-moi",
            "new_password2": "Khanh-Hoa-2025-moi",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get("/").status_code == 200


def test_generated_password_blocks_the_api_until_changed(client, agency_a):
    """The API is no way around the first-login change: no token, and a session or a token
    issued before the flag was set gets 403 on every route but logout."""
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    user = User.objects.create_user(
        "newbie", password="Init-pass-2025!", agency=agency_a, must_change_password=True
    )
    api = APIClient()
    resp = api.post("/api/v1/auth/token/", {"username": "newbie", "password": "Init-pass-2025!"})
    assert resp.status_code == 403 and resp.json()["code"] == "password_change_required"
    assert not AuthToken.objects.filter(user=user).exists()

    _, token = AuthToken.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    resp = api.get("/api/v1/submissions/")
    assert resp.status_code == 403 and "đổi mật khẩu" in resp.json()["detail"]
    client.force_login(user)
    assert client.get("/api/v1/submissions/").status_code == 403
    assert api.post("/api/v1/auth/logout/").status_code == 204

    user.set_password("Khanh-Hoa-2025-moi")
    user.must_change_password = False
    user.save()
    resp = APIClient().post(
        "/api/v1/auth/token/", {"username": "newbie", "password": "Khanh-Hoa-2025-moi"}
    )
    assert resp.status_code == 200


def test_error_pages_are_vietnamese(client, user_a):
    client.force_login(user_a)
    response = client.get("/khong-co-trang-nay/")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.content.decode()


def test_superuser_created_from_command_is_admin(db):
    u = User.objects.create_superuser("root", "root@example.gov.vn", "x-Strong-pass-1")
    assert u.role == User.Role.ADMIN


def test_generated_password_and_mfa_enrolment_lead_one_after_the_other(settings, reviewer):
    """An imported reviewer (generated password, MFA required, no device yet) enrols first,
    then changes the password: the two first-login steps never send each other in a loop."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.DTI_MFA_REQUIRED = True
    reviewer.must_change_password = True
    reviewer.save(update_fields=["must_change_password"])
    client = Client()
    login = {"username": reviewer.username, "password": "pass12345"}
    assert client.post(reverse("login"), login).status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/agencies/mfa/setup/")
    assert client.get(response["Location"]).status_code == 200
    device = TOTPDevice.objects.get(user=reviewer, confirmed=False)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    response = client.post("/agencies/mfa/setup/", {"token": f"{code:06d}"})
    assert response.status_code == 200
    assert TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pass12345",
            "new_password1": "Khanh-Hoa-2025-moi",
            "new_password2": "Khanh-Hoa-2025-moi",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # a reviewer's home is the review queue
    assert client.get(reverse("evidence:review_queue")).status_code == 200


def test_api_wrong_password_message_follows_the_chosen_language(user_a, settings):
    """An API error is a message for people too: English when English was chosen."""
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = c.post(
        "/api/v1/auth/token/",
        {"username": "staff_a", "password": "nope"},
        content_type="application/json",
    )
    assert r.json()["detail"] == "Wrong username or password."
