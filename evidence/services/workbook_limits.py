"""Upload limits of the agency workbook, checked before openpyxl opens anything.

openpyxl parses the upload inside the web request (a 6 MB file holding 95 MB of shared strings
took 80 s and 800 MB there), while the portal's own template weighs a few hundred kB: so a
workbook gets a far tighter budget than evidence, from the ``WORKBOOK_*`` settings, read from
the zip directory and [Content_Types].xml only. The shared strings table gets the tightest
limit: openpyxl holds it whole in memory and parses it slowest.
"""

from __future__ import annotations

import zipfile
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.xml.constants import SHARED_STRINGS

from .content_checks import (
    MAX_SMALL_PART,
    UNREADABLE,
    ZipBudget,
    broken_zip,
    budget_excess,
    fmt_size,
    read_small_part,
    refused,
)

# Defaults of the WORKBOOK_* settings (dti_portal/settings.py).
WORKBOOK_LIMITS = {
    "WORKBOOK_MAX_UPLOAD_BYTES": 5 * 1024 * 1024,
    "WORKBOOK_MAX_UNCOMPRESSED_BYTES": 10 * 1024 * 1024,
    "WORKBOOK_MAX_ENTRY_BYTES": 5 * 1024 * 1024,
    "WORKBOOK_MAX_SHARED_STRINGS_BYTES": 2 * 1024 * 1024,
    "WORKBOOK_MAX_ZIP_ENTRIES": 800,
    "WORKBOOK_MAX_COMPRESSION_RATIO": 100,
    "WORKBOOK_MAX_SHEETS": 300,
    "WORKBOOK_MAX_COLUMNS": 60,
}


def workbook_limit(name: str) -> int:
    return int(getattr(settings, name, WORKBOOK_LIMITS[name]))


def workbook_budget(shared_strings: list[str]) -> ZipBudget:
    """The zip budget of a workbook upload; ``shared_strings``: the parts openpyxl would load
    as the shared strings table (held whole in memory, the slowest part to parse)."""
    sst = workbook_limit("WORKBOOK_MAX_SHARED_STRINGS_BYTES")
    return ZipBudget(
        max_entries=workbook_limit("WORKBOOK_MAX_ZIP_ENTRIES"),
        max_total=workbook_limit("WORKBOOK_MAX_UNCOMPRESSED_BYTES"),
        max_entry=workbook_limit("WORKBOOK_MAX_ENTRY_BYTES"),
        max_ratio=workbook_limit("WORKBOOK_MAX_COMPRESSION_RATIO"),
        ratio_floor=256 * 1024,
        parts={name.lower(): sst for name in ["xl/sharedStrings.xml", *shared_strings]},
    )


def _shared_strings_parts(zf: zipfile.ZipFile) -> list[str]:
    """Where openpyxl looks for the shared strings: the [Content_Types].xml override(s)."""
    from defusedxml import ElementTree

    try:
        info = zf.getinfo("[Content_Types].xml")
    except KeyError:
        return []
    try:
        root = ElementTree.fromstring(read_small_part(zf, info, MAX_SMALL_PART))
    except (ElementTree.ParseError, ValueError) as exc:
        raise broken_zip() from exc
    return [
        (el.get("PartName") or "").lstrip("/")
        for el in root.iter()
        if str(el.tag).endswith("Override") and el.get("ContentType") == SHARED_STRINGS
    ]


def check_workbook_size(size: int) -> None:
    limit = workbook_limit("WORKBOOK_MAX_UPLOAD_BYTES")
    if size > limit:
        raise refused(
            _("Tệp Excel quá lớn (%(size)s); tệp báo cáo tối đa %(max)s.")
            % {"size": fmt_size(size), "max": fmt_size(limit)},
            "too_large",
        )


def check_workbook_budget(fh: IO[bytes]) -> None:
    """Refuses a workbook over the zip budget; reads the zip directory and [Content_Types].xml
    only (call once ``inspect_upload`` found an xlsx)."""
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as zf:
            excess = budget_excess(zf.infolist(), workbook_budget(_shared_strings_parts(zf)))
    except UNREADABLE as exc:
        raise broken_zip() from exc
    if excess is not None:
        raise refused(
            _(
                "Tệp Excel bị từ chối vì lớn bất thường so với mẫu báo cáo của cổng "
                "(%(detail)s). Hãy tải mẫu mới ở trang Việc cần làm và chỉ nhập số liệu vào đó."
            )
            % {"detail": excess},
            "workbook_budget",
        )
