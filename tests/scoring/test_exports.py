"""Exports: Excel (appendix layout, totals = summary), PDF (Vietnamese text extracted), evidence
ZIP (exactly the approved evidence, original names), jobs with progress, scope, download checks."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from agencies.models import AuditEvent
from scoring.exports import evidence_pack, services
from scoring.exports.models import ExportJob

from .dash_helpers import q

pytestmark = pytest.mark.django_db
D = Decimal


def run_export(client, w, kind):
    """Asks for an export through the page; returns (job, downloaded bytes)."""
    resp = client.post(reverse("scoring:exports") + q(w), {"kind": kind})
    assert resp.status_code == 302, resp.content[:500]
    job = ExportJob.objects.order_by("-created_at").first()
    assert resp.url == reverse("scoring:export_job", args=[job.pk])
    assert job.state == ExportJob.State.DONE and job.progress == 100, job.error
    assert job.file.name.startswith(f"exports/{job.pk}/")
    dl = client.get(reverse("scoring:export_download", args=[job.pk]))
    assert dl.status_code == 200
    assert "attachment" in dl["Content-Disposition"]
    return job, b"".join(dl.streaming_content) if dl.streaming else dl.content


def test_excel_opens_and_totals_match_summary(world, client_as, api_as, leader):
    job, content = run_export(client_as(leader), world, "excel")
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames[0] == "Phụ lục" and wb.sheetnames[-1] == "Kết quả cơ quan"
    # The appendix, the approved values (one measure per row), one sheet per main index, league.
    assert wb.sheetnames[1] == "Số liệu báo cáo" and len(wb.sheetnames) == 3 + 3
    ws = wb["Phụ lục"]
    header = [c.value for c in ws[5]]
    assert header[:5] == ["STT", "Chỉ số", "Điểm tối đa", "Cơ quan phụ trách", "Cơ quan phối hợp"]
    assert header[5:] == [
        "Điểm tự chấm",
        "Điểm thẩm định",
        "Điểm cuối cùng",
        "Trạng thái",
        "Số minh chứng",
        "Số liệu báo cáo (đã duyệt)",
    ]
    rows = {r[0].value: [c.value for c in r] for r in ws.iter_rows(min_row=6) if r[0].value}
    total = next([c.value for c in r] for r in ws.iter_rows(min_row=6) if r[1].value == "Tổng cộng")
    s = (
        api_as(leader)
        .get(
            "/api/v1/scores/summary/",
            {"framework": world.framework.code, "period": world.period.pk},
        )
        .json()
    )
    for col, kind in ((5, "self_assessed"), (6, "appraised"), (7, "final")):
        assert D(str(total[col])) == D(s[kind]["total_points"])
        sub_sum = sum(D(str(v[col])) for code, v in rows.items() if "." in str(code))
        assert sub_sum == D(s[kind]["total_points"])
    assert rows["1.1"][3] == "Sở TT&TT" and rows["1.1"][4] == "Các địa phương"
    assert rows["1.1"][8] == "Đã duyệt" and rows["1.1"][9] == 2
    assert rows["2.2"][8] == "Bị trả lại, cần giải trình"
    labels = [r[1].value for r in ws.iter_rows(min_row=6)]
    assert "Chỉ số DTI (tổng điểm ÷ 1000)" in labels  # the framework's total (DOMAIN.md §5)
    league = wb["Kết quả cơ quan"]
    names = [r[1].value for r in league.iter_rows(min_row=6)]
    assert "Sở TT&TT" in names and "Sở Du lịch" in names
    # Unranked as the league page says it: Sở Du lịch has nothing assigned.
    du_lich = next(
        [c.value for c in r] for r in league.iter_rows(min_row=6) if r[1].value == "Sở Du lịch"
    )
    assert du_lich[0] == "—" and du_lich[7] == "—"
    assert du_lich[10] == "Chưa xếp hạng: không được giao chỉ số trong kỳ"
    assert ws["A1"].font.bold and ws.freeze_panes == "C6"
    assert AuditEvent.objects.filter(action="export.downloaded", object_id=str(job.pk)).exists()


def test_excel_respects_agency_scope(world, client_as):
    _job, content = run_export(client_as(world.staff["b"]), world, "excel")
    ws = load_workbook(io.BytesIO(content))["Phụ lục"]
    codes = {r[0].value for r in ws.iter_rows(min_row=6) if r[0].value and "." in str(r[0].value)}
    assert codes == {"1.2", "2.1", "2.2"}


def test_excel_agency_scope_has_no_dti_but_the_share_of_assigned_points(world, client_as):
    """An agency's part is not the province's DTI: the dashboard and ``scores/summary/`` give
    agency staff no DTI but their achieved share of the points assigned to them; the workbook
    says the same (total ÷ assigned max points), never the part ÷ 1000 under the DTI label."""
    client = client_as(world.staff["b"])
    _job, content = run_export(client, world, "excel")
    rows = _appendix_rows(content)
    labels = [r[1] for r in rows]
    assert not any(str(label).startswith("Chỉ số DTI") for label in labels)
    total = next(r for r in rows if r[1] == "Tổng cộng")
    share = next(r for r in rows if r[1] == "Tỷ lệ đạt so với điểm được giao")
    page = client.get(reverse("scoring:dashboard") + q(world)).context
    for col, kind in ((5, "self_assessed"), (6, "appraised"), (7, "final")):
        assert D(str(share[col])) == D(str(total[col])) / D(str(total[2]))
        assert D(str(share[col])) == page["assigned_shares"][kind]


def _appendix_rows(content: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(content))["Phụ lục"]
    return [[c.value for c in r] for r in ws.iter_rows(min_row=6) if r[0].value or r[1].value]


@pytest.fixture
def grouped_world():
    from .dash_helpers import build_world, recompute

    w = build_world(grouped=True)
    recompute(w)
    return w


def test_excel_appendix_writes_group_rows_with_subtotals(grouped_world, client_as, api_as, leader):
    """DOMAIN.md §3: group (I, II) → main index → sub-indicator. Each group's row stands above
    its first main index, in the appendix layout, with its max points and its main indices'
    subtotals of every kind; the total row stays the framework's."""
    w = grouped_world
    _job, content = run_export(client_as(leader), w, "excel")
    rows = _appendix_rows(content)
    assert [r[0] for r in rows if r[0]] == [
        "I",
        "1",
        "1.1",
        "1.2",
        "2",
        "2.1",
        "2.2",
        "II",
        "3",
        "3.1",
    ]
    by_code = {r[0]: r for r in rows if r[0]}
    group_i, group_ii = by_code["I"], by_code["II"]
    assert group_i[1:5] == ["NHÓM CHỈ SỐ NỀN TẢNG", 1000, None, None]
    assert group_ii[1:3] == ["NHÓM CHỈ SỐ THEO DÕI", 0]
    total = next(r for r in rows if r[1] == "Tổng cộng")
    s = (
        api_as(leader)
        .get("/api/v1/scores/summary/", {"framework": w.framework.code, "period": w.period.pk})
        .json()
    )
    for col, kind in ((5, "self_assessed"), (6, "appraised"), (7, "final")):
        mains = D(str(by_code["1"][col])) + D(str(by_code["2"][col]))
        assert D(str(group_i[col])) == mains
        assert D(str(group_ii[col])) == D(str(by_code["3"][col])) == 0
        assert D(str(group_i[col])) + D(str(group_ii[col])) == D(str(total[col]))
        assert D(str(total[col])) == D(s[kind]["total_points"])
    assert D(str(group_i[6])) == D("250")  # 1.1 appraised 150 + 1.2 approved 100
    ws = load_workbook(io.BytesIO(content))["Phụ lục"]
    first = ws[6]
    assert first[0].value == "I" and first[0].font.bold
    assert first[0].fill.fgColor.rgb != ws[7][0].fill.fgColor.rgb  # set apart from main rows
    # one sheet per main index still (groups get none)
    assert len(load_workbook(io.BytesIO(content)).sheetnames) == 3 + 3


