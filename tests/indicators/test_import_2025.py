"""Acceptance 1: the real 2025 file (Khánh Hòa, Phụ lục I) imports exactly as the document says.

EXPECTED was written by hand from the document (merged agency cells D7:D8, E7:E8, D10:D11, ...
apply to every row they span; "-" and an empty, unmerged cell mean "none").
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agencies.models import Agency, AuditEvent
from indicators.models import Framework, Indicator

KHCN = "Sở Khoa học và Công nghệ"
VPUB = "Văn phòng UBND tỉnh"
VPTU = "Văn phòng Tỉnh ủy"
VHTT = "Sở Văn hóa, Thể thao và Du lịch"
BAO = "Báo và Phát thanh, Truyền hình Khánh Hòa"
TC = "Sở Tài chính"
NV = "Sở Nội vụ"
CA = "Công an tỉnh"
CT = "Sở Công Thương"
TK = "Thống kê tỉnh"
XD = "Sở Xây dựng"
G_SBN = "Các sở, ban, ngành"
G_SBNDP = "Sở, ban, ngành, địa phương"
G_DP = "Các địa phương"
G_VT = "Các doanh nghiệp viễn thông"

# code: (max points, lead, coordinating agencies, coordinating groups)
EXPECTED: dict[str, tuple[int, str | None, set[str], set[str]]] = {
    "1.1": (10, KHCN, {VPTU, VPUB}, set()),
    "1.2": (10, KHCN, {VPTU, VPUB}, set()),
    "1.3": (10, KHCN, set(), {G_SBNDP}),
    "1.4": (10, VHTT, {BAO}, set()),
    "1.5": (10, VHTT, {BAO}, set()),
    "2.1": (10, KHCN, set(), {G_SBN}),
    "2.2": (10, KHCN, set(), {G_SBN}),
    "2.3": (10, KHCN, set(), {G_SBN}),
    "2.4": (20, TC, {KHCN, VPUB}, set()),
    "3.1": (30, KHCN, set(), {G_VT}),
    "3.2": (30, KHCN, set(), {G_VT}),
    "3.3": (30, KHCN, set(), {G_VT}),
    "3.4": (30, KHCN, set(), {G_VT}),
    "3.5": (30, KHCN, set(), set()),
    "3.6": (30, KHCN, set(), set()),
    "3.7": (20, KHCN, set(), {G_SBNDP}),
    "4.1": (10, NV, set(), {G_SBNDP}),
    "4.2": (30, NV, set(), {G_SBNDP}),
    "4.3": (20, NV, set(), {G_SBNDP}),
    "4.4": (20, NV, set(), {G_SBNDP}),
    "4.5": (10, KHCN, set(), {G_DP}),
    "4.6": (10, KHCN, set(), {G_DP}),
    "5.1": (20, CA, set(), {G_SBNDP}),
    "5.2": (20, CA, set(), {G_SBNDP}),
    "5.3": (10, CA, set(), {G_SBNDP}),
    "5.4": (10, CA, set(), {G_SBNDP}),
    "5.5": (10, CA, set(), {G_SBNDP}),
    "5.6": (10, CA, set(), {G_SBNDP}),
    "5.7": (10, KHCN, set(), set()),
    "5.8": (10, VPUB, set(), set()),
    "6.1": (20, KHCN, set(), set()),
    "6.2": (20, VPUB, set(), set()),
    "6.3": (20, KHCN, set(), {G_SBN}),
    "6.4": (20, VPUB, {KHCN}, set()),
    "6.5": (20, VPUB, {KHCN}, set()),
    "6.6": (50, VPUB, {KHCN}, set()),
    "6.7": (10, VPUB, {KHCN}, set()),
    "6.8": (10, VPUB, {KHCN}, set()),
    "6.9": (30, TC, set(), {G_SBNDP}),
    "7.1": (50, KHCN, {TK, TC}, set()),
    "7.2": (30, KHCN, {TK, TC}, set()),
    "7.3": (20, CT, {KHCN}, set()),
    "7.4": (20, KHCN, set(), {G_VT}),
    "7.5": (30, KHCN, set(), set()),
    "8.1": (50, CA, set(), set()),
    "8.2": (50, KHCN, set(), {G_VT}),
    "8.3": (50, KHCN, set(), {G_DP}),
    "9.1": (0, XD, set(), set()),
    "9.2": (0, KHCN, {XD}, set()),
    "9.3": (0, XD, set(), set()),
}
MAIN_POINTS = {"1": 50, "2": 50, "3": 200, "4": 100, "5": 100, "6": 200, "7": 150, "8": 150, "9": 0}


def test_expected_table_is_complete():
    assert len(EXPECTED) == 50


def test_2025_tree_points_and_counts(framework_2025):
    fw = framework_2025
    assert fw.status == Framework.Status.DRAFT
    assert fw.total_points == Decimal("1000")
    mains = Indicator.objects.filter(framework=fw, level="main").order_by("sort_key")
    assert [m.code for m in mains] == list(MAIN_POINTS)
    assert {m.code: int(m.max_points) for m in mains} == MAIN_POINTS
    scored_mains = [m for m in mains if m.max_points > 0]
    assert [int(m.max_points) for m in scored_mains] == [50, 50, 200, 100, 100, 200, 150, 150]
    subs = Indicator.objects.filter(framework=fw, level="sub")
    assert subs.count() == 50
    assert subs.filter(max_points__gt=0).count() == 47
    assert subs.filter(parent__code="9").count() == 3
    assert "Kế hoạch số 4636/KH-UBND" in fw.decision


def test_2025_every_row_matches_the_document(framework_2025):
    subs = (
        Indicator.objects.filter(framework=framework_2025, level="sub")
        .select_related("lead_agency", "parent")
        .prefetch_related("coordinating_agencies", "coordinating_groups")
    )
    got = {
        s.code: (
            int(s.max_points),
            s.lead_agency.name if s.lead_agency else None,
            {a.name for a in s.coordinating_agencies.all()},
            {g.name for g in s.coordinating_groups.all()},
        )
        for s in subs
    }
    mismatches = {c: (got.get(c), exp) for c, exp in EXPECTED.items() if got.get(c) != exp}
    assert not mismatches
    assert set(got) == set(EXPECTED)
    # Parents come from the code.
    assert all(s.parent.code == s.code.split(".")[0] for s in subs)


def test_2025_named_examples_from_the_issue(framework_2025):
    def sub(code):
        return Indicator.objects.get(framework=framework_2025, code=code)

    s12 = sub("1.2")  # merged D7:D8 and E7:E8
    assert s12.lead_agency.name == KHCN
    assert {a.name for a in s12.coordinating_agencies.all()} == {VPTU, VPUB}
    s22 = sub("2.2")  # merged D13:D15; E14 its own cell
    assert s22.lead_agency.short_name == "Sở KH&CN"
    assert [g.name for g in s22.coordinating_groups.all()] == [G_SBN]
    s33 = sub("3.3")
    assert [g.name for g in s33.coordinating_groups.all()] == [G_VT]
    s35 = sub("3.5")  # "-"
    assert not s35.coordinating_agencies.exists() and not s35.coordinating_groups.exists()
    assert sub("5.6").lead_agency.name == CA


def test_2025_default_rules_and_measures(framework_2025):
    subs = Indicator.objects.filter(framework=framework_2025, level="sub").prefetch_related(
        "measures"
    )
    for s in subs:
        assert s.scoring_rule.get("type"), s.code
        assert s.measures.exists(), s.code
    assert (
        Indicator.objects.get(framework=framework_2025, code="4.2").scoring_rule["type"] == "ratio"
    )
    assert (
        Indicator.objects.get(framework=framework_2025, code="9.1").scoring_rule["type"]
        == "informational"
    )


def test_group_expansion_of_assignments(framework_2025, khanh_hoa):
    """The telecom group expands to its explicit members; the department group by kind."""
    from agencies.models import AgencyGroup

    vt = AgencyGroup.objects.get(name=G_VT)
    assert {a.code for a in vt.member_agencies()} == {"vnpt", "viettel", "mobifone"}
    sbn = AgencyGroup.objects.get(name=G_SBN)
    members = set(sbn.member_agencies().values_list("code", flat=True))
    assert {"so-khcn", "so-noi-vu", "vp-ubnd"} <= members
    assert "p-nha-trang" not in members and "vnpt" not in members


def test_import_framework_command(khanh_hoa, tmp_path, file_2025):
    path = tmp_path / "phu_luc.xlsx"
    path.write_bytes(file_2025)
    out = StringIO()
    call_command("import_framework", str(path), "--code", "dti-2025", "--year", "2025", stdout=out)
    text = out.getvalue()
    assert (
        "Chỉ số chính: 9 (8 có điểm); chỉ số thành phần: 50 (47 có điểm); tổng điểm: 1000" in text
    )
    assert "Cơ quan khớp danh mục" in text
    fw = Framework.objects.get(code="dti-2025")
    assert fw.year == 2025 and fw.status == "draft"
    assert AuditEvent.objects.filter(action="framework.import", object_id=str(fw.pk)).exists()
    # Every node has its first history record (simple-history, bulk-created).
    assert Indicator.history.filter(framework_id=fw.pk, history_type="+").count() == 59


def test_dry_run_writes_nothing(khanh_hoa, tmp_path, file_2025):
    path = tmp_path / "phu_luc.xlsx"
    path.write_bytes(file_2025)
    before = (Framework.objects.count(), Indicator.objects.count(), AuditEvent.objects.count())
    out = StringIO()
    call_command(
        "import_framework", str(path), "--code", "x", "--year", "2025", "--dry-run", stdout=out
    )
    assert "Chạy thử thành công" in out.getvalue()
    assert (
        Framework.objects.count(),
        Indicator.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_unknown_agencies_fail_the_command_with_a_list(db, tmp_path, file_2025):
    """Without the agency directory, every name is unknown: listed, nothing written."""
    path = tmp_path / "phu_luc.xlsx"
    path.write_bytes(file_2025)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_framework", str(path), "--code", "x", "--year", "2025", stdout=out, stderr=err
        )
    assert "Cơ quan chưa có trong danh mục" in out.getvalue()
    assert "Sở KH&CN (dòng 7, 8, 9, 13," in out.getvalue()
    assert "Sở Văn hóa, Thể thao và Du lịch" in out.getvalue()  # comma inside a name kept
    assert Framework.objects.count() == 0 and Agency.objects.count() == 0


def test_create_unknown_agencies_flag(db, tmp_path, file_2025):
    path = tmp_path / "phu_luc.xlsx"
    path.write_bytes(file_2025)
    call_command(
        "import_framework",
        str(path),
        "--code",
        "x",
        "--year",
        "2025",
        "--create-unknown-agencies",
        stdout=StringIO(),
    )
    names = set(Agency.objects.values_list("name", flat=True))
    assert {"Sở KH&CN", "Văn phòng Tỉnh ủy", "Văn phòng UBND tỉnh", "Công an tỉnh"} <= names
    # Each created once, never duplicated.
    assert Agency.objects.filter(name="Sở KH&CN").count() == 1
    assert Agency.objects.get(name="Công an tỉnh").kind == Agency.Kind.POLICE


def test_demo_seed_framework_published_and_idempotent(db):
    from agencies.demo import seed_agencies_and_accounts
    from indicators.demo import seed_framework

    seed_agencies_and_accounts(password="Demo-pass-2025")
    fw = seed_framework()
    assert fw.status == Framework.Status.PUBLISHED and fw.total_points == Decimal("1000")
    assert seed_framework().pk == fw.pk
    assert Framework.objects.count() == 1
    assert Indicator.objects.filter(framework=fw, level="sub").count() == 50


def _appendix_rows() -> list[tuple[str, str, Decimal]]:
    """(code, name, max points) of every numbered row of the appendix, read with openpyxl alone
    (not through the importer): column A "STT", B the name, C "Điểm tối đa"."""
    import re

    import openpyxl

    from tests.indicators.conftest import DATA_FILE

    wb = openpyxl.load_workbook(DATA_FILE, read_only=True, data_only=True)
    try:
        out = []
        for row in wb.worksheets[0].iter_rows(values_only=True):
            code = str(row[0]).strip() if row[0] is not None else ""
            if re.fullmatch(r"\d+(\.\d+)?", code):
                out.append((code, " ".join(str(row[1]).split()), Decimal(str(row[2]))))
        return out
    finally:
        wb.close()


def test_2025_codes_names_and_points_equal_the_file_read_independently(framework_2025):
    """Question 1 of the scoring audit: every node of the import (code, name, level, parent,
    max points) equals the appendix as openpyxl reads it, and the points add up per main index
    and to 1000. MAIN_POINTS and EXPECTED above were typed from the document; this reads the
    file itself, so a wrong hand-typed table and a wrong import cannot agree by accident."""
    rows = _appendix_rows()
    assert len(rows) == 59  # 9 main indices + 50 sub-indicators
    from_file = {code: (name, points) for code, name, points in rows}
    nodes = Indicator.objects.filter(framework=framework_2025).select_related("parent")
    imported = {n.code: (n.name, n.max_points) for n in nodes}
    assert imported == from_file
    levels = {n.code: (n.level, n.parent.code if n.parent else None) for n in nodes}
    for code in from_file:
        if "." in code:
            assert levels[code] == ("sub", code.split(".")[0]), code
        else:
            assert levels[code] == ("main", None), code
    # Per main index, the file's sub-indicator points add up to the file's main-index points,
    # and those are the figures of DOMAIN.md §3 and Plan 4636 (50, 50, 200, 100, 100, 200, 150,
    # 150, and the 0-point "Đô thị thông minh").
    mains = {code: points for code, (_name, points) in from_file.items() if "." not in code}
    for main_code, main_points in mains.items():
        children = [
            p for c, (_n, p) in from_file.items() if c.split(".")[0] == main_code and "." in c
        ]
        assert sum(children, Decimal(0)) == main_points, main_code
    assert [int(p) for p in mains.values()] == [50, 50, 200, 100, 100, 200, 150, 150, 0]
    assert sum(mains.values(), Decimal(0)) == framework_2025.total_points == Decimal(1000)
