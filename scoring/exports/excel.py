"""Excel export in the appendix layout (STT, chỉ số, điểm tối đa, cơ quan phụ trách, phối hợp;
a group row (I, II) with its subtotals above its main indices when the framework has groups)
with the self-assessed, appraised and final points, the state, the evidence count and the
approved reported values per row; a sheet of the approved values one measure per row (for typing
the national round into dti.gov.vn), a sheet per main index and a sheet of agency results. Built
over the scoped score table.

Text in the cells (names, reported values, anything an agency typed) is never written as a
formula (:mod:`dti_portal.spreadsheet`).

The reported values appear twice, for two readers. The appendix keeps one row per sub-indicator
(the Decision's appendix layout, with totals that add up), so its "Số liệu báo cáo" column holds
the values as ``label: value unit`` lines in Vietnamese number format, read next to the points.
The "Số liệu báo cáo" sheet has one row per measure, in the order of the dti.gov.vn form: the
clerk who types the national round goes down it line by line, each value a number cell (sortable,
checkable) with its unit beside it, and can filter by code.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dti_portal.spreadsheet import write_cell

from ..dashboards.league import LeagueRow
from ..dashboards.selectors import KINDS, GroupRow, MainRow, ScoreTable, SubRow, dti_scale
from .reported import ReportedItem

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
    "Số liệu báo cáo (đã duyệt)",
]
WIDTHS = [8, 60, 11, 24, 30, 12, 12, 12, 20, 11, 40]
VALUES_SHEET = "Số liệu báo cáo"
VALUES_HEADERS = [
    "Mã chỉ số",
    "Chỉ số thành phần",
    "Cơ quan báo cáo",
    "Chỉ tiêu",
    "Giá trị",
    "Đơn vị",
    "Điểm thẩm định",
    "Điểm cuối cùng",
]
VALUES_WIDTHS = [10, 50, 30, 45, 16, 12, 12, 12]
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
GROUP_FILL = PatternFill("solid", fgColor="BDD7EE")
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
        c = write_cell(ws, row, col, value)
        c.border = BORDER
        c.alignment = WRAP
        if col in (3, 6, 7, 8) and isinstance(value, Decimal | int | float):
            c.number_format = POINTS_FORMAT
        if style == "group":
            c.font, c.fill = BOLD, GROUP_FILL
        elif style == "main":
            c.font, c.fill = BOLD, MAIN_FILL
        elif style == "total":
            c.font, c.fill = BOLD, TOTAL_FILL


def _main_values(m: MainRow | GroupRow) -> list[Any]:
    """A main index's row, or a group's (I, II) with its main indices' subtotals."""
    return [m.code, m.name, m.max_points, "", "", *(m.points[k] for k in KINDS), "", None, ""]


def _sub_values(s: SubRow, reported: Mapping[int, ReportedItem]) -> list[Any]:
    item = reported.get(s.indicator_id)
    return [
        s.code,
        s.name,
        s.max_points,
        s.lead_agency or "-",
        ", ".join(s.coordinators) or "-",
        *(s.points[k] for k in KINDS),
        s.state_label,
        s.evidence_count,
        item.text if item else "",
    ]


def _total_values(table: ScoreTable) -> list[Any]:
    totals = (table.totals[k] for k in KINDS)
    return ["", "Tổng cộng", table.max_total, "", "", *totals, "", None, ""]


def _dti_values(table: ScoreTable) -> list[Any]:
    """The row under the total: the province's DTI (total ÷ the framework's total); for an
    agency's part, as its dashboard shows it, the share of the points assigned to it (its part
    ÷ 1000 is no DTI, and the province's DTI is not the agency's to see)."""
    if table.province_scope:
        scale = dti_scale(table.framework).normalize()
        label = f"Chỉ số DTI (tổng điểm ÷ {scale:f})"
        figures = [table.dti(k) for k in KINDS]
    else:
        label = "Tỷ lệ đạt so với điểm được giao"
        figures = [
            t / table.max_total if (t is not None and table.max_total > 0) else None
            for t in (table.totals[k] for k in KINDS)
        ]
    return ["", label, None, "", "", *figures, "", None, ""]


