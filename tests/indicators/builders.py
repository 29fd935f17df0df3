"""Build small framework workbooks in tests (the variants other provinces use)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

HEADER = [
    "STT",
    "Chỉ số chính/Chỉ số thành phần",
    "Điểm tối đa",
    "Cơ quan phụ trách",
    "Cơ quan phối hợp",
]


def xlsx(
    rows: Sequence[Sequence[Any]],
    *,
    title: Sequence[str] = ("PHỤ LỤC", "BỘ CHỈ SỐ THỬ"),
    header: Sequence[str] | None = HEADER,
    merges: Sequence[str] = (),
    blank_after_title: int = 1,
) -> bytes:
    """A workbook: title lines, blank rows, the header, then ``rows``; ``merges`` like "D7:D8"
    refer to final sheet coordinates."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    for line in title:
        ws.append([line])
    for _ in range(blank_after_title):
        ws.append([])
    if header is not None:
        ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def header_row(
    title: Sequence[str] = ("PHỤ LỤC", "BỘ CHỈ SỐ THỬ"), blank_after_title: int = 1
) -> int:
    return len(title) + blank_after_title + 1


def simple_rows(lead: str = "Sở KH&CN", coord: str = "-") -> list[list[Any]]:
    """Two main indices (60 + 40 = 100) with sub-indicators."""
    return [
        ["1", "Nhận thức số", 60, None, None],
        ["1.1", "Ban hành kế hoạch chuyển đổi số", 30, lead, coord],
        ["1.2", "Tỷ lệ cán bộ được tập huấn", 30, lead, coord],
        ["2", "Hạ tầng số", 40, None, None],
        ["2.1", "Mức độ triển khai nền tảng", 40, lead, coord],
    ]
