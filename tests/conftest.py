"""Shared fixtures: personas (agency A, agency B, reviewer, leader, admin, anonymous), clients."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from agencies.models import User
from tests.factories import AgencyFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the portal's default language: a request with the English cookie
    activates English for the thread (as every request does in production), which must not
    leak into the next test's code run outside a request."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def agency_a(db):
    return AgencyFactory(code="so-a", name="Sở Thử nghiệm A", short_name="Sở A")


@pytest.fixture
def agency_b(db):
    return AgencyFactory(code="so-b", name="Sở Thử nghiệm B", short_name="Sở B")


@pytest.fixture
def user_a(agency_a):
    return UserFactory(username="staff_a", agency=agency_a, role=User.Role.AGENCY_STAFF)


@pytest.fixture
def user_b(agency_b):
    return UserFactory(username="staff_b", agency=agency_b, role=User.Role.AGENCY_STAFF)


@pytest.fixture
def reviewer(db):
    return UserFactory(
        username="reviewer",
        agency=AgencyFactory(code="so-khcn", name="Sở Khoa học và Công nghệ"),
        role=User.Role.REVIEWER,
    )


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", agency=None, role=User.Role.LEADER)


@pytest.fixture
def admin_user(db):
    return UserFactory(
        username="admin", agency=None, role=User.Role.ADMIN, is_staff=True, is_superuser=True
    )


@pytest.fixture
def personas(user_a, user_b, reviewer, leader, admin_user):
    return {"a": user_a, "b": user_b, "reviewer": reviewer, "leader": leader, "admin": admin_user}


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def api_as():
    """``api_as(user)`` → an APIClient authenticated as ``user`` (session-less, forced)."""

    def make(user):
        c = APIClient()
        if user is not None:
            c.force_authenticate(user)
        return c

    return make


@pytest.fixture
def client_as(client):
    """``client_as(user)`` → the Django test client logged in as ``user``."""

    def make(user):
        from django.test import Client

        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    return make


# --- Playwright with Debian's Chromium ---------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering by database use
def pytest_collection_modifyitems(config, items):
    # Browser tests last: the session-wide Playwright (sync API) leaves its event loop marked
    # as running in this thread, and Django's async views (e.g. /health/) called from a later
    # test through the sync test client would then refuse to run ("AsyncToSync in the same
    # thread as an async event loop").
    items.sort(key=lambda item: "e2e" in item.keywords)
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason="Debian's chromium is not installed")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)