def test_excel_group_rows_in_agency_scope(grouped_world, client_as):
    """An agency's export: only the groups of the main indices it sees, their max points and
    subtotals over what it sees."""
    _job, content = run_export(client_as(grouped_world.staff["b"]), grouped_world, "excel")
    rows = _appendix_rows(content)
    assert [r[0] for r in rows if r[0]] == ["I", "1", "1.2", "2", "2.1", "2.2"]
    by_code = {r[0]: r for r in rows if r[0]}
    assert by_code["I"][2] == by_code["1"][2] + by_code["2"][2] == 100 + 700


def test_excel_without_groups_starts_at_the_main_indices(world, client_as, leader):
    _job, content = run_export(client_as(leader), world, "excel")
    rows = _appendix_rows(content)
    assert [r[0] for r in rows if r[0]] == ["1", "1.1", "1.2", "2", "2.1", "2.2", "3", "3.1"]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_pdf_trend_chart_has_its_figures_as_text(world, client_as, leader, tmp_path):
    """The trend chart's text alternative, as on the dashboard: a table of each period's
    totals (the chart alone shows lines and axis ticks, no figure can be read off it)."""
    from .dash_helpers import add_previous_period

    add_previous_period(world)
    _job, content = run_export(client_as(leader), world, "pdf")
    path = tmp_path / "summary.pdf"
    path.write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    section = text.split("Diễn biến theo quý", 1)[1].split("Các chỉ số mất nhiều điểm nhất")[0]
    lines = [" ".join(line.split()) for line in section.splitlines()]
    assert "Kỳ Tự chấm Thẩm định Cuối cùng" in lines
    assert "Quý 2/2025 200,00 200,00 200,00" in lines
    assert "Quý 3/2025 460,00 250,00 250,00" in lines


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_pdf_renders_vietnamese_text(world, client_as, leader, tmp_path):
    _job, content = run_export(client_as(leader), world, "pdf")
    assert content.startswith(b"%PDF")
    path = tmp_path / "summary.pdf"
    path.write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    for phrase in (
        "BÁO CÁO TÓM TẮT KẾT QUẢ CHỈ SỐ CHUYỂN ĐỔI SỐ (DTI)",
        "Khánh Hòa",
        "Điểm theo chỉ số chính",
        "Nhận thức số",
        "Thể chế số",
        "Mức độ hoàn thiện thể chế số",
        "Sở TT&TT",
        "Xếp hạng các cơ quan (thi đua - khen thưởng)",
        "Tổng cộng",
        "250,00",  # appraised total, Vietnamese decimal comma
        "460,00",
    ):
        assert phrase in text, phrase
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout
    # Only the shipped DejaVu Sans (embedded as PortalSans), never a system fallback: the
    # PDF looks the same on every server whatever fonts it has.
    names = [line.split()[0] for line in fonts.splitlines()[2:] if line]
    assert names and all(b"+PortalSans" in n for n in names), fonts
    assert all(b" yes yes " in line for line in fonts.splitlines()[2:] if line)  # embedded


