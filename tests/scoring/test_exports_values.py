"""The reported values in the exports (DOMAIN.md §6, national data entry on dti.gov.vn): the
Excel export and the evidence pack's index carry each sub-indicator's approved consolidated
values with the appraised and final points; values not approved by the Sở (drafts above all:
they are the agency's own) never appear; the queries do not grow with the data."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from evidence.models import Submission
from indicators.models import Indicator, Measure
from scoring.exports import evidence_pack, services
from scoring.exports.excel import VALUES_SHEET
from tests.factories import IndicatorFactory

from .dash_helpers import RATIO, add_evidence, build_world, measures_for, put_state, recompute

pytestmark = pytest.mark.django_db
D = Decimal
SECRET = "SỐ LIỆU NHÁP BÍ MẬT"


@pytest.fixture
def world():
    """The standard world, with units, a decimal value, the council's final points on 1.1, and
    values that must never leave the agency: a draft (2.1), a returned item (2.2), and the
    coordinating communes' contributions still with the lead."""
    w = build_world(extra_agencies=2)
    Measure.objects.filter(indicator=w.subs["1.1"]).update(unit="thôn")
    for code in ("2.1", "2.2"):
        Measure.objects.create(indicator=w.subs[code], code="note", label="Ghi chú", kind="text")
    s11 = w.submissions[("1.1", "so-tt")]
    put_state(s11, "approved", values={"numerator": "1234.5", "denominator": "2000"})
    Submission.objects.filter(pk=s11.pk).update(final_points=D("140"))
    s21 = w.submissions[("2.1", "so-tt")]
    put_state(s21, "draft", values={"level": "full", "note": SECRET})
    s22 = w.submissions[("2.2", "so-nv")]
    put_state(s22, "returned", values={"done": "1", "note": SECRET})
    for ag in w.extra_agencies:
        s = w.submissions[("1.1", ag.code)]
        put_state(s, "submitted_to_lead", values={"numerator": "987654", "denominator": "5"})
    recompute(w)
    return w


def export(user, w, kind):
    buf = io.BytesIO()
    services.render_export(user=user, kind=kind, framework=w.framework, period=w.period, out=buf)
    data = buf.getvalue()
    if kind == "evidence":
        data = zipfile.ZipFile(io.BytesIO(data)).read(evidence_pack.INDEX_NAME)
    return load_workbook(io.BytesIO(data))


def all_text(wb) -> str:
    return "\n".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )


def values_rows(ws):
    """Rows of a values sheet below its header, as lists of cells."""
    header_row = next(r[0].row for r in ws.iter_rows() if r[0].value == "Mã chỉ số")
    return [list(r) for r in ws.iter_rows(min_row=header_row + 1) if r[0].value]


def test_excel_holds_the_approved_values(world, leader):
    wb = export(leader, world, "excel")
    appendix = wb["Phụ lục"]
    rows = {r[0].value: r for r in appendix.iter_rows(min_row=6) if r[0].value}
    # One cell per sub-indicator, "label: value unit" lines in Vietnamese number format.
    assert rows["1.1"][10].value == "Tử số: 1.234,5 thôn\nMẫu số: 2.000 thôn"
    assert rows["1.2"][10].value == "Đã ban hành: Có"
    assert rows["1.1"][6].value == 150 and rows["1.1"][7].value == 140  # appraised, final
    assert rows["2.1"][10].value is None and rows["2.2"][10].value is None  # not approved
    assert wb["1 Nhận thức số"]["K6"].value == rows["1.1"][10].value  # the main index's sheet
    # One row per measure: number cells with their unit, points once per sub-indicator.
    lines = values_rows(wb[VALUES_SHEET])
    got = [[c.value for c in r] for r in lines]
    assert got == [
        ["1.1", "Tỷ lệ thôn có tổ công nghệ số", "Sở Thông tin và Truyền thông", "Tử số"]
        + [D("1234.5"), "thôn", 150, 140],
        ["1.1", "Tỷ lệ thôn có tổ công nghệ số", "Sở Thông tin và Truyền thông", "Mẫu số"]
        + [2000, "thôn", None, None],
        ["1.2", "Ban hành nghị quyết chuyển đổi số", "Sở Nội vụ", "Đã ban hành"]
        + ["Có", None, 100, 100],
    ]
    assert lines[0][4].data_type == "n" and lines[0][4].number_format == "#,##0.0"
    assert lines[1][4].number_format == "#,##0"


