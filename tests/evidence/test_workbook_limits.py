"""Workbook upload limits: a workbook far larger than the portal's template (a shared strings
bomb, too many parts, sheets or columns) is refused before openpyxl opens it, with a clear
message, and nothing is saved; the template itself, re-saved with shared strings, still
passes."""

from __future__ import annotations

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import evidence.services.workbook as workbook_service
from evidence.models import Submission
from tests.evidence.hostile_files import shared_strings, with_shared_strings
from tests.evidence.reporting_factories import make_world


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


@pytest.fixture
def template(world, user_a, client_as):
    """The portal's workbook for agency A, 1.1 filled in (numerator 3 of 4)."""
    from openpyxl import load_workbook

    resp = client_as(user_a).get(reverse("evidence:workbook_download", args=[world.period.pk]))
    wb = load_workbook(io.BytesIO(resp.content))
    wb["1.1"]["A5"], wb["1.1"]["B5"], wb["1.1"]["C5"] = 3, 4, "Theo báo cáo quý"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def no_openpyxl(monkeypatch):
    """Fails the test if the upload reaches openpyxl."""

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl opened the upload")

    monkeypatch.setattr(workbook_service, "load_workbook", refuse)


@pytest.fixture(scope="module")
def sst_bomb() -> bytes:
    """The reviewer's attack (95 MB of shared strings in 6 MB) scaled down: ~12 MB of short
    strings in a ~0.9 MB upload, compression ratio ~16 (under the evidence limit of 100);
    openpyxl takes ~15 s of CPU to parse it, the checks a few milliseconds."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.create_sheet("_meta").append(["period", 1])
    buf = io.BytesIO()
    wb.save(buf)
    return with_shared_strings(buf.getvalue(), shared_strings(12 * 1024 * 1024))


def preview(client, world, content: bytes, name: str = "bao-cao.xlsx"):
    return client.post(
        reverse("evidence:workbook_upload", args=[world.period.pk]),
        {"file": SimpleUploadedFile(name, content)},
    )


@pytest.mark.django_db
def test_shared_strings_bomb_refused_quickly_before_openpyxl(
    world, user_a, client_as, sst_bomb, no_openpyxl
):
    assert len(sst_bomb) < 5 * 1024 * 1024  # under the upload size: the zip budget refuses it
    c = client_as(user_a)
    started = time.monotonic()
    resp = preview(c, world, sst_bomb)
    elapsed = time.monotonic() - started
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "Tệp Excel bị từ chối vì lớn bất thường" in html and "tối đa 10 MB" in html
    assert elapsed < 3, elapsed
    assert c.post(reverse("evidence:workbook_confirm", args=[world.period.pk])).status_code == 302
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_template_with_shared_strings_passes_the_default_budget(world, user_a, client_as, template):
    """Positive control: what Excel writes when it re-saves the template (shared strings)."""
    content = with_shared_strings(template, shared_strings(50 * 1024))
    calls = []
    real = workbook_service.load_workbook

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    workbook_service.load_workbook = spy
    try:
        resp = preview(client_as(user_a), world, content)
    finally:
        workbook_service.load_workbook = real
    assert resp.status_code == 200, resp.content.decode()
    assert "Theo báo cáo quý" in resp.content.decode()
    assert calls == [{"read_only": True, "data_only": True}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("limit", "value", "fragments"),
    [
        ("WORKBOOK_MAX_UPLOAD_BYTES", 4 * 1024, ["Tệp Excel quá lớn", "tối đa 4 KB"]),
        ("WORKBOOK_MAX_ZIP_ENTRIES", 5, ["mục trong tệp nén, tối đa 5"]),
        ("WORKBOOK_MAX_UNCOMPRESSED_BYTES", 20 * 1024, ["giải nén ra", "tối đa 20 KB"]),
        ("WORKBOOK_MAX_ENTRY_BYTES", 8 * 1024, ["phần “", "tối đa 8 KB"]),
        ("WORKBOOK_MAX_SHARED_STRINGS_BYTES", 8 * 1024, ["“xl/sharedStrings.xml”", "8 KB"]),
        ("WORKBOOK_MAX_COMPRESSION_RATIO", 2, ["nén", "lần, tối đa 2 lần"]),
        ("WORKBOOK_MAX_SHEETS", 3, ["trang tính, nhiều hơn mức tối đa 3"]),
    ],
)
def test_each_limit_is_a_setting(
    world, user_a, client_as, template, settings, limit, value, fragments
):
    """Each limit, lowered, refuses the same workbook with its own message; nothing saved."""
    content = with_shared_strings(template, shared_strings(300 * 1024), level=9)
    setattr(settings, limit, value)
    c = client_as(user_a)
    resp = preview(c, world, content)
    assert resp.status_code == 400
    html = resp.content.decode()
    assert all(f in html for f in fragments), html
    assert "Xác nhận lưu bản nháp" not in html
    assert c.post(reverse("evidence:workbook_confirm", args=[world.period.pk])).status_code == 302
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_shared_strings_limit_follows_the_declared_part(
    world, user_a, client_as, template, settings, no_openpyxl
):
    """Renaming the shared strings part does not escape its limit: openpyxl finds the part
    through [Content_Types].xml, and so does the check."""
    settings.WORKBOOK_MAX_SHARED_STRINGS_BYTES = 8 * 1024
    content = with_shared_strings(template, shared_strings(20 * 1024), part="xl/chuoi.xml")
    resp = preview(client_as(user_a), world, content)
    assert resp.status_code == 400 and "“xl/chuoi.xml”" in resp.content.decode()


@pytest.mark.django_db
def test_columns_beyond_the_limit_are_not_read(world, user_a, client_as, template, settings):
    settings.WORKBOOK_MAX_COLUMNS = 2  # numerator and denominator; the note (column C) unread
    resp = preview(client_as(user_a), world, template)
    assert resp.status_code == 200
    assert "Theo báo cáo quý" not in resp.content.decode()


def test_default_limits_match_the_settings():
    """The service's fallbacks and dti_portal/settings.py agree (10 MB uncompressed, 2 MB of
    shared strings, ...): a deployment without the variables gets the documented budget."""
    from django.conf import settings

    from evidence.services.workbook_limits import WORKBOOK_LIMITS

    assert {name: getattr(settings, name) for name in WORKBOOK_LIMITS} == WORKBOOK_LIMITS
    assert WORKBOOK_LIMITS["WORKBOOK_MAX_UNCOMPRESSED_BYTES"] == 10 * 1024 * 1024
    assert WORKBOOK_LIMITS["WORKBOOK_MAX_UPLOAD_BYTES"] < settings.EVIDENCE_MAX_UPLOAD_BYTES
