"""Account lists in and out: reading the bulk-import file, writing the "who has which account"
export (.xlsx)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from dti_portal.spreadsheet import append_row

from .models import User
from .services import ACCOUNT_COLUMNS
from .spreadsheets import read_table

EXPORT_HEADER = [
    "username",
    "full_name",
    "email",
    "agency_code",
    "agency",
    "role",
    "is_active",
    "must_change_password",
    "last_login",
    "date_joined",
]


def read_account_rows(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of an accounts file (.csv UTF-8 or .xlsx) with ``ACCOUNT_COLUMNS``; raises
    ``SpreadsheetError`` for a file that cannot be read."""
    return read_table(data, filename, ACCOUNT_COLUMNS)


def export_accounts_xlsx(users: list[User] | None = None) -> bytes:
    """Every account (or ``users``) with its agency and role, as .xlsx (no passwords); text is
    never written as a formula (:mod:`dti_portal.spreadsheet`)."""
    rows = (
        users
        if users is not None
        else list(User.objects.select_related("agency").order_by("agency__name", "username"))
    )
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Tài khoản"
    ws.append(EXPORT_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for u in rows:
        append_row(  # names and e-mails are typed by people: never a formula
            ws,
            [
                u.username,
                u.full_name,
                u.email,
                u.agency.code if u.agency else "",
                u.agency.name if u.agency else "",
                u.role,
                "1" if u.is_active else "0",
                "1" if u.must_change_password else "0",
                u.last_login.strftime("%d/%m/%Y %H:%M") if u.last_login else "",
                u.date_joined.strftime("%d/%m/%Y"),
            ],
        )
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
