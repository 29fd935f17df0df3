"""The agency workbook round trip: download the assigned sub-indicators of a period as .xlsx
(one sheet per sub-indicator, its measures as columns with Vietnamese labels), fill it offline,
upload it for a preview of every change and every invalid cell, then confirm to save drafts.

Uploads pass the same content checks as evidence (libmagic, zip-bomb limits, no macros), then
a much tighter budget (:mod:`.workbook_limits`, the ``WORKBOOK_*`` settings): openpyxl parses
the file inside the web request, and the portal's own template weighs a few hundred kB, so a
workbook holding megabytes of shared strings or styles is refused from the zip directory
before openpyxl opens anything. openpyxl then reads in read-only mode through defusedxml, a
bounded number of sheets, rows and columns. A file with any error saves nothing, and the
confirmation applies every change in one transaction or none.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from agencies.models import User
from dti_portal.errors import NotAllowed, ValidationFailed
from dti_portal.spreadsheet import write_cell
from indicators.models import Indicator, Measure

from ..models import ItemExtension, ReportingPeriod, Submission
from .content_checks import refused
from .evidence_files import inspect_upload
from .periods import item_is_open
from .submissions import measures_of, submission_create, submission_update
from .values import (
    clean_values,
    display_value,
    is_blank,
    level_keys,
    level_label,
    own_share_measures,
)
from .workbook_limits import check_workbook_budget, check_workbook_size, workbook_limit

META_SHEET = "_meta"
GUIDE_SHEET = "Hướng dẫn"
CODE_ROW, HEADER_ROW, VALUE_ROW = 4, 3, 5
NOTE_CODE = "__note__"
REASON_CODE = "__reason__"
#: The lead's own part of a measure (``Submission.own_values``): column code ``own:<measure>``.
OWN_PREFIX = "own:"
ROLE_LABELS = {"lead": "Chủ trì", "coordinator": "Phối hợp"}


def _agency_items(user: User, period: ReportingPeriod) -> list[tuple[Indicator, str]]:
    from ..selectors import assigned_indicators

    if not (user.is_agency_staff and user.agency_id):
        raise NotAllowed(_("Chỉ cán bộ đầu mối của cơ quan được dùng tệp Excel báo cáo."))
    inds = list(assigned_indicators(agency=user.agency, framework=period.framework_id))  # type: ignore[arg-type]
    return [(i, "lead" if i.lead_agency_id == user.agency_id else "coordinator") for i in inds]


def _sheet_title(code: str) -> str:
    bad = "[]:*?/\\"
    return "".join("-" if ch in bad else ch for ch in code)[:31] or "chi-so"


def _cell_value(m: Measure, raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    if m.kind == Measure.Kind.BOOLEAN:
        return "Có" if raw == "1" else "Không"
    if m.kind == Measure.Kind.LEVEL:
        return level_label(m, raw)
    if m.kind == Measure.Kind.TEXT:
        return raw
    try:
        return Decimal(raw)
    except ArithmeticError:
        return raw


def workbook_build(*, user: User, period: ReportingPeriod) -> bytes:
    """The workbook of ``user``'s agency for ``period`` (current values pre-filled)."""
    items = _agency_items(user, period)
    from ..selectors import coordinator_ids

    led = [ind for ind, role in items if role == "lead"]
    # Two queries for all the led items (coordinator_ids reads them from the prefetch).
    prefetch_related_objects(led, "coordinating_agencies", "coordinating_groups")
    coordinated = coordinator_ids(led)
    subs = {
        s.indicator_id: s
        for s in Submission.objects.filter(period=period, agency_id=user.agency_id or 0)
    }
    wb = Workbook()
    guide = wb.active
    guide.title = GUIDE_SHEET
    guide["A1"] = f"Báo cáo {period} — {user.agency}"
    guide["A1"].font = Font(bold=True, size=14)
    lines = [
        "Mỗi trang tính là một chỉ số thành phần được giao cho cơ quan.",
        "Nhập số liệu ở dòng 5, dưới tên từng cột; không sửa dòng 4 (mã số liệu, được ẩn).",
        "Số thập phân dùng dấu phẩy hoặc dấu chấm (ví dụ 12,5). Có/Không: chọn trong danh sách.",
        # Each period is scored from its own figures and the dashboard shows the latest one, so
        # a count entered as the quarter's increment alone would lose the earlier quarters.
        "Số liệu tính đến hết kỳ báo cáo: số lượng phát sinh trong năm thì cộng dồn từ đầu năm "
        "(lũy kế); số hiện có và tỷ lệ thì lấy tại thời điểm báo cáo.",
        "Tải tệp lên trang “Việc cần làm → Nộp tệp Excel”: hệ thống cho xem trước mọi thay đổi "
        "và mọi ô sai; chỉ khi xác nhận mới lưu thành bản nháp.",
        "Chỉ số đã gửi, đã duyệt hoặc đã khóa sẽ không được thay đổi qua tệp này.",
        "Cơ quan chủ trì: các cột “Phần riêng của cơ quan chủ trì” là số liệu của chính cơ quan "
        "mình, được cộng với số liệu các cơ quan phối hợp đã gửi; số liệu tổng hợp khác tổng đó "
        "cần ghi lý do điều chỉnh.",
    ]
    for i, text in enumerate(lines, start=3):
        guide.cell(row=i, column=1, value=text)
    guide.column_dimensions["A"].width = 110
    meta = wb.create_sheet(META_SHEET)
    meta.append(["period", period.pk])
    meta.append(["agency", user.agency_id])
    meta.append(["framework", period.framework.code])
    meta.sheet_state = "hidden"
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for ind, role in items:
        ws = wb.create_sheet(_sheet_title(ind.code))
        sub = subs.get(ind.pk)
        meta.append(["sheet", ws.title, ind.pk, sub.version if sub else 0])
        write_cell(ws, 1, 1, f"{ind.code}. {ind.name}")
        ws["A1"].font = Font(bold=True)
        ws["A2"] = (
            f"Vai trò: {ROLE_LABELS[role]} · Điểm tối đa: {ind.max_points.normalize():f} · "
            f"Trạng thái: {sub.get_state_display() if sub else 'Chưa báo cáo'}"  # type: ignore[attr-defined]
        )
        measures = measures_of(ind)
        columns: list[tuple[str, Measure | None, str]] = [
            (m.code, m, f"{m.label}{f' ({m.unit})' if m.unit else ''}") for m in measures
        ]
        if role == "lead" and coordinated.get(ind.pk):
            # The lead's own part, added to the coordinators' figures (as on the item page).
            columns += [
                (f"{OWN_PREFIX}{m.code}", m, f"Phần riêng của cơ quan chủ trì: {m.label}")
                for m in own_share_measures(ind, measures)
            ]
        columns.append((NOTE_CODE, None, "Giải trình"))
        if role == "lead":
            columns.append((REASON_CODE, None, "Lý do điều chỉnh số liệu tổng hợp"))
        for col, (code, m, label) in enumerate(columns, start=1):
            letter = get_column_letter(col)
            head = write_cell(ws, HEADER_ROW, col, label)
            head.font = Font(bold=True)
            head.fill = header_fill
            head.alignment = Alignment(wrap_text=True, vertical="top")
            ws.cell(row=CODE_ROW, column=col, value=code)
            if code == NOTE_CODE:
                write_cell(ws, VALUE_ROW, col, sub.note if sub else None)
            elif code == REASON_CODE:
                write_cell(ws, VALUE_ROW, col, sub.consolidation_reason if sub else None)
            elif m is None:
                continue
            else:
                own = code.startswith(OWN_PREFIX)
                stored = ((sub.own_values if own else sub.values) or {}) if sub else {}
                write_cell(ws, VALUE_ROW, col, _cell_value(m, stored.get(m.code)))
                if m.kind == Measure.Kind.BOOLEAN:
                    dv = DataValidation(type="list", formula1='"Có,Không"', allow_blank=True)
                    ws.add_data_validation(dv)
                    dv.add(f"{letter}{VALUE_ROW}")
                elif m.kind == Measure.Kind.LEVEL and level_keys(m):
                    labels = ",".join(level_label(m, k).replace('"', "'") for k in level_keys(m))
                    if len(labels) < 250:
                        dv = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True)
                        ws.add_data_validation(dv)
                        dv.add(f"{letter}{VALUE_ROW}")
            ws.column_dimensions[letter].width = 28
        ws.row_dimensions[CODE_ROW].hidden = True
        ws.row_dimensions[HEADER_ROW].height = 45
        ws.freeze_panes = f"A{VALUE_ROW}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclass
class WorkbookItem:
    indicator: Indicator
    sheet: str
    submission: Submission | None
    values: dict[str, str] = field(default_factory=dict)
    note: str = ""
    reason: str = ""
    #: The lead's own part as read (None: the sheet has no such columns, the stored part stays).
    own_values: dict[str, str] | None = None
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # label, old, new
    errors: list[str] = field(default_factory=list)  # "Trang 1.1, ô B5: message"
    seen_version: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class WorkbookPreview:
    period: ReportingPeriod
    items: list[WorkbookItem]
    errors: list[str] = field(default_factory=list)  # file-level errors

    @property
    def all_errors(self) -> list[str]:
        return self.errors + [e for i in self.items for e in i.errors]

    @property
    def is_valid(self) -> bool:
        return not self.all_errors

    @property
    def changed_items(self) -> list[WorkbookItem]:
        return [i for i in self.items if i.changed]

    def payload(self) -> dict[str, Any]:
        """What the confirmation step applies (kept in the session between the two steps)."""
        return {
            "period": self.period.pk,
            "items": [
                {
                    "indicator": i.indicator.pk,
                    "version": i.seen_version,
                    "values": i.values,
                    "note": i.note,
                    "reason": i.reason,
                    "own_values": i.own_values,
                }
                for i in self.changed_items
            ],
        }


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def workbook_preview(
    *, user: User, period: ReportingPeriod, fh: IO[bytes], name: str, size: int
) -> WorkbookPreview:
    """Reads an uploaded workbook: every change and every invalid cell, nothing saved."""
    items_by_id = {ind.pk: (ind, role) for ind, role in _agency_items(user, period)}
    if name and not name.lower().endswith(".xlsx"):
        raise ValidationFailed(
            _("Chỉ nhận tệp Excel .xlsx (tải mẫu từ trang Việc cần làm)."),
            errors={"file": [_("Chỉ nhận tệp Excel .xlsx.")]},
        )
    check_workbook_size(size)  # before the evidence checks, whose limit is higher
    inspected = inspect_upload(fh, name=name or "bao-cao.xlsx", size=size)
    if inspected.kind != "xlsx":
        raise ValidationFailed(
            _("Chỉ nhận tệp Excel .xlsx."), errors={"file": [_("Chỉ nhận tệp Excel .xlsx.")]}
        )
    check_workbook_budget(fh)
    fh.seek(0)
    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl/defusedxml raise many kinds
        raise ValidationFailed(
            _("Không đọc được tệp Excel."), errors={"file": [_("Không đọc được tệp Excel.")]}
        ) from exc
    preview = WorkbookPreview(period=period, items=[])
    try:
        max_sheets = workbook_limit("WORKBOOK_MAX_SHEETS")
        if len(wb.sheetnames) > max_sheets:
            raise refused(
                _("Tệp có %(n)s trang tính, nhiều hơn mức tối đa %(max)s của mẫu báo cáo.")
                % {"n": len(wb.sheetnames), "max": max_sheets},
                "workbook_budget",
            )
        if META_SHEET not in wb.sheetnames:
            raise ValidationFailed(
                _(
                    "Tệp không phải mẫu báo cáo của cổng (thiếu trang thông tin). Hãy tải tệp mẫu ở trang “Việc cần làm” rồi nhập số liệu vào đó."
                ),
                errors={"file": [_("Tệp không đúng mẫu.")]},
            )
        meta_rows = list(
            wb[META_SHEET].iter_rows(max_row=max_sheets + 10, max_col=4, values_only=True)
        )
        meta = {r[0]: r[1] for r in meta_rows if r and r[0] in {"period", "agency"}}
        if meta.get("period") != period.pk:
            raise ValidationFailed(
                _(
                    "Tệp này là của kỳ báo cáo khác. Hãy tải tệp mẫu của kỳ này ở trang “Việc cần làm”."
                ),
                errors={"file": [_("Sai kỳ báo cáo.")]},
            )
        if meta.get("agency") != user.agency_id:
            raise ValidationFailed(
                _(
                    "Tệp này là của cơ quan khác. Hãy tải tệp mẫu của cơ quan mình ở trang “Việc cần làm”."
                ),
                errors={"file": [_("Sai cơ quan.")]},
            )
        sheets = [(r[1], r[2], r[3]) for r in meta_rows if r and r[0] == "sheet"]
        subs = {
            s.indicator_id: s
            for s in Submission.objects.filter(period=period, agency_id=user.agency_id or 0)
        }
        exts = {
            e.indicator_id: e
            for e in ItemExtension.objects.filter(period=period, agency_id=user.agency_id or 0)
        }
        for title, ind_id, version in sheets:
            if ind_id not in items_by_id:
                preview.errors.append(
                    _("Trang “%(s)s”: chỉ số không còn được giao cho cơ quan.") % {"s": title}
                )
                continue
            if title not in wb.sheetnames:
                preview.errors.append(_("Thiếu trang “%(s)s”.") % {"s": title})
                continue
            ind, role = items_by_id[ind_id]
            preview.items.append(
                _read_sheet(
                    wb[title],
                    ind,
                    subs.get(ind.pk),
                    exts.get(ind.pk),
                    period,
                    version,
                    user.agency_id,  # type: ignore[arg-type]
                    role,
                )
            )
    finally:
        wb.close()
    return preview


