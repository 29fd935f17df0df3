"""Safe reading of uploaded spreadsheets (.xlsx, .csv) for the importers.

Before openpyxl parses anything: the content must really be an .xlsx (libmagic, not the file
name; macro-enabled .xlsm is refused), the zip must open, and the declared uncompressed sizes
must stay within a budget (zip bombs: openpyxl has no decompression bound; ``zipfile`` stops
reading at the declared size, so checking ``infolist()`` bounds the work). XML entity attacks are
handled by defusedxml, which openpyxl uses automatically when installed (asserted below).
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterable

import magic
import openpyxl
from django.utils.translation import gettext as _
from openpyxl.workbook.workbook import Workbook

from .text import to_nfc

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ZIP_ENTRIES = 1000
# Budgets: a framework sheet of 5,000 rows is ~2 MB of XML; openpyxl needs ~10× the XML size in
# memory in normal mode, so these caps keep a worst-case parse in the hundreds of MB.
MAX_ENTRY_BYTES = 25 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for entries above 1 MB
MAX_ROWS = 5000
MAX_COLUMNS = 60

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ZIP_MIMES = {XLSX_MIME, "application/zip", "application/octet-stream"}


class SpreadsheetError(Exception):
    """A file that cannot be read; the message is Vietnamese and shown as is."""


def _defused() -> bool:
    from openpyxl.xml import DEFUSEDXML

    return bool(DEFUSEDXML)


def check_xlsx_bytes(data: bytes) -> None:
    """Raises ``SpreadsheetError`` unless ``data`` is a plain .xlsx within the size budget."""
    if not _defused():  # pragma: no cover - defusedxml is a declared dependency
        raise SpreadsheetError(_("Máy chủ thiếu defusedxml, không thể đọc tệp Excel an toàn."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise SpreadsheetError(
            _("Tệp quá lớn (tối đa %(mb)s MB).") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    mime = magic.from_buffer(data[:8192], mime=True)
    if mime in {"application/x-ole-storage", "application/CDFV2", "application/vnd.ms-excel"}:
        raise SpreadsheetError(
            _(
                "Tệp được đặt mật khẩu hoặc là định dạng Excel cũ (.xls): hãy bỏ mật khẩu và lưu "
                "lại dạng .xlsx."
            )
        )
    if "macroenabled" in mime.lower():
        raise SpreadsheetError(_("Không chấp nhận tệp có macro (.xlsm). Hãy lưu lại dạng .xlsx."))
    if mime not in _ZIP_MIMES:
        raise SpreadsheetError(
            _("Tệp không phải bảng tính Excel .xlsx (nhận diện được: %(mime)s).") % {"mime": mime}
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError) as exc:
        # NotImplementedError: a central directory claiming a zip version from the future
        raise SpreadsheetError(_("Tệp .xlsx bị hỏng (không đọc được nén zip).")) from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise SpreadsheetError(_("Tệp có quá nhiều thành phần, nghi là tệp độc hại (zip bomb)."))
    total = 0
    for info in infos:
        if info.file_size > MAX_ENTRY_BYTES:
            raise SpreadsheetError(
                _("Tệp giải nén quá lớn, nghi là tệp độc hại (zip bomb): %(name)s.")
                % {"name": info.filename}
            )
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SpreadsheetError(
                _("Tỷ lệ nén bất thường, nghi là tệp độc hại (zip bomb): %(name)s.")
                % {"name": info.filename}
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise SpreadsheetError(_("Tệp giải nén quá lớn, nghi là tệp độc hại (zip bomb)."))
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise SpreadsheetError(_("Tệp không phải bảng tính Excel .xlsx."))
    if "xl/vbaProject.bin" in names:
        raise SpreadsheetError(_("Không chấp nhận tệp có macro (.xlsm). Hãy lưu lại dạng .xlsx."))
    try:
        content_types = zf.read("[Content_Types].xml")
    except KeyError as exc:
        raise SpreadsheetError(_("Tệp .xlsx bị hỏng (thiếu [Content_Types].xml).")) from exc
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        ValueError,
        OSError,
    ) as exc:
        # Found by the importer fuzz test: a damaged entry (bad CRC, bad deflate stream).
        raise SpreadsheetError(_("Tệp .xlsx bị hỏng (không đọc được nén zip).")) from exc
    if b"macroEnabled" in content_types:
        raise SpreadsheetError(_("Không chấp nhận tệp có macro (.xlsm). Hãy lưu lại dạng .xlsx."))


def load_xlsx(data: bytes, *, read_only: bool = False) -> Workbook:
    """Checks then loads an .xlsx with cached formula values (``data_only``)."""
    check_xlsx_bytes(data)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=read_only, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise SpreadsheetError(
            _("Không đọc được tệp Excel: nội dung bị hỏng hoặc không hợp lệ.")
        ) from exc
    for ws in wb.worksheets:
        if (ws.max_row or 0) > MAX_ROWS or (ws.max_column or 0) > MAX_COLUMNS:
            raise SpreadsheetError(
                _("Trang tính “%(title)s” quá lớn (tối đa %(rows)s dòng, %(cols)s cột).")
                % {"title": ws.title, "rows": MAX_ROWS, "cols": MAX_COLUMNS}
            )
    return wb


def cell_text(value: object, *, nfc: bool = True) -> str:
    """A cell's value as stripped text ("" for empty); integral floats without ".0".

    In Unicode NFC (``agencies.text.to_nfc``): a file saved on macOS or typed with Unikey's
    "tổ hợp" mode holds decomposed letters, and what an importer reads is what it stores and
    compares. ``nfc=False`` keeps the characters as they are (a password).
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return to_nfc(text) if nfc else text


