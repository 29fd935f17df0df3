"""The client address behind proxies (NUM_PROXIES): a client-written X-Forwarded-For changes
nothing for the login throttle (DRF) or django-axes; both resolve the address the same way."""

from __future__ import annotations

import random

import pytest
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.test import Client, RequestFactory
from rest_framework.throttling import BaseThrottle

TOKEN_URL = "/api/v1/auth/token/"


def _spray(n: int, xff) -> list[int]:
    """``n`` wrong logins for made-up usernames, each with the X-Forwarded-For ``xff(i)``."""
    codes = []
    for i in range(n):
        extra = {"HTTP_X_FORWARDED_FOR": xff(i)} if xff else {}
        r = Client().post(
            TOKEN_URL,
            {"username": f"spray{i}", "password": "x"},
            content_type="application/json",
            REMOTE_ADDR="203.0.113.7",
            **extra,
        )
        codes.append(r.status_code)
    return codes


def _random_ip(_i: int) -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))  # noqa: S311 - not crypto


def test_default_trusts_only_the_socket_address():
    assert settings.NUM_PROXIES == 0
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("xff", [None, _random_ip], ids=["no-header", "made-up-header"])
def test_token_throttle_is_not_reset_by_x_forwarded_for(xff):
    codes = _spray(30, xff)
    assert codes[:20] == [400] * 20
    assert set(codes[20:]) == {429}
    r = Client().post(
        TOKEN_URL,
        {"username": "x", "password": "y"},
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
    )
    assert r.status_code == 429 and "detail" in r.json()  # DRF's throttle answers JSON


@pytest.mark.django_db
def test_behind_one_proxy_the_address_nginx_appended_counts(settings):
    """nginx appends the address it saw: made-up entries to its left change nothing, while
    another real client (another right-most address) has its own budget."""
    settings.NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    codes = _spray(30, lambda i: f"{_random_ip(i)}, 198.51.100.9")
    assert set(codes[20:]) == {429}
    other = _spray(1, lambda i: "198.51.100.10")
    assert other == [400]


@pytest.mark.parametrize("num_proxies", [0, 1, 2])
@pytest.mark.parametrize(
    "xff", [None, "10.1.1.1", "10.1.1.1, 198.51.100.9", "1.2.3.4, 10.1.1.1, 198.51.100.9"]
)
def test_axes_and_drf_see_the_same_client(settings, num_proxies, xff):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    extra = {"HTTP_X_FORWARDED_FOR": xff} if xff else {}
    request = RequestFactory().post(TOKEN_URL, REMOTE_ADDR="172.18.0.5", **extra)
    drf = BaseThrottle().get_ident(request)  # type: ignore[arg-type]
    assert get_client_ip_address(request) == drf
    if num_proxies == 0 or not xff:
        assert drf == "172.18.0.5"


@pytest.mark.django_db
def test_lockout_records_the_resolved_address(user_a, settings):
    from axes.models import AccessAttempt

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    Client().post(
        "/accounts/login/",
        {"username": user_a.username, "password": "wrong"},
        REMOTE_ADDR="172.18.0.5",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9",
    )
    assert AccessAttempt.objects.get(username=user_a.username).ip_address == "198.51.100.9"