@pytest.mark.parametrize("who", ["leader", "staff_a", "staff_b"])
def test_values_not_approved_never_appear(world, leader, who):
    """Drafts are the agency's own, even in the agency's own export; returned items and
    contributions still with the lead are not approved either."""
    user = {"leader": leader, "staff_a": world.staff["a"], "staff_b": world.staff["b"]}[who]
    for kind in ("excel", "evidence"):
        text = all_text(export(user, world, kind))
        assert SECRET not in text
        assert "987654" not in text and "987.654" not in text
        assert "Đầy đủ" not in text  # the draft's level


def test_evidence_pack_index_holds_the_approved_values(world, reviewer):
    wb = export(reviewer, world, "evidence")
    assert wb.sheetnames == ["Danh mục", VALUES_SHEET]
    got = [[c.value for c in r] for r in values_rows(wb[VALUES_SHEET])]
    assert [r[0] for r in got] == ["1.1", "1.1", "1.2"]
    assert got[0][3:] == ["Tử số", D("1234.5"), "thôn", 150, 140]
    assert got[2][3:] == ["Đã ban hành", "Có", None, 100, 100]


def test_values_follow_the_agency_scope(world):
    a, b = world.staff["a"], world.staff["b"]
    for kind in ("excel", "evidence"):
        codes_a = {r[0].value for r in values_rows(export(a, world, kind)[VALUES_SHEET])}
        codes_b = {r[0].value for r in values_rows(export(b, world, kind)[VALUES_SHEET])}
        assert codes_a == {"1.1"} and codes_b == {"1.2"}
    # A coordinating commune sees the item it contributed to, not the lead's values.
    commune = world.extra_agencies[0]
    from agencies.models import User
    from tests.factories import UserFactory

    staff_x = UserFactory(username="xa0", agency=commune, role=User.Role.AGENCY_STAFF)
    wb = export(staff_x, world, "excel")
    assert values_rows(wb[VALUES_SHEET]) == []
    assert "1.234,5" not in all_text(wb)


def test_without_a_snapshot_the_submissions_points_are_used(world, leader):
    from scoring.exports.reported import approved_values

    items = approved_values(user=leader, framework=world.framework, period=world.period)
    item = items[world.subs["1.1"].pk]
    assert (item.appraised_points, item.final_points) == (D("150"), D("140"))
    assert item.text == "Tử số: 1.234,5 thôn\nMẫu số: 2.000 thôn"


def add_approved_items(w, n: int) -> None:
    """``n`` more approved sub-indicators under main 1, each with values and evidence."""
    main = Indicator.objects.get(framework=w.framework, code="1")
    for i in range(n):
        sub = IndicatorFactory(
            framework=w.framework,
            parent=main,
            level=Indicator.Level.SUB,
            code=f"1.{i + 3}",
            name=f"Chỉ số bổ sung {i}",
            max_points=D("10"),
            scoring_rule=RATIO,
            lead_agency=w.agencies["a"],
        )
        measures_for(sub, RATIO)
        s = Submission.objects.create(
            indicator=sub,
            agency=w.agencies["a"],
            period=w.period,
            values={"numerator": str(i), "denominator": "10"},
            is_consolidation=True,
        )
        s = put_state(s, "approved", appraised_points=D(i))
        add_evidence(s, f"Minh chứng {i}.pdf", uploader=w.staff["a"])


@pytest.mark.parametrize("kind", ["excel", "evidence"])
def test_export_query_count_does_not_grow(kind, leader):
    counts = []
    for n, tag in ((0, "s"), (12, "l")):
        w = build_world(extra_agencies=n, tag=tag)
        add_approved_items(w, n)
        recompute(w)
        wb = export(leader, w, kind)  # warm up
        assert len(values_rows(wb[VALUES_SHEET])) == 3 + 2 * n
        with CaptureQueriesContext(connection) as ctx:
            export(leader, w, kind)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
