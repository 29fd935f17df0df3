"""Reading a framework workbook into plain rows (``ParsedNode``), without touching the database.

Two layouts are recognised by their header row:

- **appendix** — the layout provinces publish (e.g. Khánh Hòa's Phụ lục I 2025): a title block of
  any height, then a header with STT / name / max points and optionally the lead ("phụ trách",
  "chủ trì") and coordinating ("phối hợp") agency columns, a scoring-method column, an evidence
  column. Codes decide the level: "I", "II" → group; "1" → main index; "1.2" → sub-indicator;
  "1.2.3" → criterion (a trailing dot is ignored). Agency cells merged over several rows apply to
  each row of the merge (the value is in the first cell); an empty cell that no merge covers
  means "none", as does "-". A final "Tổng cộng" row gives the total; "Ghi chú" ends the table.
- **template** — the portal's own clean template written by ``export_framework``: one row per
  node with an explicit parent code and level, plus JSON columns for the scoring rule and the
  measures, and a "Thông tin" sheet with the framework's metadata.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from agencies.spreadsheets import cell_text
from agencies.text import normalize_name

HEADER_SCAN_ROWS = 40

TEMPLATE_SHEET = "Bộ chỉ số"
META_SHEET = "Thông tin"
TEMPLATE_COLUMNS = [
    ("code", "Mã"),
    ("parent", "Mã cấp trên"),
    ("level", "Cấp"),
    ("name", "Tên"),
    ("points", "Điểm tối đa"),
    ("lead", "Cơ quan chủ trì"),
    ("coord", "Cơ quan phối hợp"),
    ("method", "Phương pháp tính điểm"),
    ("guidance", "Hướng dẫn tài liệu kiểm chứng"),
    ("ministry", "Bộ KH&CN tự đo"),
    ("rule", "Quy tắc tính điểm (JSON)"),
    ("measures", "Số liệu báo cáo (JSON)"),
]
META_FIELDS = [
    ("code", "Mã bộ chỉ số"),
    ("name", "Tên bộ chỉ số"),
    ("year", "Năm"),
    ("decision", "Văn bản ban hành"),
    ("unit_type", "Đối tượng đánh giá"),
    ("total_points", "Tổng điểm"),
]
LEVEL_WORDS = {
    "group": "group",
    "nhom": "group",
    "main": "main",
    "chi so chinh": "main",
    "sub": "sub",
    "chi so thanh phan": "sub",
    "criterion": "criterion",
    "tieu chi": "criterion",
}
LEVEL_DEPTH = {"group": 0, "main": 1, "sub": 2, "criterion": 3}

_ROMAN = re.compile(r"^(?=[IVXL])(L?X{0,3})(IX|IV|V?I{0,3})$")
_LETTER = re.compile(r"^[A-H]$")
_MAIN = re.compile(r"^\d+$")
_SUB = re.compile(r"^\d+\.\d+$")
_CRIT = re.compile(r"^\d+\.\d+\.\d+$")
_COLUMN_NUMBERING = re.compile(r"^\(?\d+\)?$")
_MAX_DECIMALS = 2


class ParseError(Exception):
    """The file cannot be imported; ``errors`` are Vietnamese, row-numbered messages."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class ParsedNode:
    row: int
    code: str
    name: str
    level: str
    max_points: Decimal | None
    parent_code: str | None = None
    lead_text: str = ""
    coord_text: str = ""
    scoring_method: str = ""
    evidence_guidance: str = ""
    is_ministry_measured: bool = False
    scoring_rule: dict[str, Any] | None = None
    measures: list[dict[str, Any]] | None = None


@dataclass
class ParsedFramework:
    layout: str  # "appendix" | "template"
    sheet: str
    nodes: list[ParsedNode]
    total_points: Decimal | None = None
    total_row: int | None = None
    has_agency_columns: bool = False
    title: str = ""
    decision: str = ""
    meta: dict[str, str] = field(default_factory=dict)


def row_error(row: int, message: str) -> str:
    return _("Dòng %(row)s: %(message)s") % {"row": row, "message": message}


def normalize_code(value: object) -> str:
    """ "1.2." → "1.2", " ii " → "II"; numbers as Excel stores them (1 → "1")."""
    text = cell_text(value).replace(" ", "").rstrip(".")
    return text.upper() if _ROMAN.match(text.upper()) else text


