"""Writes a framework in the portal's own template (read back by ``parse._parse_template``)."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from dti_portal.spreadsheet import append_row

from ..models import Framework, Indicator
from .parse import META_FIELDS, META_SHEET, TEMPLATE_COLUMNS, TEMPLATE_SHEET

LEVEL_LABELS = {
    "group": "nhóm",
    "main": "chỉ số chính",
    "sub": "chỉ số thành phần",
    "criterion": "tiêu chí",
}


def _points(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def export_framework_xlsx(framework: Framework) -> bytes:
    """The framework (meta sheet + one row per node, parents before children) as .xlsx bytes.

    Text that looks like a formula is stored as plain text, unchanged, so it reads back as it was
    (:mod:`dti_portal.spreadsheet`)."""
    nodes = list(
        Indicator.objects.filter(framework=framework)
        .select_related("parent", "lead_agency")
        .prefetch_related("measures", "coordinating_agencies", "coordinating_groups")
        .order_by("sort_key")
    )
    depth = {"group": 0, "main": 1, "sub": 2, "criterion": 3}
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = TEMPLATE_SHEET
    ws.append([label for _key, label in TEMPLATE_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.freeze_panes = "A2"
    for node in sorted(nodes, key=lambda n: (depth[n.level], n.sort_key)):
        coord = [a.name for a in node.coordinating_agencies.all()] + [
            g.name for g in node.coordinating_groups.all()
        ]
        measures = [
            {
                "code": m.code,
                "label": m.label,
                "kind": m.kind,
                "unit": m.unit,
                "required": m.required,
                "choices": m.choices,
            }
            for m in node.measures.all()
        ]
        append_row(  # names, methods and guidance are typed by people: never a formula
            ws,
            [
                node.code,
                node.parent.code if node.parent else "",
                LEVEL_LABELS[node.level],
                node.name,
                _points(node.max_points),
                node.lead_agency.name if node.lead_agency else "",
                "; ".join(coord),
                node.scoring_method,
                node.evidence_guidance,
                "có" if node.is_ministry_measured else "",
                json.dumps(node.scoring_rule, ensure_ascii=False) if node.scoring_rule else "",
                json.dumps(measures, ensure_ascii=False) if measures else "",
            ],
        )
    for letter, width in zip(
        "ABCDEFGHIJKL", (8, 10, 16, 60, 10, 30, 40, 50, 40, 10, 40, 60), strict=True
    ):
        ws.column_dimensions[letter].width = width
    meta = wb.create_sheet(META_SHEET)
    values = {
        "code": framework.code,
        "name": framework.name,
        "year": framework.year,
        "decision": framework.decision,
        "unit_type": framework.unit_type,
        "total_points": _points(framework.total_points),
    }
    for key, label in META_FIELDS:
        append_row(meta, [label, values[key]])
    meta.column_dimensions["A"].width = 22
    meta.column_dimensions["B"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