def _seen_version(value: Any) -> int:
    """The item's version written in the information sheet at download; -1 when the cell was
    damaged (by hand, or by another spreadsheet program): it matches no stored version, so a
    change to that item is refused as stale ("hãy tải tệp mới")."""
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return -1


def _read_sheet(
    ws: Any,
    ind: Indicator,
    sub: Submission | None,
    ext: ItemExtension | None,
    period: ReportingPeriod,
    version: Any,
    agency_id: int,
    role: str,
) -> WorkbookItem:
    rows = list(
        ws.iter_rows(
            min_row=CODE_ROW,
            max_row=VALUE_ROW,
            max_col=workbook_limit("WORKBOOK_MAX_COLUMNS"),
            values_only=True,
        )
    )
    codes = list(rows[0]) if rows else []
    cells = list(rows[1]) if len(rows) > 1 else []
    measures = measures_of(ind)
    by_code = {m.code: m for m in measures}
    item = WorkbookItem(indicator=ind, sheet=ws.title, submission=sub)
    item.seen_version = _seen_version(version)
    raw: dict[str, Any] = {}
    own_raw: dict[str, Any] = {}
    col_of: dict[str, str] = {}
    for idx, code in enumerate(codes):
        if code is None:
            continue
        code = str(code)
        value = cells[idx] if idx < len(cells) else None
        # Said as a civil servant finds it in Excel ("Trang 1.1, ô B5"), not "1.1!B5".
        col_of[code] = _("Trang %(sheet)s, ô %(cell)s") % {
            "sheet": ws.title,
            "cell": f"{get_column_letter(idx + 1)}{VALUE_ROW}",
        }
        if code == NOTE_CODE:
            item.note = _fmt(value).strip()
        elif code == REASON_CODE:
            item.reason = _fmt(value).strip()
        elif code.startswith(OWN_PREFIX) and role == "lead":
            own_raw[code.removeprefix(OWN_PREFIX)] = value
        elif code in by_code:
            raw[code] = value
        else:
            item.errors.append(
                _("%(cell)s: cột “%(code)s” không thuộc chỉ số %(ind)s.")
                % {"cell": col_of[code], "code": code, "ind": ind.code}
            )
    if (
        all(v is None or str(v).strip() == "" for v in [*raw.values(), *own_raw.values()])
        and not item.note
        and sub is None
    ):
        return item  # untouched sheet
    for m in measures:
        raw.setdefault(m.code, None)
    clean, errors = clean_values(measures, raw)
    for code, msg in errors.items():
        item.errors.append(f"{col_of.get(code, ws.title)}: {msg}")
    item.values = clean
    old_values = sub.values if sub else {}
    for m in measures:
        old, new = old_values.get(m.code, ""), clean.get(m.code, "")
        if old != new and m.code not in errors:
            item.changes.append((m.label, display_value(m, old), display_value(m, new)))
    old_note = sub.note if sub else ""
    if item.note != old_note:
        item.changes.append(("Giải trình", old_note, item.note))
    old_reason = sub.consolidation_reason if sub else ""
    if role == "lead" and item.reason != old_reason:
        item.changes.append(("Lý do điều chỉnh", old_reason, item.reason))
    own_errors: dict[str, str] = {}
    if own_raw:
        own_measures = own_share_measures(ind, measures)
        item.own_values, own_errors = clean_values(
            own_measures, {k: v for k, v in own_raw.items() if not is_blank(v)}
        )
        for code, msg in own_errors.items():
            item.errors.append(f"{col_of.get(OWN_PREFIX + code, ws.title)}: {msg}")
        old_own = (sub.own_values or {}) if sub else {}
        for m in own_measures:
            old, new = old_own.get(m.code, ""), item.own_values.get(m.code, "")
            if old != new and m.code not in own_errors:
                item.changes.append(
                    (f"Phần riêng: {m.label}", display_value(m, old), display_value(m, new))
                )
    if role == "lead" and not errors and not own_errors:
        from .submissions import lead_proposal

        proposal = lead_proposal(
            indicator=ind,
            period=period,
            own_values=item.own_values
            if item.own_values is not None
            else (sub.own_values if sub else None),
        )
        if any(clean.get(k) != v for k, v in proposal.items()) and not item.reason:
            item.errors.append(
                _(
                    "%(s)s: số liệu tổng hợp khác tổng các cơ quan phối hợp, cần ghi lý do điều "
                    "chỉnh."
                )
                % {"s": ws.title}
            )
    if item.changes:
        if sub is not None and not sub.is_editable_state:
            item.errors.append(
                _("%(s)s: báo cáo đã gửi (“%(state)s”), không sửa qua tệp được.")
                % {"s": ws.title, "state": sub.get_state_display()}  # type: ignore[attr-defined]
            )
        elif not (sub is not None and sub.state == Submission.State.RETURNED) and not item_is_open(
            period, indicator_id=ind.pk, agency_id=agency_id, extension=ext
        ):
            item.errors.append(
                _("%(s)s: kỳ báo cáo đã khóa, không thay đổi được.") % {"s": ws.title}
            )
        elif sub is not None and sub.version != item.seen_version:
            item.errors.append(
                _(
                    "%(s)s: báo cáo đã được cập nhật sau khi tải tệp (phiên bản %(v)s); hãy tải "
                    "tệp mới."
                )
                % {"s": ws.title, "v": sub.version}
            )
    return item


@transaction.atomic
def workbook_apply(*, user: User, period: ReportingPeriod, payload: dict[str, Any]) -> int:
    """Saves every change of a confirmed preview as drafts, all or nothing. Returns the count."""
    if payload.get("period") != period.pk:
        raise ValidationFailed(_("Bản xem trước không thuộc kỳ báo cáo này."))
    items_by_id = {ind.pk: ind for ind, _role in _agency_items(user, period)}
    count = 0
    for entry in payload.get("items", []):
        ind = items_by_id.get(entry["indicator"])
        if ind is None:
            raise ValidationFailed(_("Chỉ số không còn được giao cho cơ quan."))
        sub = Submission.objects.filter(
            indicator=ind, period=period, agency_id=user.agency_id or 0
        ).first()
        if sub is None:
            submission_create(
                actor=user,
                indicator=ind,
                period=period,
                values=entry["values"],
                note=entry["note"],
                consolidation_reason=entry.get("reason", ""),
                own_values=entry.get("own_values"),
            )
        else:
            submission_update(
                submission=sub,
                actor=user,
                version=entry["version"],
                values=entry["values"],
                note=entry["note"],
                consolidation_reason=entry.get("reason", ""),
                own_values=entry.get("own_values"),
            )
        count += 1
    return count
