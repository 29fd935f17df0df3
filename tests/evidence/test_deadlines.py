"""After the deadline agencies cannot change the period's submissions through the page, the
API or the workbook; an item reopened for one agency can be changed until its own deadline."""

from __future__ import annotations

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from evidence import services
from evidence.models import EvidenceFile, Submission
from tests.evidence.reporting_factories import make_world, pdf_bytes

VN = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE = datetime.date(2025, 12, 25)


def at(day: datetime.date, hour: int = 10):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), VN), tick=False)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SENDFILE_ROOT = settings.MEDIA_ROOT


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b, deadline=DEADLINE)


@pytest.fixture
def draft(world, user_a):
    with at(DEADLINE):
        return services.submission_create(
            actor=user_a,
            indicator=world.ratio,
            period=world.period,
            values={"numerator": "1", "denominator": "2"},
        )


def workbook_with(client, world, cell_value):
    wb = load_workbook(
        io.BytesIO(
            client.get(reverse("evidence:workbook_download", args=[world.period.pk])).content
        )
    )
    wb["1.1"]["A5"] = cell_value
    wb["1.1"]["B5"] = 2
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile("bao-cao.xlsx", buf.getvalue())


@pytest.mark.django_db
def test_after_deadline_no_change_anywhere(world, draft, user_a, client_as, api_as):
    c, api = client_as(user_a), api_as(user_a)
    edit = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    with at(DEADLINE):
        upload_file = workbook_with(c, world, 2)
    with at(DEADLINE + datetime.timedelta(days=1), hour=0):
        c = client_as(user_a)  # a fresh login (the idle timeout ended the earlier session)
        page = c.get(edit)
        assert "đã khóa" in page.content.decode()
        resp = c.post(edit, {"version": draft.version, "v_numerator": "2", "v_denominator": "2"})
        assert resp.status_code == 409 and "đã khóa" in resp.content.decode()
        resp = api.patch(
            reverse("api:submission-detail", args=[draft.pk]),
            {"version": draft.version, "values": {"numerator": "2", "denominator": "2"}},
        )
        assert resp.status_code == 409 and resp.json()["code"] == "period_locked"
        resp = api.post(
            reverse("api:submission-list"),
            {"indicator": world.yes_no.pk, "period": world.period.pk, "values": {"done": "1"}},
        )
        assert resp.status_code == 409 and resp.json()["code"] == "period_locked"
        resp = api.post(
            reverse("api:submission-evidence", args=[draft.pk]),
            {"file": SimpleUploadedFile("a.pdf", pdf_bytes())},
            format="multipart",
        )
        assert resp.status_code == 409 and resp.json()["code"] == "period_locked"
        resp = c.post(
            reverse("evidence:workbook_upload", args=[world.period.pk]), {"file": upload_file}
        )
        assert resp.status_code == 400 and "đã khóa" in resp.content.decode()
    assert Submission.objects.get().values == {"numerator": "1", "denominator": "2"}
    assert Submission.objects.count() == 1 and not EvidenceFile.objects.exists()


@pytest.mark.django_db
def test_reopened_item_changes_until_its_own_deadline(
    world, draft, user_a, user_b, reviewer, client_as, api_as
):
    later = DEADLINE + datetime.timedelta(days=10)
    with at(DEADLINE + datetime.timedelta(days=2)):
        services.item_extension_grant(
            actor=reviewer,
            period=world.period,
            indicator=world.ratio,
            agency=user_a.agency,
            deadline=later,
            reason="Bổ sung minh chứng",
        )
        api = api_as(user_a)
        resp = api.patch(
            reverse("api:submission-detail", args=[draft.pk]),
            {"version": draft.version, "values": {"numerator": "2", "denominator": "2"}},
        )
        assert resp.status_code == 200
        resp = api.post(
            reverse("api:submission-evidence", args=[draft.pk]),
            {"file": SimpleUploadedFile("a.pdf", pdf_bytes())},
            format="multipart",
        )
        assert resp.status_code == 201
        # the workbook too, for that item only
        c = client_as(user_a)
        f = workbook_with(c, world, 1)
        resp = c.post(reverse("evidence:workbook_upload", args=[world.period.pk]), {"file": f})
        assert resp.status_code == 200, resp.content.decode()
        assert (
            c.post(reverse("evidence:workbook_confirm", args=[world.period.pk])).status_code == 302
        )
        assert Submission.objects.get(pk=draft.pk).values["numerator"] == "1"
        # another item of the same agency, and the same item for another agency: still locked
        resp = api.post(
            reverse("api:submission-list"),
            {"indicator": world.yes_no.pk, "period": world.period.pk, "values": {"done": "1"}},
        )
        assert resp.status_code == 409 and resp.json()["code"] == "period_locked"
        resp = api_as(user_b).post(
            reverse("api:submission-list"),
            {
                "indicator": world.ratio.pk,
                "period": world.period.pk,
                "values": {"numerator": "1", "denominator": "1"},
            },
        )
        assert resp.status_code == 409 and resp.json()["code"] == "period_locked"
        # the inbox shows the new deadline for that item
        html = c.get(reverse("evidence:inbox") + f"?period={world.period.pk}").content.decode()
        assert later.strftime("%d/%m/%Y") in html
    with at(later + datetime.timedelta(days=1)):
        sub = Submission.objects.get(pk=draft.pk)
        resp = api_as(user_a).patch(
            reverse("api:submission-detail", args=[sub.pk]),
            {"version": sub.version, "values": {"numerator": "0", "denominator": "2"}},
        )
        assert resp.status_code == 409 and resp.json()["code"] == "period_locked"


@pytest.mark.django_db
def test_closed_period_locks_before_deadline(world, draft, user_a, reviewer, api_as):
    with at(DEADLINE - datetime.timedelta(days=5)):
        services.period_close(actor=reviewer, period=world.period)
        resp = api_as(user_a).patch(
            reverse("api:submission-detail", args=[draft.pk]),
            {"version": draft.version, "values": {"numerator": "2", "denominator": "2"}},
        )
        assert resp.status_code == 409 and resp.json()["code"] == "period_locked"
