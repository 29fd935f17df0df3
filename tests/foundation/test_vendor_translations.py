"""The API's own errors (Django REST framework, knox) reach a Vietnamese client in Vietnamese:
locale_vendor/vi holds what DRF's catalogue lacks. Each msgid there must still be one the
installed DRF uses (an upgrade that renames a message would silently fall back to English), and
each translation must keep the message's placeholders."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
import rest_framework
from django.conf import settings
from django.utils import translation

from tests.factories import UserFactory

VENDOR = Path(settings.BASE_DIR) / "locale_vendor" / "vi" / "LC_MESSAGES"


def _vendor_catalog() -> dict[str, str]:
    with open(VENDOR / "django.mo", "rb") as fh:
        cat = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    return {k: v for k, v in cat.items() if k}


def test_vendor_msgids_exist_in_drf_and_keep_placeholders() -> None:
    drf_locale = Path(rest_framework.__file__).parent / "locale"
    with open(drf_locale / "fr" / "LC_MESSAGES" / "django.mo", "rb") as fh:  # a full catalogue
        drf_ids = {k for k in gettext.GNUTranslations(fh)._catalog if isinstance(k, str)}  # type: ignore[attr-defined]
    ours = _vendor_catalog()
    assert len(ours) > 50
    placeholder = re.compile(r"\{[^}]*\}")
    for msgid, msgstr in ours.items():
        assert msgid in drf_ids, msgid
        assert msgstr and msgstr != msgid, msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(msgstr)), msgid


def test_compiled_catalogue_is_current() -> None:
    """The .mo read at run time holds exactly the .po's translations."""
    po = (VENDOR / "django.po").read_text(encoding="utf-8")
    assert po.count('\nmsgid "') == len(_vendor_catalog()) + 1  # + the header


@pytest.mark.django_db
def test_api_field_errors_in_vietnamese_by_default_and_english_on_request(client) -> None:
    user = UserFactory(password="pw-12345678")
    client.force_login(user)
    # A token request without a password: DRF's own "required" message.
    r = client.post(
        "/api/v1/auth/token/", {"username": user.username}, content_type="application/json"
    )
    assert r.status_code == 400
    assert "Trường này là bắt buộc." in str(r.json())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch
    r = client.post(
        "/api/v1/auth/token/", {"username": user.username}, content_type="application/json"
    )
    assert r.status_code == 400
    assert "This field is required." in str(r.json())


@pytest.mark.django_db
def test_api_authentication_error_in_vietnamese(client) -> None:
    r = client.get("/api/v1/exports/")
    assert r.status_code in (401, 403)
    assert r.json()["detail"] == "Chưa cung cấp thông tin xác thực."


@pytest.mark.django_db
def test_api_not_found_follows_the_language(client) -> None:
    client.force_login(UserFactory())
    r = client.get("/api/v1/submissions/999999999/")
    assert (r.status_code, r.json()["detail"]) == (404, "Không tìm thấy.")
    with translation.override("en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        assert client.get("/api/v1/submissions/999999999/").json()["detail"] == "Not found."