def test_evidence_zip_contains_exactly_the_approved_evidence(world, client_as, reviewer):
    _job, content = run_export(client_as(reviewer), world, "evidence")
    zf = zipfile.ZipFile(io.BytesIO(content))
    names = sorted(zf.namelist())
    assert names == sorted(
        [
            "1.1 Tỷ lệ thôn có tổ công nghệ số/Báo cáo tổ công nghệ số.pdf",
            "1.1 Tỷ lệ thôn có tổ công nghệ số/Danh sách thôn.xlsx",
            "1.2 Ban hành nghị quyết chuyển đổi số/Nghị quyết số 09-NQ-TU.pdf",
            evidence_pack.INDEX_NAME,
        ]
    )
    ev = world.evidence[0]
    with ev.file.open("rb") as fh:
        assert zf.read("1.1 Tỷ lệ thôn có tổ công nghệ số/Báo cáo tổ công nghệ số.pdf") == fh.read()
    index = load_workbook(io.BytesIO(zf.read(evidence_pack.INDEX_NAME))).active
    rows = list(index.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3
    assert {r[5] for r in rows} == {
        "Báo cáo tổ công nghệ số.pdf",
        "Danh sách thôn.xlsx",
        "Nghị quyết số 09-NQ-TU.pdf",
    }
    assert rows[0][6] == "12/QĐ-UBND"


def test_evidence_zip_entries_are_dated_in_the_portal_time_zone(world, client_as, reviewer):
    """A ZIP entry's date is the local wall-clock time (the format has no time zone): the upload
    time in Asia/Ho_Chi_Minh, as every page shows it, not in UTC (7 hours earlier, the day
    before for an evening upload)."""
    import datetime

    from django.utils import timezone

    from evidence.models import EvidenceFile

    uploaded = datetime.datetime(2025, 9, 30, 20, 15, 10, tzinfo=datetime.UTC)
    ev = world.evidence[0]  # 1.1, approved
    EvidenceFile.objects.filter(pk=ev.pk).update(created_at=uploaded)
    _job, content = run_export(client_as(reviewer), world, "evidence")
    info = zipfile.ZipFile(io.BytesIO(content)).getinfo(
        "1.1 Tỷ lệ thôn có tổ công nghệ số/Báo cáo tổ công nghệ số.pdf"
    )
    local = timezone.localtime(uploaded)
    assert str(local.tzinfo) == "Asia/Ho_Chi_Minh"
    assert info.date_time == (2025, 10, 1, 3, 15, 10) == local.timetuple()[:6]


def test_evidence_zip_carries_the_contributions_behind_an_approved_item(db, client_as, reviewer):
    """The coordinating communes' evidence behind the approved 1.1 goes into the pack (what the
    lead consolidated); a contribution the lead returned does not."""
    from .dash_helpers import build_world, put_state, recompute

    w = build_world(extra_agencies=3, tag="-pack")
    recompute(w)
    returned = w.submissions[("1.1", w.extra_agencies[2].code)]
    put_state(returned, "returned")
    _job, content = run_export(client_as(reviewer), w, "evidence")
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    folder = "1.1 Tỷ lệ thôn có tổ công nghệ số/"
    assert f"{folder}Báo cáo xã 0.pdf" in names and f"{folder}Báo cáo xã 1.pdf" in names
    assert f"{folder}Báo cáo xã 2.pdf" not in names
    # 2.1 is not approved: its lead's evidence stays out, and so would its contributions'.
    assert not any(n.startswith("2.1 ") for n in names)


def test_evidence_zip_respects_agency_scope(world, client_as):
    _job, content = run_export(client_as(world.staff["b"]), world, "evidence")
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert names == [
        "1.2 Ban hành nghị quyết chuyển đổi số/Nghị quyết số 09-NQ-TU.pdf",
        evidence_pack.INDEX_NAME,
    ]


def test_unique_names_and_safe_parts():
    used: set[str] = set()
    assert evidence_pack.unique_name("Báo cáo.pdf", used) == "Báo cáo.pdf"
    assert evidence_pack.unique_name("báo cáo.pdf", used) == "báo cáo (2).pdf"
    assert evidence_pack.safe_part('a/b\\c:*?"<>|.pdf') == "a b c .pdf"


def test_large_evidence_pack_runs_as_a_background_job_with_progress(
    world, client_as, reviewer, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.EXPORT_SYNC_MAX_FILES = 1  # 3 approved files: too many for the request

    c = client_as(reviewer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resp = c.post(reverse("scoring:exports") + q(world), {"kind": "evidence"})
    assert resp.status_code == 302
    job = ExportJob.objects.get()
    assert job.state == ExportJob.State.PENDING and len(callbacks) == 1  # enqueued on commit
    page = c.get(resp.url).content.decode()
    assert 'hx-trigger="every 2s"' in page and "export-progress-bar" in page

    orig = services.export_job_run

    def run_with_spy(*, job_id):
        job = ExportJob.objects.get(pk=job_id)
        assert job.state == ExportJob.State.PENDING
        return orig(job_id=job_id)

    monkeypatch.setattr(services, "export_job_run", run_with_spy)
    callbacks[0]()  # the worker runs the Celery task (eager in tests)
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE and job.progress == 100 and job.started_at
    part = c.get(resp.url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in part and "export-download" in part
    assert "hx-trigger" not in part  # finished: polling stops


def test_province_pdf_with_many_agencies_runs_in_the_background(
    world, client_as, leader, settings, django_capture_on_commit_callbacks
):
    """A province-wide PDF lists every agency's league row: above EXPORT_SYNC_MAX_AGENCIES it
    is made by the worker, not inside the request; agency staff's PDF (their own row) is not."""
    settings.EXPORT_SYNC_MAX_AGENCIES = 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resp = client_as(leader).post(reverse("scoring:exports") + q(world), {"kind": "pdf"})
    assert resp.status_code == 302
    job = ExportJob.objects.get()
    assert job.state == ExportJob.State.PENDING and len(callbacks) == 1
    callbacks[0]()  # the worker runs it (eager in tests)
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE and job.file.read(4) == b"%PDF"
    own, _content = run_export(client_as(world.staff["b"]), world, "pdf")  # in the request
    assert own.state == ExportJob.State.DONE


def test_progress_is_recorded_while_running(world, reviewer):
    job = services.export_job_create(
        user=reviewer,
        kind="evidence",
        framework=world.framework,
        period=world.period,
        enqueue=False,
    )
    marks: list[int] = []

    def progress_spy(done, total):
        marks.append(int(done * 100 / total))

    with open("/dev/null", "wb") as out:
        services.render_export(
            user=reviewer,
            kind="evidence",
            framework=world.framework,
            period=world.period,
            out=out,
            progress=progress_spy,
        )
    assert marks == [33, 66, 100]
    done = services.export_job_run(job_id=str(job.pk))
    assert done.state == "done" and done.progress == 100 and done.size > 0


def test_download_is_the_requesters_only(world, client_as, api_as, reviewer, leader, user_b):
    job, _ = run_export(client_as(reviewer), world, "excel")
    assert (
        client_as(leader).get(reverse("scoring:export_download", args=[job.pk])).status_code == 404
    )
    assert client_as(user_b).get(reverse("scoring:export_job", args=[job.pk])).status_code == 404
    assert api_as(leader).get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert api_as(reviewer).get(f"/api/v1/exports/{job.pk}/").json()["state"] == "done"
    assert api_as(reviewer).get(f"/api/v1/exports/{job.pk}/download/").status_code == 200


def test_export_api_creates_a_job(world, api_as, leader):
    r = api_as(leader).post(
        "/api/v1/exports/",
        {"kind": "pdf", "framework": world.framework.code, "period": world.period.pk},
        format="json",
    )
    assert r.status_code == 202, r.content
    assert r.json()["kind"] == "pdf"
    job = ExportJob.objects.get(pk=r.json()["id"])
    assert job.requested_by == leader
    r = api_as(leader).post("/api/v1/exports/", {"kind": "nope"}, format="json")
    assert r.status_code == 400


def test_export_api_list_is_paginated_like_every_list(world, api_as, leader, reviewer):
    """API.md: lists are paginated (``results``, ``count``, ``next``); the caller's own jobs,
    newest first, every one of them reachable page by page."""
    for _ in range(52):
        services.export_job_create(
            user=leader, kind="excel", framework=world.framework, period=world.period, enqueue=False
        )
    services.export_job_create(
        user=reviewer, kind="pdf", framework=world.framework, period=world.period, enqueue=False
    )
    api = api_as(leader)
    first = api.get("/api/v1/exports/").json()
    assert first["count"] == 52 and len(first["results"]) == 50 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    ids = [j["id"] for j in first["results"] + second["results"]]
    mine = ExportJob.objects.filter(requested_by=leader).order_by("-created_at", "-pk")
    assert len(set(ids)) == 52 and set(ids) == {str(pk) for pk in mine.values_list("pk", flat=True)}


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_pdf_respects_agency_scope(world, client_as, tmp_path):
    _job, content = run_export(client_as(world.staff["b"]), world, "pdf")
    path = tmp_path / "b.pdf"
    path.write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    assert "Ban hành quy chế dữ liệu" in text and "Sở Nội vụ" in text
    assert "Tỷ lệ thôn có tổ công nghệ số" not in text  # not B's
    assert "Sở Du lịch" not in text  # other agencies' league rows are not B's to see


def test_export_job_selectors_scope_to_the_requester(world, reviewer, leader, admin_user):
    """The one place export jobs are scoped: lists show one's own jobs; an administrator may
    also open anyone's; anything else is a 404."""
    from django.http import Http404

    from scoring.exports.selectors import export_job_get, export_job_list

    job = services.export_job_create(
        user=reviewer, kind="excel", framework=world.framework, period=world.period, enqueue=False
    )
    assert list(export_job_list(user=reviewer)) == [job]
    assert list(export_job_list(user=admin_user)) == []
    assert export_job_get(user=admin_user, pk=job.pk) == job
    for user, pk in ((leader, job.pk), (reviewer, "not-a-uuid"), (reviewer, None)):
        with pytest.raises(Http404):
            export_job_get(user=user, pk=pk)