def level_of(code: str) -> str | None:
    if _MAIN.match(code):
        return "main"
    if _SUB.match(code):
        return "sub"
    if _CRIT.match(code):
        return "criterion"
    if code and (_ROMAN.match(code) or _LETTER.match(code)):
        return "group"
    return None


# The text forms of a points cell, tried in order (an optional "-": a negative is refused later
# with its own message). Anything else ("1/2", "7/10", "abc", "1e3") is not a number.
_POINTS_FORMS: list[tuple[re.Pattern[str], str, str]] = [
    # (pattern, thousands separator to drop, decimal separator to read as ".")
    (re.compile(r"-?\d+", re.ASCII), "", ""),
    # Vietnamese: "1.000", "1.000,5" ("0.125" is not a thousands group: points never have 3
    # decimals, so "1.000" is a thousand)
    (re.compile(r"-?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?", re.ASCII), ".", ","),
    (re.compile(r"-?\d+,\d+", re.ASCII), "", ","),  # Vietnamese decimal: "2,5"
    (re.compile(r"-?[1-9]\d{0,2}(?:,\d{3})+\.\d+", re.ASCII), ",", ""),  # English: "1,000.5"
    (re.compile(r"-?\d+\.\d+", re.ASCII), "", ""),  # English decimal: "2.5"
]
# A unit word after the number: "40 điểm", "20 đ".
_POINTS_UNIT = re.compile(r"\s*(?:điểm|đ)\.?$", re.IGNORECASE)


def _points_text(value: object) -> str:
    """The canonical decimal text of a points cell written as text; ValueError if it is not a
    number in Vietnamese or English notation (optionally followed by "điểm" or "đ")."""
    text = _POINTS_UNIT.sub("", unicodedata.normalize("NFC", str(value)).strip())
    for pattern, thousands, decimal in _POINTS_FORMS:
        if pattern.fullmatch(text):
            if thousands:
                text = text.replace(thousands, "")
            return text.replace(decimal, ".") if decimal else text
    raise ValueError(str(value))


