"""Excel export in the appendix layout (STT, chỉ số, điểm tối đa, cơ quan phụ trách, phối hợp)
with the self-assessed, appraised and final points, the state and the evidence count per row; a
sheet per main index and a sheet of agency results. Built over the scoped score table."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..dashboards.league import LeagueRow
from ..dashboards.selectors import KINDS, MainRow, ScoreTable, SubRow

HEADERS = [
    "STT",
    "Chỉ số",
    "Điểm tối đa",
    "Cơ quan phụ trách",
    "Cơ quan phối hợp",
    "Điểm tự chấm",
    "Điểm thẩm định",
    "Điểm cuối cùng",
    "Trạng thái",
    "Số minh chứng",
]
WIDTHS = [8, 60, 11, 24, 30, 12, 12, 12, 20, 11]
LEAGUE_HEADERS = [
    "Hạng",
    "Cơ quan",
    "Điểm đạt (chủ trì)",
    "Điểm được giao (chủ trì)",
    "Tỷ lệ đạt (%)",
    "Chỉ số phối hợp",
    "Đã đóng góp (phối hợp)",
    "Đúng hạn / phải nộp",
    "Đúng hạn (%)",
    "Số lần bị trả lại",
    "Xếp loại",
    "Hạng kỳ trước",
]
LEAGUE_WIDTHS = [7, 40, 14, 14, 12, 12, 14, 14, 12, 12, 14, 12]
POINTS_FORMAT = "#,##0.00"
VALUE_FORMAT = "0.0000"

THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
MAIN_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="FCE4D6")
HEADER_FONT = Font(bold=True, color="FFFFFF")
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_title(text: str, used: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 characters, no []:*?/\\)."""
    base = _BAD_SHEET_CHARS.sub(" ", text).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


def _title_block(ws: Worksheet, title: str, table: ScoreTable, ncols: int) -> int:
    """Writes the title block; returns the next free row."""
    ws.cell(row=1, column=1, value=title).font = TITLE_FONT
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    period = str(table.period) if table.period else "—"
    scope = "Toàn tỉnh" if table.province_scope else "Phạm vi cơ quan"
    ws.cell(
        row=2,
        column=1,
        value=f"{settings.PROVINCE_NAME} · {table.framework.name} · Kỳ: {period} · {scope}",
    )
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
    ws.cell(
        row=3,
        column=1,
        value="Xuất lúc " + timezone.localtime().strftime("%H:%M %d/%m/%Y"),
    ).font = Font(italic=True, color="666666")
    return 5


def _header(ws: Worksheet, row: int, headers: Sequence[str], widths: Sequence[int]) -> None:
    for col, (text, width) in enumerate(zip(headers, widths, strict=True), start=1):
        c = ws.cell(row=row, column=col, value=text)
        c.font, c.fill, c.alignment, c.border = HEADER_FONT, HEADER_FILL, CENTER, BORDER
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=row + 1, column=3)
    ws.row_dimensions[row].height = 32


def _write_row(ws: Worksheet, row: int, values: Sequence[Any], *, style: str = "") -> None:
    for col, value in enumerate(values, start=1):
        c = ws.cell(row=row, column=col, value=value)
        c.border = BORDER
        c.alignment = WRAP
        if col in (3, 6, 7, 8) and isinstance(value, Decimal | int | float):
            c.number_format = POINTS_FORMAT
        if style == "main":
            c.font, c.fill = BOLD, MAIN_FILL
        elif style == "total":
            c.font, c.fill = BOLD, TOTAL_FILL


def _main_values(m: MainRow) -> list[Any]:
    return [m.code, m.name, m.max_points, "", "", *(m.points[k] for k in KINDS), "", None]


def _sub_values(s: SubRow) -> list[Any]:
    return [
        s.code,
        s.name,
        s.max_points,
        s.lead_agency or "-",
        ", ".join(s.coordinators) or "-",
        *(s.points[k] for k in KINDS),
        s.state_label,
        s.evidence_count,
    ]


def _total_values(table: ScoreTable) -> list[Any]:
    return ["", "Tổng cộng", table.max_total, "", "", *(table.totals[k] for k in KINDS), "", None]


def build_workbook(table: ScoreTable, league_rows: Sequence[LeagueRow]) -> bytes:
    """The .xlsx file as bytes."""
    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_title("Phụ lục", used)
    row = _title_block(ws, "KẾT QUẢ ĐÁNH GIÁ CHỈ SỐ CHUYỂN ĐỔI SỐ (DTI)", table, len(HEADERS))
    _header(ws, row, HEADERS, WIDTHS)
    row += 1
    for m in table.mains:
        _write_row(ws, row, _main_values(m), style="main")
        row += 1
        for s in m.subs:
            _write_row(ws, row, _sub_values(s))
            row += 1
    _write_row(ws, row, _total_values(table), style="total")
    row += 1
    dti_row: list[Any] = ["", "Chỉ số DTI (tổng điểm ÷ 1000)", None, "", ""]
    dti_row += [table.dti(k) for k in KINDS] + ["", None]
    _write_row(ws, row, dti_row, style="total")
    for col in (6, 7, 8):
        ws.cell(row=row, column=col).number_format = VALUE_FORMAT

    for m in table.mains:
        ws = wb.create_sheet(sheet_title(f"{m.code} {m.name}", used))
        row = _title_block(ws, f"Chỉ số chính {m.code}. {m.name}", table, len(HEADERS))
        _header(ws, row, HEADERS, WIDTHS)
        row += 1
        for s in m.subs:
            _write_row(ws, row, _sub_values(s))
            row += 1
        _write_row(ws, row, ["", "Cộng", *_main_values(m)[2:]], style="total")

    ws = wb.create_sheet(sheet_title("Kết quả cơ quan", used))
    row = _title_block(ws, "KẾT QUẢ CỦA CÁC CƠ QUAN (THI ĐUA - KHEN THƯỞNG)", table, 12)
    _header(ws, row, LEAGUE_HEADERS, LEAGUE_WIDTHS)
    row += 1
    for r in league_rows:
        f = r.figures
        values = [
            r.rank if r.rank is not None else "—",
            f.name,
            f.lead_points,
            f.lead_max_points,
            r.score,
            f.coord_items,
            f.coord_contributed,
            f"{f.on_time}/{f.due_items}",
            r.timeliness,
            f.returns,
            r.band or "Không xếp hạng",
            r.previous_rank,
        ]
        for col, value in enumerate(values, start=1):
            c = ws.cell(row=row, column=col, value=value)
            c.border, c.alignment = BORDER, WRAP
            if col in (3, 4, 5, 9):
                c.number_format = POINTS_FORMAT
        row += 1

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
