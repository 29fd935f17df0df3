"""Evidence pack for the national round: a ZIP with a folder per sub-indicator holding exactly the
approved evidence files under their original names, and an index spreadsheet: the evidence list
("Danh mục") and the approved reported values with the appraised and final points, one measure
per row ("Số liệu báo cáo", see :mod:`.excel` for why), so the pack alone is enough to type the
national round.

Scope: province users get every approved submission of the period; agency staff those of their
own agency and of the sub-indicators it leads. Text an agency typed (summary, number, issuer,
names) is never written as a formula (:mod:`dti_portal.spreadsheet`).
"""

from __future__ import annotations

import io
import re
import shutil
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO, Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from dti_portal.spreadsheet import append_row
from evidence.models import EvidenceFile, ReportingPeriod, Submission
from indicators.models import Framework

from ..dashboards.selectors import snapshots_for
from .excel import VALUES_SHEET, write_values_sheet
from .reported import ReportedItem, approved_values

INDEX_NAME = "Danh mục tài liệu kiểm chứng.xlsx"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
INDEX_HEADERS = [
    "STT",
    "Mã chỉ số",
    "Chỉ số thành phần",
    "Cơ quan",
    "Tệp trong gói",
    "Tên tệp gốc",
    "Số hiệu",
    "Ngày ban hành",
    "Cơ quan ban hành",
    "Trích yếu",
    "Đường dẫn",
    "SHA-256",
    "Dung lượng (byte)",
]

Progress = Callable[[int, int], None]


def safe_part(text: str, limit: int = 80) -> str:
    """A file or folder name that is safe in a ZIP on every OS, diacritics kept (NFC)."""
    text = unicodedata.normalize("NFC", text or "")
    text = _UNSAFE.sub(" ", text).strip().strip(".")
    text = re.sub(r"\s+", " ", text)
    return text[:limit].strip() or "tep"


def folder_name(code: str, name: str) -> str:
    return safe_part(f"{code} {name}", 80)


def unique_name(name: str, used: set[str]) -> str:
    """``name``, or ``stem (2).ext`` when already used in the same folder (case-insensitive)."""
    if name.lower() not in used:
        used.add(name.lower())
        return name
    p = PurePosixPath(name)
    n = 2
    while True:
        candidate = f"{p.stem} ({n}){p.suffix}"
        if candidate.lower() not in used:
            used.add(candidate.lower())
            return candidate
        n += 1


def approved_evidence(
    *, user: Any, framework: Framework, period: ReportingPeriod
) -> QuerySet[EvidenceFile]:
    """The approved evidence of the period within the user's scope, in appendix order: the
    evidence of every approved submission, and of the coordinating agencies' contributions sent
    to the lead of an approved sub-indicator (they back the consolidated figures; a contribution
    the lead returned, or never received, is left out)."""
    approved_items = Submission.objects.filter(
        period=period, state=Submission.State.APPROVED
    ).values("indicator_id")
    qs = EvidenceFile.objects.filter(
        Q(submission__state=Submission.State.APPROVED)
        | Q(
            submission__state=Submission.State.SUBMITTED_TO_LEAD,
            submission__indicator_id__in=approved_items,
        ),
        submission__period=period,
        submission__indicator__framework=framework,
    ).select_related("submission__indicator", "submission__agency")
    if not getattr(user, "sees_province", False):
        agency_id = getattr(user, "agency_id", None)
        qs = qs.filter(
            Q(submission__agency_id=agency_id) | Q(submission__indicator__lead_agency_id=agency_id)
        )
    return qs.order_by(
        "submission__indicator__sort_key", "submission__agency__name", "created_at", "id"
    )


def write_pack(
    out: IO[bytes],
    evidence: list[EvidenceFile],
    *,
    reported: list[ReportedItem] | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Writes the ZIP to ``out``; returns the index rows."""
    rows: list[dict[str, Any]] = []
    used: dict[str, set[str]] = {}
    total = len(evidence)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for i, ev in enumerate(evidence, start=1):
            ind = ev.submission.indicator
            folder = folder_name(ind.code, ind.name)
            arcname = ""
            if ev.kind == EvidenceFile.Kind.FILE and ev.file:
                name = unique_name(
                    safe_part(ev.original_name or PurePosixPath(ev.file.name or "").name, 150),
                    used.setdefault(folder, set()),
                )
                arcname = f"{folder}/{name}"
                info = zipfile.ZipInfo(arcname)
                info.compress_type = zipfile.ZIP_DEFLATED
                # A ZIP date is wall-clock time: the upload time where the portal is.
                created = (
                    timezone.localtime(ev.created_at).timetuple()[:6] if ev.created_at else None
                )
                if created and created[0] >= 1980:
                    info.date_time = created
                with ev.file.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            rows.append(
                {
                    "code": ind.code,
                    "indicator": ind.name,
                    "agency": ev.submission.agency.name,
                    "path": arcname,
                    "original_name": ev.original_name,
                    "doc_number": ev.doc_number,
                    "doc_date": ev.doc_date,
                    "issuer": ev.issuer,
                    "summary": ev.summary,
                    "url": ev.url,
                    "sha256": ev.sha256,
                    "size": ev.size,
                }
            )
            if progress:
                progress(i, total)
        zf.writestr(INDEX_NAME, index_workbook(rows, reported or []))
    return rows


def index_workbook(rows: list[dict[str, Any]], reported: list[ReportedItem]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Danh mục"
    ws.append(INDEX_HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for n, r in enumerate(rows, start=1):
        append_row(
            ws,
            [
                n,
                r["code"],
                r["indicator"],
                r["agency"],
                r["path"],
                r["original_name"],
                r["doc_number"],
                r["doc_date"],
                r["issuer"],
                r["summary"],
                r["url"],
                r["sha256"],
                r["size"],
            ],
        )
        if r["doc_date"]:
            ws.cell(row=n + 1, column=8).number_format = "dd/mm/yyyy"
    widths = [6, 10, 50, 30, 50, 40, 16, 14, 30, 50, 40, 20, 14]
    for col, width in zip("ABCDEFGHIJKLM", widths, strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    write_values_sheet(wb.create_sheet(VALUES_SHEET), reported, first_row=1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_evidence_pack(
    out: IO[bytes],
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod,
    progress: Progress | None = None,
) -> int:
    """Writes the scoped evidence pack to ``out``; returns the number of evidence rows."""
    evidence = list(approved_evidence(user=user, framework=framework, period=period))
    reported = approved_values(
        user=user, framework=framework, period=period, snapshots=snapshots_for(framework, period)
    )
    return len(write_pack(out, evidence, reported=list(reported.values()), progress=progress))