def parse_points(value: object) -> Decimal | None:
    """Points from a number or text: 10, "10", "7,5", "7.5", "1.000,5" (vi), "1,000.5" (en),
    " 20 đ", "40 điểm". Any other text raises ValueError (the caller names the row)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(str(value))
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        number = Decimal(_points_text(value))
    if not number.is_finite():
        raise ValueError(str(value))
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > _MAX_DECIMALS:
        raise ValueError(str(value))
    try:
        return number.quantize(Decimal("0.01"))
    except InvalidOperation as exc:  # found by the importer fuzz test: e.g. 1e+26 points
        raise ValueError(str(value)) from exc


def _merged_fill(ws: Worksheet, columns: set[int]) -> dict[tuple[int, int], object]:
    """(row, column) → value of the top-left cell, for every cell of a merge in ``columns``."""
    fill: dict[tuple[int, int], object] = {}
    for rng in ws.merged_cells.ranges:
        cols = {c for c in range(rng.min_col, rng.max_col + 1) if c in columns}
        if not cols:
            continue
        value = ws.cell(rng.min_row, rng.min_col).value
        for r in range(rng.min_row, rng.max_row + 1):
            for c in cols:
                fill[(r, c)] = value
    return fill


def _classify_header(text: str) -> str | None:
    key = normalize_name(text)
    if not key:
        return None
    if "ma cap tren" in key:
        return "parent"
    if "phoi hop" in key:
        return "coord"
    if "phu trach" in key or "chu tri" in key:
        return "lead"
    if "phuong phap" in key or "cach tinh" in key:
        return "method"
    if "kiem chung" in key or "minh chung" in key:
        return "guidance"
    if "tu do" in key:
        return "ministry"
    if "quy tac" in key:
        return "rule"
    if "so lieu" in key:
        return "measures"
    if key == "cap":
        return "level"
    if "diem" in key:
        return "points"
    if key in {"stt", "tt", "ma", "so tt", "so thu tu", "ma so", "ma chi so"}:
        return "code"
    if "chi so" in key or key.startswith("ten") or "noi dung" in key or "tieu chi" in key:
        return "name"
    return None


def _find_header(ws: Worksheet) -> tuple[int, dict[str, int]] | None:
    for r, row in enumerate(
        ws.iter_rows(min_row=1, max_row=min(ws.max_row or 0, HEADER_SCAN_ROWS), values_only=True),
        start=1,
    ):
        cols: dict[str, int] = {}
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            kind = _classify_header(str(value))
            if kind is not None and kind not in cols:
                cols[kind] = c
        if {"code", "name", "points"} <= cols.keys():
            return r, cols
    return None


def parse_workbook(wb: Workbook) -> ParsedFramework:
    """Finds the sheet with a recognisable header and parses it (see the module docstring)."""
    for ws in wb.worksheets:
        found = _find_header(ws)
        if found is None:
            continue
        header_row, cols = found
        if "parent" in cols and "level" in cols:
            return _parse_template(wb, ws, header_row, cols)
        return _parse_appendix(ws, header_row, cols)
    raise ParseError(
        [
            _(
                "Không tìm thấy dòng tiêu đề của bảng chỉ số (cần các cột “STT”/“Mã”, "
                "“Chỉ số”/“Tên” và “Điểm tối đa”) trong %(n)s dòng đầu của các trang tính."
            )
            % {"n": HEADER_SCAN_ROWS}
        ]
    )


def _title_block(ws: Worksheet, header_row: int) -> tuple[str, str]:
    lines = []
    for row in ws.iter_rows(min_row=1, max_row=header_row - 1, values_only=True):
        text = " ".join(cell_text(v) for v in row if cell_text(v))
        if text:
            lines.append(text)
    decision = next((ln.strip("() ") for ln in lines if "ban hanh" in normalize_name(ln)), "")
    title_lines = [ln for ln in lines if ln.strip("() ") != decision]
    title = max(title_lines, key=len) if title_lines else ""
    return title, decision


def _parse_appendix(ws: Worksheet, header_row: int, cols: dict[str, int]) -> ParsedFramework:
    errors: list[str] = []
    agency_cols = {cols[k] for k in ("lead", "coord", "method", "guidance") if k in cols}
    fill = _merged_fill(ws, agency_cols)
    title, decision = _title_block(ws, header_row)
    parsed = ParsedFramework(
        layout="appendix",
        sheet=ws.title,
        nodes=[],
        has_agency_columns="lead" in cols or "coord" in cols,
        title=title,
        decision=decision,
    )

    def value(r: int, row: tuple[Any, ...], key: str) -> object:
        c = cols.get(key)
        if c is None:
            return None
        v = row[c - 1] if c - 1 < len(row) else None
        if v is None and (r, c) in fill:
            v = fill[(r, c)]
        return v

    current_group: str | None = None
    for r, row in enumerate(
        ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1
    ):
        raw_code = cell_text(value(r, row, "code"))
        name = " ".join(cell_text(value(r, row, "name")).split())
        if not raw_code and not name:
            continue
        key_name, key_code = normalize_name(name), normalize_name(raw_code)
        if key_name.startswith("ghi chu") or key_code.startswith("ghi chu"):
            break
        if (
            key_name.startswith("tong cong")
            or key_code.startswith("tong cong")
            or key_name in {"tong", "tong diem", "tong so diem"}
            or key_code in {"tong", "tong diem"}
        ):
            try:
                parsed.total_points = parse_points(value(r, row, "points"))
            except ValueError:
                errors.append(row_error(r, _("điểm của dòng “Tổng cộng” không phải là số.")))
            parsed.total_row = r
            continue
        if _COLUMN_NUMBERING.match(name) and _COLUMN_NUMBERING.match(raw_code or "0"):
            continue  # a "(1) (2) (3)" column-numbering row under the header
        code = normalize_code(raw_code)
        if not code:
            errors.append(row_error(r, _("thiếu mã (STT) của “%(name)s”.") % {"name": name[:80]}))
            continue
        level = level_of(code)
        if level is None:
            errors.append(
                row_error(
                    r,
                    _("mã “%(code)s” không hợp lệ (cần dạng I, 1, 1.2 hoặc 1.2.3).")
                    % {"code": raw_code},
                )
            )
            continue
        if not name:
            errors.append(row_error(r, _("chỉ số %(code)s thiếu tên.") % {"code": code}))
        try:
            points = parse_points(value(r, row, "points"))
        except ValueError:
            errors.append(
                row_error(
                    r,
                    _(
                        "điểm tối đa “%(v)s” của %(code)s không phải là số hợp lệ (tối đa 2 chữ số thập phân)."
                    )
                    % {"v": cell_text(value(r, row, "points")), "code": code},
                )
            )
            points = None
        parent: str | None
        if level == "group":
            current_group, parent = code, None
        elif level == "main":
            parent = current_group
        else:
            parent = code.rsplit(".", 1)[0]
        parsed.nodes.append(
            ParsedNode(
                row=r,
                code=code,
                name=name,
                level=level,
                max_points=points,
                parent_code=parent,
                lead_text=cell_text(value(r, row, "lead")),
                coord_text=cell_text(value(r, row, "coord")),
                scoring_method=cell_text(value(r, row, "method")),
                evidence_guidance=cell_text(value(r, row, "guidance")),
            )
        )
    if errors:
        raise ParseError(errors)
    return parsed


def _parse_json(r: int, text: str, what: str, expected: type, errors: list[str]) -> Any:
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        errors.append(row_error(r, _("cột “%(what)s” không phải JSON hợp lệ.") % {"what": what}))
        return None
    if not isinstance(data, expected):
        errors.append(row_error(r, _("cột “%(what)s” có kiểu không đúng.") % {"what": what}))
        return None
    return data


def _parse_template(
    wb: Workbook, ws: Worksheet, header_row: int, cols: dict[str, int]
) -> ParsedFramework:
    errors: list[str] = []
    meta: dict[str, str] = {}
    if META_SHEET in wb.sheetnames:
        labels = {normalize_name(label): key for key, label in META_FIELDS}
        for row in wb[META_SHEET].iter_rows(values_only=True):
            if len(row) >= 2 and row[0] is not None:
                key = labels.get(normalize_name(str(row[0])))
                if key:
                    meta[key] = cell_text(row[1])
    parsed = ParsedFramework(
        layout="template",
        sheet=ws.title,
        nodes=[],
        has_agency_columns=True,
        title=meta.get("name", ""),
        decision=meta.get("decision", ""),
        meta=meta,
    )
    if meta.get("total_points"):
        try:
            parsed.total_points = parse_points(meta["total_points"])
        except ValueError:
            errors.append(_("Trang “Thông tin”: tổng điểm không phải là số."))

    def value(row: tuple[Any, ...], key: str) -> str:
        c = cols.get(key)
        if c is None or c - 1 >= len(row):
            return ""
        return cell_text(row[c - 1])

    for r, row in enumerate(
        ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1
    ):
        code = normalize_code(value(row, "code"))
        name = value(row, "name")
        if not code and not name:
            continue
        level = LEVEL_WORDS.get(normalize_name(value(row, "level")))
        if not code:
            errors.append(row_error(r, _("thiếu mã.")))
            continue
        if level is None:
            errors.append(
                row_error(
                    r,
                    _(
                        "cấp “%(level)s” không hợp lệ (nhóm, chỉ số chính, chỉ số thành phần, tiêu chí)."
                    )
                    % {"level": value(row, "level")},
                )
            )
            continue
        try:
            points = parse_points(value(row, "points"))
        except ValueError:
            errors.append(row_error(r, _("điểm tối đa không phải là số hợp lệ.")))
            points = None
        rule = _parse_json(r, value(row, "rule"), _("Quy tắc tính điểm"), dict, errors)
        measures = _parse_json(r, value(row, "measures"), _("Số liệu báo cáo"), list, errors)
        parsed.nodes.append(
            ParsedNode(
                row=r,
                code=code,
                name=name,
                level=level,
                max_points=points,
                parent_code=normalize_code(value(row, "parent")) or None,
                lead_text=value(row, "lead"),
                coord_text=value(row, "coord"),
                scoring_method=value(row, "method"),
                evidence_guidance=value(row, "guidance"),
                is_ministry_measured=normalize_name(value(row, "ministry"))
                in {"co", "x", "1", "yes"},
                scoring_rule=rule or None,
                measures=measures,
            )
        )
    if errors:
        raise ParseError(errors)
    return parsed