def _value_format(number: Decimal) -> str:
    """A number format showing the value's own decimals (at most 4), grouped thousands; Excel
    displays it with the reader's separators (1.234,5 on a Vietnamese system)."""
    places = min(max(0, -int(number.normalize().as_tuple().exponent)), 4)
    return "#,##0" + ("." + "0" * places if places else "")


def write_values_sheet(ws: Worksheet, items: Sequence[ReportedItem], *, first_row: int) -> None:
    """The approved values, one measure per row (header at ``first_row``). Code, name and agency
    repeat on every row so a filter keeps them; the points are on the sub-indicator's first row
    only, so a sum of the column is the sum of the points."""
    _header(ws, first_row, VALUES_HEADERS, VALUES_WIDTHS)
    row = first_row + 1
    for item in items:
        for i, v in enumerate(item.values or [None]):
            points = [item.appraised_points, item.final_points] if i == 0 else [None, None]
            value: Any = v.number if v is not None and v.number is not None else None
            if value is None and v is not None:
                value = v.text
            cells = [item.code, item.name, item.agency]
            cells += [v.label if v else "", value, v.unit if v else "", *points]
            for col, cell_value in enumerate(cells, start=1):
                c = write_cell(ws, row, col, cell_value)
                c.border, c.alignment = BORDER, WRAP
                if col == 5 and isinstance(cell_value, Decimal):
                    c.number_format = _value_format(cell_value)
                elif col in (7, 8) and cell_value is not None:
                    c.number_format = POINTS_FORMAT
            row += 1


def build_workbook(
    table: ScoreTable,
    league_rows: Sequence[LeagueRow],
    reported: Mapping[int, ReportedItem] | None = None,
) -> bytes:
    """The .xlsx file as bytes; ``reported`` (indicator id → approved values, from
    :func:`.reported.approved_values` in the same scope) fills the values column and sheet."""
    reported = reported or {}
    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_title("Phụ lục", used)
    row = _title_block(ws, "KẾT QUẢ ĐÁNH GIÁ CHỈ SỐ CHUYỂN ĐỔI SỐ (DTI)", table, len(HEADERS))
    _header(ws, row, HEADERS, WIDTHS)
    row += 1
    groups = {g.code: g for g in table.groups}
    for m in table.mains:
        group = groups.pop(m.group_code, None)  # the group's row above its first main index
        if group is not None:
            _write_row(ws, row, _main_values(group), style="group")
            row += 1
        _write_row(ws, row, _main_values(m), style="main")
        row += 1
        for s in m.subs:
            _write_row(ws, row, _sub_values(s, reported))
            row += 1
    _write_row(ws, row, _total_values(table), style="total")
    row += 1
    _write_row(ws, row, _dti_values(table), style="total")
    for col in (6, 7, 8):
        ws.cell(row=row, column=col).number_format = VALUE_FORMAT

    ws = wb.create_sheet(sheet_title(VALUES_SHEET, used))
    row = _title_block(ws, "SỐ LIỆU BÁO CÁO ĐÃ ĐƯỢC SỞ KH&CN DUYỆT", table, len(VALUES_HEADERS))
    visible = [s.indicator_id for s in table.subs]
    write_values_sheet(ws, [reported[i] for i in visible if i in reported], first_row=row)

    for m in table.mains:
        ws = wb.create_sheet(sheet_title(f"{m.code} {m.name}", used))
        row = _title_block(ws, f"Chỉ số chính {m.code}. {m.name}", table, len(HEADERS))
        _header(ws, row, HEADERS, WIDTHS)
        row += 1
        for s in m.subs:
            _write_row(ws, row, _sub_values(s, reported))
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
            f"{f.on_time}/{f.due_items}" if f.due_items else "—",
            r.timeliness,
            f.returns if f.due_items else "—",
            r.band or _unranked_label(r),
            r.previous_rank,
        ]
        for col, value in enumerate(values, start=1):
            c = write_cell(ws, row, col, value)
            c.border, c.alignment = BORDER, WRAP
            if col in (3, 4, 5, 9):
                c.number_format = POINTS_FORMAT
        row += 1

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _unranked_label(row: Any) -> str:
    """As the league page and the PDF say it (the workbook is in Vietnamese, the appendix's
    language)."""
    if row.rank is not None:
        return ""
    if row.unranked_reason == "unassigned":
        return "Chưa xếp hạng: không được giao chỉ số trong kỳ"
    return "Chưa xếp hạng: chưa gửi báo cáo"