def read_table(data: bytes, filename: str, columns: Iterable[str]) -> list[dict[str, str]]:
    """Rows of a flat table (.csv in UTF-8, or the first sheet of an .xlsx) keyed by the header.

    The header is the first row; column names are matched case-insensitively. Missing required
    columns raise ``SpreadsheetError``. Empty rows are skipped (the row numbers in the returned
    dicts' ``_row`` key are the file's own). Cells are stripped and in Unicode NFC, except a
    ``password`` column's.
    """
    wanted = list(columns)
    rows: list[list[str]]
    if filename.lower().endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SpreadsheetError(_("Tệp CSV phải được lưu với bảng mã UTF-8.")) from exc
        rows = []
        try:
            for r in csv.reader(io.StringIO(text)):
                rows.append(list(r))
                if len(rows) > MAX_ROWS:
                    raise SpreadsheetError(
                        _("Tệp quá lớn (tối đa %(rows)s dòng).") % {"rows": MAX_ROWS}
                    )
        except csv.Error as exc:  # e.g. a field longer than the csv module allows
            raise SpreadsheetError(_("Tệp CSV không đọc được: %(e)s") % {"e": exc}) from exc
    else:
        wb = load_xlsx(data, read_only=True)
        ws = wb.worksheets[0]
        rows = []
        # Read-only mode trusts the declared dimension, so count rows while streaming; it also
        # parses the sheet only now, so a damaged sheet fails here, not at opening.
        try:
            for r in ws.iter_rows(values_only=True):
                rows.append([cell_text(v, nfc=False) for v in r[:MAX_COLUMNS]])
                if len(rows) > MAX_ROWS:
                    raise SpreadsheetError(
                        _("Tệp quá lớn (tối đa %(rows)s dòng).") % {"rows": MAX_ROWS}
                    )
        except SpreadsheetError:
            raise
        except Exception as exc:  # noqa: BLE001 - any parse failure of untrusted XML
            raise SpreadsheetError(
                _("Tệp Excel bị hỏng hoặc không đúng định dạng, không đọc được.")
            ) from exc
        finally:
            wb.close()
    if not rows:
        raise SpreadsheetError(_("Tệp trống."))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise SpreadsheetError(
            _("Dòng 1: thiếu cột %(cols)s (cần: %(all)s).")
            % {"cols": ", ".join(missing), "all": ", ".join(wanted)}
        )
    out = []
    for n, r in enumerate(rows[1:], start=2):
        if not any((v or "").strip() for v in r):
            continue
        item = {c: (r[header.index(c)] if header.index(c) < len(r) else "") for c in wanted}
        # A password is kept as typed (checked byte for byte); every other cell in NFC.
        item = {
            k: to_nfc((v or "").strip()) if k != "password" else (v or "") for k, v in item.items()
        }
        item["_row"] = str(n)
        out.append(item)
    return out
